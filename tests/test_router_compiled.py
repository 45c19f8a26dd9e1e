"""The router's tests, run again against the mypyc-compiled router.

Everyone imports the interpreted package; the benchmark also races a copy of it
whose ``router``, ``patterns`` and ``converters`` modules mypyc compiled to C: the
``ASGILAB_MYPYC=1`` wheel, which ``bench/_compiled.py`` builds and unpacks into
``build/mypyc/`` (~20 s once, then cached by the hash of the sources). This test
makes that copy a tested build: the same router tests run in a child process whose
``sys.path`` starts with the compiled copy, which first checks that it really
imported the ``.so`` files.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["test_router.py", "test_patterns.py", "test_router_properties.py"]

# Runs in the child: the working directory and the script's directory come off
# sys.path so that nothing can shadow the compiled copy; the modules are imported
# (and checked) before pytest collects anything, so the tests get these very ones.
CHILD = """
import sys
compiled, root, *tests = sys.argv[1:]
sys.path[:] = [compiled] + [p for p in sys.path if p not in ("", ".", root)]
import asgilab.converters, asgilab.patterns, asgilab.router
for module in (asgilab.router, asgilab.patterns, asgilab.converters):
    assert module.__file__.endswith(".so"), f"{module.__name__} is not compiled: {module.__file__}"
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", root, *tests]))
"""


def compiled_copy() -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from _compiled import CompiledBuildError, compiled_dir
    finally:
        sys.path.remove(str(ROOT / "bench"))
    try:
        return compiled_dir()
    except CompiledBuildError as error:
        pytest.skip(f"no compiled build here: {error}")


@pytest.mark.slow
def test_router_tests_pass_against_the_mypyc_build() -> None:
    compiled = compiled_copy()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(compiled),
            str(ROOT),
            *(str(ROOT / "tests" / name) for name in TESTS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
