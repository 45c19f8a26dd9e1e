"""asgilab with its router compiled by mypyc: the ``ASGILAB_MYPYC=1`` wheel, unpacked aside.

``ASGILAB_MYPYC=1 pip install .`` compiles the routing algorithm (:data:`COMPILED`,
listed once, in ``build_backend/asgilab_build.py``) to C extensions; every other
module, the App and the Request included, is the same ``.py`` file in both builds.
:func:`compiled_dir` builds that very wheel with pip and unpacks it into
``build/mypyc/<key>/`` (``build/`` is git-ignored, so no ``.so`` ever sits beside
the ``.py`` files people read and edit). Put that directory first on ``sys.path``
(or ``PYTHONPATH``) and ``import asgilab`` takes the compiled router from it.

``<key>`` hashes the package's sources (mypyc compiles against the types of what the
compiled modules import), ``setup.py``, the backend, Python's version and mypy's:
an unchanged package reuses its build, an edited one gets a fresh directory, and
the three newest are kept. Run it as a script to build (or find) the copy::

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
sys.path.insert(0, str(ROOT / "build_backend"))
from asgilab_build import COMPILED, VARIABLE  # noqa: E402

__all__ = [
    "COMPILED",
    "COMPILED_MODULES",
    "LABEL",
    "ROOT",
    "CompiledBuildError",
    "add_flag",
    "build_wheel",
    "compiled_dir",
    "copy_build_inputs",
    "is_built",
    "is_compiled",
    "race_compiled",
    "why_not_buildable",
]

# The compiled modules as a child process imports them: asgilab.router, ...
COMPILED_MODULES = [path.removesuffix(".py").replace("/", ".") for path in COMPILED]
# How the benchmarks' tables name this build; "asgilab" is the interpreted one.
LABEL = "asgilab (mypyc)"
# What building the wheel reads from the repository (what the sdist holds).
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
    """The compiled copy cannot be had here; the message says why and what to install."""


def _mypy_version() -> str:
    try:
        return importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _build_key() -> str:
    digest = hashlib.sha256()
    package = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "asgilab").rglob("*.py"))
    for path in (*package, "setup.py", "build_backend/asgilab_build.py"):
        digest.update(path.encode() + b"\0" + (ROOT / path).read_bytes() + b"\0")
    digest.update(f"{sys.version}\0{_mypy_version()}".encode())
    return digest.hexdigest()[:16]


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

    pip builds in the tree it is given, where setuptools leaves its ``build/`` and
    ``*.egg-info``: a copy keeps two builds apart and the working tree clean.
    """
    target.mkdir(parents=True)
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, target / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, target / name)
    return target


def build_wheel(source: Path, wheel_dir: Path, *, mypyc: bool) -> Path:
    """Run ``pip wheel --no-deps source`` (with ``ASGILAB_MYPYC=1`` if ``mypyc``); the wheel.

    pip builds in an isolated environment, as for anyone's ``pip install .``; the
    compiled build pins the mypy there to this environment's, the one the key hashes.
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


def _prune(builds: Path, keep: int = 3) -> None:
    """Delete all but the ``keep`` newest finished builds: each source edit makes one."""
    finished = [d for d in builds.iterdir() if d.is_dir() and len(d.name) == 16]
    finished.sort(key=lambda d: d.stat().st_mtime, reverse=True)
    for old in finished[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _check(directory: Path) -> None:
    """Refuse a copy whose modules a child, started as the benchmarks start theirs, would
    not import compiled: ``directory`` first on PYTHONPATH, ahead of site-packages."""
    probe = (
        f"import importlib\nfor m in {COMPILED_MODULES}: print(importlib.import_module(m).__file__)"
    )
    imported = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        env={**os.environ, "PYTHONPATH": str(directory)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for where in imported:
        if not is_compiled(where):
            raise CompiledBuildError(f"a child imported {where}, not the compiled module")


def is_compiled(module_file: str | None) -> bool:
    """Whether a module's ``__file__`` is an extension module (the compiled build's)."""
    return (module_file or "").endswith((".so", ".pyd"))


def is_built() -> bool:
    """Whether the compiled copy of the current sources exists, so using it costs no build."""
    return (ROOT / "build" / "mypyc" / _build_key() / "asgilab").is_dir()


def compiled_dir(*, verbose: bool = False) -> Path:
    """The directory to put first on ``sys.path`` for the compiled asgilab; builds it if needed.

    Raises :class:`CompiledBuildError` (saying why) when mypyc, a C compiler or the
    Python headers are missing, when the build fails, or when a child process would
    not import the compiled modules from it.
    """
    final = ROOT / "build" / "mypyc" / _build_key()
    if not (final / "asgilab").is_dir():
        if why := why_not_buildable():
            raise CompiledBuildError(why)
        started = time.perf_counter()
        final.parent.mkdir(parents=True, exist_ok=True)
        # Unpacked aside and renamed into place at the end, so that a build running in
        # parallel, or interrupted midway, is never taken for a finished one.
        scratch = Path(tempfile.mkdtemp(prefix=f"{final.name}-", dir=final.parent))
        try:
            with tempfile.TemporaryDirectory(prefix="asgilab-mypyc-") as work:
                source = copy_build_inputs(Path(work) / "source")
                wheel = build_wheel(source, Path(work) / "dist", mypyc=True)
                with zipfile.ZipFile(wheel) as archive:  # as pip would install it
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
            elapsed = time.perf_counter() - started
            print(f"built the mypyc copy in {elapsed:.1f} s: {final}", file=sys.stderr)
    _check(final)
    return final


def race_compiled(names: list[str], missing: dict[str, str], wanted: bool) -> str | None:
    """Put :data:`LABEL` right after "asgilab" in ``names``; the compiled copy's directory.

    Nothing is added when it is not ``wanted`` or asgilab is not racing; when the
    copy cannot be had, ``missing`` says why and the result is None.
    """
    if not wanted or "asgilab" not in names:
        return None
    try:
        directory = str(compiled_dir(verbose=True))
    except CompiledBuildError as error:
        missing[LABEL] = str(error)
        return None
    names.insert(names.index("asgilab") + 1, LABEL)
    return directory


def add_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--no-compiled`` flag of the benchmarks that race this build."""
    parser.add_argument(
        "--no-compiled",
        action="store_true",
        help="leave out asgilab's build with the router compiled by mypyc",
    )


if __name__ == "__main__":
    try:
        print(compiled_dir(verbose=True))
    except CompiledBuildError as error:
        sys.exit(f"cannot build the compiled copy: {error}")
