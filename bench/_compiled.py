"""asgilab with its hot path compiled by mypyc: the ``ASGILAB_MYPYC=1`` wheel, unpacked aside.

The modules a request runs through (:data:`COMPILED`, listed once, in
``build_backend/asgilab_build.py``: the App, the Request, the router and what it calls)
are plain typed Python that mypyc compiles unchanged to C extensions, which is how
they meet the performance issue's targets (the same lever black and mypy use).
``ASGILAB_MYPYC=1 pip install .`` gives users that build; the benchmarks race the
very same wheel, which this module builds with pip and unpacks into
``build/mypyc/<key>/`` (``build/`` is git-ignored), so that
``build/mypyc/<key>/asgilab/`` holds the compiled modules, never beside the ``.py``
files people read and edit. Putting that directory first on ``sys.path`` (or
``PYTHONPATH``) makes ``import asgilab`` pick the compiled modules; without it
everyone gets the interpreted package, which stays the default and the fallback.

``<key>`` hashes the package's sources (mypyc compiles against the types of every
module the compiled ones import), the two files that decide how they are built
(``setup.py`` and the backend), the Python version and the mypy version, so an
unchanged package reuses its build (pip and mypyc take ~30 s) and an edited one gets
a fresh directory; the three newest are kept, older ones deleted. The other,
interpreted modules of the copy are refreshed from the sources on every call, so
they never go stale.

Run it as a script to build (or find) the copy and print its directory::

    python bench/_compiled.py
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "asgilab"
BACKEND = ROOT / "build_backend"

# The build backend names the compiled modules (as paths from ROOT) and the variable
# that asks for them; setup.py compiles that list, and this module hashes it.
sys.path.insert(0, str(BACKEND))
from asgilab_build import COMPILED, VARIABLE  # noqa: E402

# The same modules as dotted names, as a child process imports (and checks) them.
COMPILED_MODULES = [path.removesuffix(".py").replace("/", ".") for path in COMPILED]

__all__ = [
    "COMPILED",
    "COMPILED_MODULES",
    "LABEL",
    "ROOT",
    "CompiledBuildError",
    "add_flag",
    "build_key",
    "build_wheel",
    "check_compiled",
    "compiled_dir",
    "copy_build_inputs",
    "is_built",
    "is_compiled",
    "race_compiled",
    "unavailable",
    "why_not_buildable",
]

# How the benchmarks' tables name asgilab's compiled build; "asgilab" is the interpreted one.
LABEL = "asgilab (mypyc)"

# What building the wheel reads from the repository (what the sdist holds): the
# metadata and build system, setup.py and its backend, the files the metadata names,
# and the package.
BUILD_INPUTS = (
    "pyproject.toml",
    "MANIFEST.in",
    "setup.py",
    "build_backend",
    "README.md",
    "LICENSE",
    "asgilab",
)


class CompiledBuildError(RuntimeError):
    """The compiled copy cannot be built here; the message says why and what to install."""


def build_key() -> str:
    """Hash of what the compiled code depends on: the package, how it is built, Python, mypy.

    Every module of the package counts, not only the compiled ones: mypyc compiles
    them against the types of everything they import.
    """
    digest = hashlib.sha256()
    package = sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py"))
    for path in (*package, "setup.py", "build_backend/asgilab_build.py"):
        digest.update(path.encode() + b"\0" + (ROOT / path).read_bytes() + b"\0")
    digest.update(sys.version.encode())
    digest.update(_mypy_version().encode())
    return digest.hexdigest()[:16]


def _mypy_version() -> str:
    try:
        return importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def why_not_buildable() -> str | None:
    """``None`` when mypyc, a C compiler and the Python headers are all here, else why not."""
    if _mypy_version() == "none":
        return "mypy (which ships mypyc) is not installed: pip install mypy"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler: {compiler!r} is not on PATH (e.g. apt-get install gcc)"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"no Python headers: {headers} is missing (e.g. apt-get install python3-dev)"
    return None


def copy_build_inputs(target: Path) -> Path:
    """Copy what building the wheel reads into ``target``, and return ``target``.

    pip builds in the tree it is given, where setuptools keeps its ``build/`` and
    ``*.egg-info``: building a copy keeps two builds running at once apart, and
    leaves nothing from an earlier build for this one to pick up.
    """
    target.mkdir(parents=True)
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def build_wheel(source: Path, wheel_dir: Path, *, mypyc: bool) -> Path:
    """Run ``pip wheel --no-deps source`` (with ``ASGILAB_MYPYC=1`` if ``mypyc``); the wheel.

    pip builds in an isolated environment, as for anyone's ``pip install .``: this
    one's setuptools may be too old for pyproject.toml. The compiled build pins the
    mypy there to this environment's, the one :func:`build_key` hashes.
    Raises :class:`CompiledBuildError` with the end of pip's output when it fails.
    """
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheel_dir)]
    env = {name: value for name, value in os.environ.items() if name != VARIABLE}
    with tempfile.TemporaryDirectory(prefix="asgilab-pin-") as scratch:
        if mypyc:
            env[VARIABLE] = "1"
            pin = Path(scratch) / "build-constraints.txt"
            pin.write_text(f"mypy=={_mypy_version()}\n")
            command += ["--build-constraint", str(pin)]
        done = subprocess.run([*command, str(source)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise CompiledBuildError(f"pip wheel failed (exit {done.returncode}):\n{tail}")
    (wheel,) = wheel_dir.glob("asgilab-*.whl")
    return wheel


def _sync_interpreted(target: Path) -> None:
    """Copy every source file except the compiled ones into ``target``, if it changed."""
    for source in PACKAGE.iterdir():
        compiled = f"asgilab/{source.name}" in COMPILED
        if not source.is_file() or compiled or source.suffix == ".pyc":
            continue
        copy = target / source.name
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            shutil.copy2(source, copy)


def _prune(builds: Path, keep: int = 3) -> None:
    """Delete all but the ``keep`` newest finished builds: each source edit makes one."""
    finished = [d for d in builds.iterdir() if d.is_dir() and len(d.name) == 16]
    finished.sort(key=lambda d: d.stat().st_mtime, reverse=True)
    for old in finished[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def check_compiled(directory: str) -> None:
    """Refuse a compiled copy whose child processes would import an interpreted module.

    The child is started as the benchmarks start theirs: ``directory`` first on
    PYTHONPATH, ahead of the interpreted package installed in site-packages.
    """
    probe = (
        f"import importlib\nfor name in {COMPILED_MODULES!r}:\n"
        "    print(importlib.import_module(name).__file__)"
    )
    imported = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        env={**os.environ, "PYTHONPATH": directory},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for where in imported:
        if not is_compiled(where):
            raise CompiledBuildError(f"a child imported {where}, not the compiled module")


def race_compiled(names: list[str], missing: dict[str, str], wanted: bool) -> str | None:
    """Put :data:`LABEL` right after "asgilab" in ``names``; the compiled copy's directory.

    Nothing is added when it is not ``wanted`` or asgilab is not racing; when the
    copy cannot be had, ``missing`` says why and the result is None.
    """
    if not wanted or "asgilab" not in names:
        return None
    try:
        directory = str(compiled_dir(verbose=True))
        check_compiled(directory)
    except CompiledBuildError as error:
        missing[LABEL] = unavailable(error)
        return None
    names.insert(names.index("asgilab") + 1, LABEL)
    return directory


def add_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--no-compiled`` flag that the benchmarks share."""
    parser.add_argument(
        "--no-compiled",
        action="store_true",
        help="leave out asgilab's mypyc build; the targets then apply to the interpreted one",
    )


