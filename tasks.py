#!/usr/bin/env python3
"""The two things a newcomer does with asgilab, each one command, standard library only.

    python3 tasks.py lab     set up .venv and open the notebooks in JupyterLab
    python3 tasks.py test    set up .venv with the test extras and run every check

Both create ``.venv`` beside this file on first use and reinstall only when
``pyproject.toml`` changed since, so the second run starts at once. Arguments after
the task name go to JupyterLab (``lab``) or pytest (``test``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".asgilab-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")

# Which extras each task needs; `test` also runs the notebooks and the benchmark smoke tests.
EXTRAS = {"lab": {"lab"}, "test": {"test", "bench"}}


def setup(extras: set[str]) -> None:
    """Create .venv and install asgilab with ``extras`` unless that is already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be run by any python3
        sys.exit(f"asgilab needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed: set[str] = set()
    if STAMP.exists():
        recorded_digest, _, names = STAMP.read_text().partition(" ")
        if recorded_digest == digest:
            installed = set(names.split())
    if extras <= installed:
        return
    wanted = sorted(extras | installed)
    print(f"installing asgilab[{','.join(wanted)}] into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "-q", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-q", "-e", f".[{','.join(wanted)}]"], check=True, cwd=ROOT)
    STAMP.write_text(f"{digest} {' '.join(wanted)}")


def lab(args: list[str]) -> int:
    """Open the notebooks in JupyterLab (as root, JupyterLab insists on --allow-root)."""
    setup(EXTRAS["lab"])
    command = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT / 'notebooks'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    command += args
    if os.name == "posix":
        # Become JupyterLab, so that Ctrl-C and a supervisor's SIGTERM reach it directly.
        os.chdir(ROOT)
        os.execv(command[0], command)
    return subprocess.call(command, cwd=ROOT)


def test(args: list[str]) -> int:
    """Lint, type-check, then run the whole pytest suite (tests, doctests, notebooks)."""
    setup(EXTRAS["test"])
    checks = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["pytest", *args],
    ]
    for check in checks:
        print(f"\n$ {' '.join(check)}", flush=True)
        code = subprocess.call([str(BIN / check[0]), *check[1:]], cwd=ROOT)
        if code:
            return code
    return 0


def main() -> int:
    tasks = {"lab": lab, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in tasks:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return tasks[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
