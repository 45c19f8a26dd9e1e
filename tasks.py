#!/usr/bin/env python3
"""The two things a newcomer does with asgilab, each one command, standard library only.

    python3 tasks.py lab             set up .venv and open the notebooks in JupyterLab
    python3 tasks.py test            set up .venv with the test extras and run every check
    python3 tasks.py test --quick    the same checks, but only the fast unit tests

Both create ``.venv`` beside this file on first use and reinstall only when
``pyproject.toml`` changed since, so the second run starts at once. Arguments after
the task name go to JupyterLab (``lab``) or pytest (``test``). The installer's own
output is kept back and shown only if it fails: a newcomer sees a few lines that say
what is happening, not pages of build logs.
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

# Which extras each task needs; `lab` has everything the six notebooks use (notebook 06's
# peers included), and `test` also runs the notebooks and the benchmark smoke tests.
EXTRAS = {"lab": {"lab"}, "test": {"test", "bench"}}
# The notebook JupyterLab opens first; its file browser shows the whole repository.
FIRST_NOTEBOOK = "notebooks/01_asgi_from_scratch.ipynb"
# What `test --quick` leaves out (the full run, which CI runs, leaves out nothing): the
# tests marked slow (browser, JupyterLab, kernels, the compiled build, the benchmarks,
# the load and fuzz runs) or server (a real uvicorn process), and the notebooks.
QUICK = ["-m", "not slow and not server", "--ignore-glob=*.ipynb"]


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
    print(f"installing asgilab[{','.join(wanted)}] into .venv (a minute or two) ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    quiet([*pip, "--upgrade", "pip"])
    quiet([*pip, "-e", f".[{','.join(wanted)}]"])
    STAMP.write_text(f"{digest} {' '.join(wanted)}")
    print("installed.", flush=True)


def quiet(command: list[str]) -> None:
    """Run ``command``; show its output only if it fails, then stop with its exit code.

    pip passes on the build backend's warnings (setuptools warns about every editable
    install, in a framed block) even with ``-q``: useful to a packager, noise here.
    """
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}")


def lab(args: list[str]) -> int:
    """Open JupyterLab on the repository with notebook 01 (as root, it needs --allow-root)."""
    setup(EXTRAS["lab"])
    print(f"starting JupyterLab on {ROOT.name}/ with {FIRST_NOTEBOOK} open ...", flush=True)
    command = [
        str(BIN / "jupyter"),
        "lab",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    command += args
    if os.name == "posix":
        # Become JupyterLab, so that Ctrl-C and a supervisor's SIGTERM reach it directly.
        os.chdir(ROOT)
        os.execv(command[0], command)
    return subprocess.call(command, cwd=ROOT)


def test(args: list[str]) -> int:
    """Lint, type-check, then run the whole pytest suite (tests, doctests, notebooks).

    ``--quick`` runs the same lint and type checks, then only the unit tests and doctests.
    """
    setup(EXTRAS["test"])
    quick = "--quick" in args
    if quick:
        args = [*QUICK, *(arg for arg in args if arg != "--quick")]
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