def unavailable(error: CompiledBuildError) -> str:
    """What a benchmark reports when the compiled build could not be had."""
    return f"no compiled build, targets apply to the interpreted one: {error}"


def is_compiled(module_file: str | None) -> bool:
    """Whether a module's ``__file__`` is an extension module (the compiled build's)."""
    return (module_file or "").endswith((".so", ".pyd"))


def is_built() -> bool:
    """Whether the compiled copy of the current sources exists, so using it costs no build."""
    return (ROOT / "build" / "mypyc" / build_key() / "asgilab").is_dir()


def compiled_dir(*, verbose: bool = False) -> Path:
    """The directory to put first on ``sys.path`` for the compiled asgilab; builds it if needed.

    Raises :class:`CompiledBuildError` (saying why) when mypyc, a C compiler or
    the Python headers are missing, or when the build fails.
    """
    final = ROOT / "build" / "mypyc" / build_key()
    if not is_built():
        if why := why_not_buildable():
            raise CompiledBuildError(why)
        started = time.perf_counter()
        final.parent.mkdir(parents=True, exist_ok=True)
        # Unpack in a scratch directory and rename it into place at the end, so a
        # build running in parallel (two test processes) or interrupted midway is
        # never mistaken for a finished one.
        scratch = Path(tempfile.mkdtemp(prefix=f"{final.name}-", dir=final.parent))
        try:
            with tempfile.TemporaryDirectory(prefix="asgilab-mypyc-") as work:
                source = copy_build_inputs(Path(work) / "source")
                wheel = build_wheel(source, Path(work) / "dist", mypyc=True)
                # The wheel as pip would install it: the .py sources of the compiled
                # modules come along, and Python imports the extension modules first.
                with zipfile.ZipFile(wheel) as archive:
                    archive.extractall(scratch)
            try:
                os.rename(scratch, final)
            except OSError:
                if not (final / "asgilab").is_dir():  # another process did not win the race
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        _prune(final.parent)
        if verbose:
            print(
                f"built the mypyc copy in {time.perf_counter() - started:.1f} s: {final}",
                file=sys.stderr,
            )
    _sync_interpreted(final / "asgilab")
    return final


if __name__ == "__main__":
    try:
        print(compiled_dir(verbose=True))
    except CompiledBuildError as error:
        sys.exit(f"cannot build the compiled copy: {error}")
