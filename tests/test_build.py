"""Building asgilab: the plain wheel, the wheel with its router compiled by mypyc, editable.

``pip wheel .`` must stay a pure-Python build that needs no mypy. ``ASGILAB_MYPYC=1``
turns the routing modules that ``build_backend/asgilab_build.py`` lists, and only
those, into extension modules, which Python imports in place of the ``.py`` files the
wheel also carries.
An editable install never compiles, whatever the variable says. Each build runs once
for the module, with pip, from a copy of what the build reads (``bench/_compiled.py``
makes it, as it does for the benchmarks' compiled build), so nothing lands in the
working tree.
"""

import importlib
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")  # e.g. .cpython-311-x86_64-linux-gnu.so


def import_from(folder: str, name: str) -> ModuleType:
    """Import module ``name`` from ``folder``, which is not a package."""
    sys.path.insert(0, str(ROOT / folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / folder))


compiled = import_from("bench", "_compiled")
asgilab_build = import_from("build_backend", "asgilab_build")


def extension_modules(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if name.endswith((".so", ".pyd"))}


@pytest.fixture(scope="module")
def plain_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("plain")
    source = compiled.copy_build_inputs(work / "source")
    return compiled.build_wheel(source, work / "dist", mypyc=False)


@pytest.fixture(scope="module")
def mypyc_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if why := compiled.why_not_buildable():
        pytest.skip(f"the compiled build cannot be made here: {why}")
    work = tmp_path_factory.mktemp("mypyc")
    source = compiled.copy_build_inputs(work / "source")
    return compiled.build_wheel(source, work / "dist", mypyc=True)


@pytest.mark.parametrize(
    ("value", "asks_for_mypy"),
    [(None, False), ("1", True), ("0", False), ("", False), ("yes", False)],
)
def test_only_asgilab_mypyc_1_asks_for_mypy(
    monkeypatch: pytest.MonkeyPatch, value: str | None, asks_for_mypy: bool
) -> None:
    # setuptools itself is not asked: it would run setup.py, and this environment's
    # setuptools may be older than the build's (pip installs its own for a build).
    no_requirements = SimpleNamespace(get_requires_for_build_wheel=lambda settings: [])
    monkeypatch.setattr(asgilab_build, "_setuptools", lambda: no_requirements)
    if value is None:
        monkeypatch.delenv("ASGILAB_MYPYC", raising=False)
    else:
        monkeypatch.setenv("ASGILAB_MYPYC", value)
    expected = ["mypy>=1.11"] if asks_for_mypy else []
    assert asgilab_build.get_requires_for_build_wheel() == expected


def test_the_compiled_build_is_the_routing_algorithm_only() -> None:
    # The App, the Request and the handlers stay interpreted in every build: compiled,
    # they bought a few per cent of a request and an API that differed between builds.
    assert asgilab_build.COMPILED == (
        "asgilab/routes.py",
        "asgilab/tree.py",
        "asgilab/router.py",
        "asgilab/patterns.py",
        "asgilab/converters.py",
    )


def test_the_compiled_build_asks_for_the_mypy_the_tests_use() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert asgilab_build.MYPY in project["optional-dependencies"]["test"]


@pytest.mark.slow
def test_the_plain_wheel_is_pure_python(plain_wheel: Path) -> None:
    assert plain_wheel.name.endswith("-py3-none-any.whl"), plain_wheel.name
    assert extension_modules(plain_wheel) == set()


@pytest.mark.slow
def test_asgilab_mypyc_1_compiles_the_routing_modules_only(mypyc_wheel: Path) -> None:
    assert "-cp3" in mypyc_wheel.name, f"not a platform wheel: {mypyc_wheel.name}"
    in_package = {name for name in extension_modules(mypyc_wheel) if name.startswith("asgilab/")}
    assert in_package == {path.removesuffix(".py") + EXT_SUFFIX for path in asgilab_build.COMPILED}
    with zipfile.ZipFile(mypyc_wheel) as archive:
        assert set(asgilab_build.COMPILED) <= set(archive.namelist()), "the sources come along"


