"""A clone stands on its own: the repository at HEAD, copied into a folder with nothing
beside it, passes its data-dependent tests; the data sets in tests/data are the published
files, byte for byte; without chromium the browser tests skip outside CI and fail in it.

The clone is of the committed state (``git clone`` then a checkout of HEAD): uncommitted
changes of the working tree are not in it. It reuses this venv's interpreter and
dependencies, with PYTHONPATH pointing at the clone's ``src`` so the clone's code is what
runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, require_service

ROOT = Path(__file__).resolve().parents[2]

# One test per file that reads tests/data, on SQLite (the clone proves the files are found
# and read, not the PostgreSQL dialect, which the main run covers).
DATA_TESTS = [
    "tests/measure/test_import_presets.py::test_uci_facebook_metrics_imports_exactly",
    "tests/measure/test_import_presets.py::test_facebook_live_sellers_imports_exactly",
    "tests/measure/test_import_web.py::test_api_imports_a_preset_file",
    "tests/measure/test_import_cli.py::test_presets_from_the_command_line",
    "tests/measure/test_measure_pages.py::test_uci_file_formats_page_says_the_ranking_flips",
]


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


def _head() -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        return _git("rev-parse", "HEAD", cwd=ROOT)
    except subprocess.CalledProcessError:
        return None


def _clean_env(clone: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(clone / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.mark.clone
def test_a_clone_with_nothing_beside_it_passes_its_data_tests(tmp_path: Path) -> None:
    head = _head()
    require_service("git", head is not None, f"{ROOT} is not a git checkout or git is missing")
    assert head is not None
    alone = tmp_path / "alone"
    alone.mkdir()
    clone = alone / "townsquare"
    _git("clone", "--quiet", "--no-checkout", str(ROOT), str(clone), cwd=alone)
    _git("checkout", "--quiet", "--detach", head, cwd=clone)
    assert [path.name for path in alone.iterdir()] == ["townsquare"]
    assert not (alone / "shared").exists()
    env = _clean_env(clone)

    imported = subprocess.run(
        [sys.executable, "-c", "import townsquare; print(townsquare.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(clone / "src"), imported.stdout

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-m",
            "not postgres",
            *DATA_TESTS,
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None and int(passed.group(1)) >= len(DATA_TESTS), output
    assert "skipped" not in output, output


def test_data_files_are_the_published_files_byte_for_byte() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, re.MULTILINE))
    assert set(listed) == {"dataset_Facebook.csv", "Facebook_metrics.txt", "Live.csv"}
    for name, digest in listed.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
    # CRLF survives git (.gitattributes marks the files -text).
    assert (DATA / "dataset_Facebook.csv").read_bytes().count(b"\r\n") == 501
    assert (DATA / "Live.csv").read_bytes().startswith(b"\xef\xbb\xbfstatus_id,")


def test_no_test_or_benchmark_reads_outside_the_repository() -> None:
    outside = re.compile(r"""parents\[(?:[3-9])\]|["']\.\./|/work/shared|shared/data""")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__).resolve() and outside.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "failed")])
def test_browser_tests_without_chromium_skip_outside_ci_and_fail_in_it(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["TOWNSQUARE_CHROMIUM"] = str(tmp_path / "no-chromium")
    env["CI"] = ci
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rsf",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "tests/browser/test_house_browser.py",
            "-m",
            "not postgres",
            "-x",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert "apt-get install chromium" in output, output
    if outcome == "skipped":
        assert run.returncode == 0, output
        assert re.search(r"\d+ skipped", output) and " passed" not in output, output
    else:
        assert run.returncode == 1, output
        assert re.search(r"\d+ (failed|error)", output), output
