"""The package's tests, run again against the mypyc build.

Everyone imports the interpreted package; ``ASGILAB_MYPYC=1 pip install .`` gives a
build whose hot-path modules (the App, the Request, the router; the list is
``COMPILED`` in ``build_backend/asgilab_build.py``) mypyc compiled to C, and the
benchmarks race that build. ``bench/_compiled.py`` builds the same wheel and unpacks
it into ``build/mypyc/`` (~30 s once, then cached by the hash of the sources).

This test makes that copy a tested build: every test of the package (all but the
ones about the project around it: notebooks, README, packaging, benchmarks) runs
again in a child process that imports the compiled copy, and first checks that
every compiled module really is an extension module. ``PYTHONPATH`` names the copy
too, so the uvicorn processes the reliability tests start serve it as well.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# About the project around the package, or run in a kernel that imports its own copy.
NOT_THE_PACKAGE = {
    "test_bench.py",
    "test_browser.py",
    "test_build.py",
    "test_client_kernel.py",
    "test_compiled.py",
    "test_jupyterlab.py",
    "test_notebooks.py",
    "test_project.py",
    "test_readme.py",
}

# Runs in the child: the working directory and the project root come off sys.path so
# that nothing can shadow the compiled copy; the modules are imported (and checked)
# before pytest collects anything, so the tests get these very ones.
CHILD = """
import importlib, sys
compiled, root, modules, *tests = sys.argv[1:]
sys.path[:] = [compiled] + [p for p in sys.path if p not in ("", ".", root)]
for name in modules.split(","):
    module = importlib.import_module(name)
    assert module.__file__.endswith(".so"), f"{name} is not compiled: {module.__file__}"
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", root, *tests]))
"""


def compiled_copy() -> tuple[Path, list[str]]:
    """The compiled copy's directory, and its compiled modules as dotted names."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from _compiled import COMPILED_MODULES, CompiledBuildError, compiled_dir
    finally:
        sys.path.remove(str(ROOT / "bench"))
    try:
        directory = compiled_dir()
    except CompiledBuildError as error:
        pytest.skip(f"no compiled build here: {error}")
    return directory, COMPILED_MODULES


def package_tests() -> list[str]:
    tests = [p for p in sorted(HERE.glob("test_*.py")) if p.name not in NOT_THE_PACKAGE]
    return [str(p) for p in tests] + [str(HERE / "reliability")]


@pytest.mark.slow
def test_the_package_tests_pass_against_the_mypyc_build() -> None:
    compiled, modules = compiled_copy()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(compiled), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(compiled),
            str(ROOT),
            ",".join(modules),
            *package_tests(),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