@pytest.mark.slow
def test_a_failing_compile_fails_the_build_with_mypycs_error(tmp_path: Path) -> None:
    if why := compiled.why_not_buildable():
        pytest.skip(f"the compiled build cannot be made here: {why}")
    source = compiled.copy_build_inputs(tmp_path / "source")
    module = source / "asgilab" / "converters.py"
    text = module.read_text()
    module.write_text(text + 'WRONG: int = "not an int"\n')
    with pytest.raises(compiled.CompiledBuildError) as failed:
        compiled.build_wheel(source, tmp_path / "dist", mypyc=True)
    line = len(text.splitlines()) + 1
    assert (
        f"asgilab/converters.py:{line}: error: Incompatible types in assignment "
        '(expression has type "str", variable has type "int")'
    ) in str(failed.value)
    assert not list((tmp_path / "dist").glob("*.whl")), "no interpreted wheel instead"


# Runs in a child whose sys.path starts with the unpacked wheel (-P keeps the working
# directory off it): it prints where each module came from, then one match.
CHILD = """
import importlib, sys
sys.path.insert(0, sys.argv[1])
from asgilab import Router
for name in sys.argv[2:]:
    print(importlib.import_module(name).__file__)
def handler():
    return "user"
router = Router()
router.add("/users/{id:int}", handler)
match = router.match("GET", "/users/42")
print(match.route.path, dict(match.params))
"""


@pytest.mark.slow
def test_the_compiled_wheel_imports_its_extension_modules(
    mypyc_wheel: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(mypyc_wheel) as archive:
        archive.extractall(tmp_path)
    compiled = [path.removesuffix(".py").replace("/", ".") for path in asgilab_build.COMPILED]
    interpreted = ["asgilab.app", "asgilab.request", "asgilab.handlers"]
    done = subprocess.run(
        [sys.executable, "-P", "-c", CHILD, str(tmp_path), "asgilab", *compiled, *interpreted],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    *files, matched = done.stdout.splitlines()
    package = tmp_path / "asgilab"
    assert files == [
        str(package / "__init__.py"),
        *(str(tmp_path / path.removesuffix(".py")) + EXT_SUFFIX for path in asgilab_build.COMPILED),
        str(package / "app.py"),
        str(package / "request.py"),
        str(package / "handlers.py"),
    ]
    assert matched == "/users/{id:int} {'id': 42}"


@pytest.mark.slow
def test_an_editable_install_never_compiles(tmp_path: Path) -> None:
    source = compiled.copy_build_inputs(tmp_path / "source")
    target = tmp_path / "site-packages"
    install = [sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--target", str(target)]
    done = subprocess.run(
        [*install, "-e", str(source)],
        env={**os.environ, "ASGILAB_MYPYC": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert (
        "asgilab: ASGILAB_MYPYC=1 is ignored for an editable install (compiled modules "
        "beside the sources would shadow the code you edit); building the plain one"
    ) in output
    assert list(source.rglob(f"*{EXT_SUFFIX}")) == [], "no extension module beside the sources"
    assert list(target.rglob(f"*{EXT_SUFFIX}")) == []
    assert list(target.glob("__editable__.asgilab-*.pth")), "an editable install all the same"
    installs = [line for line in output.splitlines() if "Installing collected packages" in line]
    assert installs and not any("mypy" in line for line in installs), installs


def test_only_the_newest_compiled_builds_are_kept(tmp_path: Path) -> None:
    names = [f"{n:016x}" for n in range(5)]
    for age, name in enumerate(reversed(names)):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1_700_000_000 - age, 1_700_000_000 - age))
    (tmp_path / f"{names[0]}-scratch").mkdir()  # a build being unpacked: not finished
    compiled._prune(tmp_path)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted([*names[2:], f"{names[0]}-scratch"])
