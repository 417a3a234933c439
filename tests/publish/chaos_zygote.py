"""A process that imports the `townsquare` command once, then forks it on demand: each
child runs ``townsquare.cli.main.main`` with the given arguments (``worker``, ``publish due
--json``), as the console script does, so that the chaos test can start and kill real
dispatcher processes every half second without paying the seconds of imports each time.

Protocol on stdin/stdout, one line each: ``spawn ARGS…`` → the child's pid;
``live`` → the JSON list of children still running (the ended ones reaped).
Children write their output to the file named by the first argument.
"""

from __future__ import annotations

import json
import os
import sys

import townsquare.networks.bluesky
import townsquare.networks.mastodon
import townsquare.publish.worker  # noqa: F401
from townsquare.cli.main import main


def _reap(live: set[int]) -> None:
    while live:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            live.clear()
            return
        if pid == 0:
            return
        live.discard(pid)


def _child(log: str, args: list[str]) -> None:
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sys.argv = ["townsquare", *args]
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run() -> None:
    log = sys.argv[1]
    live: set[int] = set()
    for line in sys.stdin:
        words = line.split()
        _reap(live)
        if not words:
            continue
        if words[0] == "spawn":
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(log, words[1:])
            live.add(pid)
            print(pid, flush=True)
        elif words[0] == "live":
            print(json.dumps(sorted(live)), flush=True)


if __name__ == "__main__":
    run()
