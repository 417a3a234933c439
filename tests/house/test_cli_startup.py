"""The CLI starts without the heavy libraries: they are imported by the commands using them.

Every ``townsquare`` process (each subprocess test, ``townsquare worker``, a cron job) pays
the imports of ``townsquare.cli.main``; atproto alone took ~0.9 s of CPU, Altair ~0.35 s.
A fresh interpreter imports the CLI, prints the help of the root and of every command group,
and lists the heavy modules it holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Libraries no command's help needs (the network clients, charts, frames, arrays, migrations,
# PDF).
HEAVY = (
    "atproto",
    "atproto_client",
    "altair",
    "polars",
    "numpy",
    "pandas",
    "mastodon",
    "alembic",
    "weasyprint",
    "scipy",
    "vl_convert",
    "uvicorn",
    "fastapi",
)

PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from townsquare.cli.main import app

    groups = [info.name for info in app.registered_groups]
    helped = []
    for args in [["--help"], *([name, "--help"] for name in groups)]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                app(args, standalone_mode=False)
            except SystemExit:
                pass
        helped.append(bool(out.getvalue().strip()))
    heavy = json.loads(sys.argv[1])
    print(json.dumps({
        "groups": groups,
        "helped": helped,
        "loaded": sorted(name for name in heavy if name in sys.modules),
    }))
    """
)


def test_cli_help_imports_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"listen", "report", "measure", "db", "channel", "publish"} <= set(report["groups"])
    assert all(report["helped"]), report
    assert report["loaded"] == []
