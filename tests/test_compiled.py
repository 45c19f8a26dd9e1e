"""The routing tests, run again against the mypyc build.

``ASGILAB_MYPYC=1 pip install .`` compiles the routing algorithm (``COMPILED`` in
``build_backend/asgilab_build.py``: the tree, the router, patterns, converters) to C;
every other module is the same ``.py`` file in both builds. ``bench/_compiled.py``
builds that wheel and unpacks it into ``build/mypyc/`` (~30 s once, then cached by
the hash of the sources).

This test makes that copy a tested build: the tests of the compiled modules
(``test_router*.py`` for ``router.py``, and so on) run in a child process that
imports the copy, after checking that the compiled modules are extension modules
and that the App, the Request and the handlers are plain Python there.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
INTERPRETED = ["asgilab.app", "asgilab.request", "asgilab.handlers"]

# Runs in the child: the working directory and the project root come off sys.path so
# that nothing can shadow the copy; the modules are imported (and checked) before
# pytest collects anything, so the tests get these very ones.
CHILD = """
import importlib, sys
compiled, root, modules, interpreted, *tests = sys.argv[1:]
sys.path[:] = [compiled] + [p for p in sys.path if p not in ("", ".", root)]
for name in modules.split(","):
    module = importlib.import_module(name)
    assert module.__file__.endswith(".so"), f"{name} is not compiled: {module.__file__}"
for name in interpreted.split(","):
    module = importlib.import_module(name)
    assert module.__file__.startswith(compiled), f"{name} is not the copy's: {module.__file__}"
    assert module.__file__.endswith(".py"), f"{name} is not plain Python: {module.__file__}"
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


def routing_tests(modules: list[str]) -> list[str]:
    """The test files of the compiled modules: ``test_router*.py`` for ``asgilab.router``."""
    stems = [name.rpartition(".")[2] for name in modules]
    return [str(path) for stem in stems for path in sorted(HERE.glob(f"test_{stem}*.py"))]


@pytest.mark.slow
def test_the_routing_tests_pass_against_the_mypyc_build() -> None:
    compiled, modules = compiled_copy()
    extensions = sorted(p.name.partition(".")[0] for p in (compiled / "asgilab").glob("*.so"))
    assert extensions == sorted(name.rpartition(".")[2] for name in modules), "only those"
    tests = routing_tests(modules)
    assert str(HERE / "test_router.py") in tests, tests
    arguments = [str(compiled), str(ROOT), ",".join(modules), ",".join(INTERPRETED), *tests]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
