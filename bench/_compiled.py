"""A mypyc-compiled copy of asgilab, built beside the sources and never over them.

The router's modules (``router.py``, ``patterns.py``, ``converters.py``) are
plain typed Python that mypyc compiles unchanged to C extensions, which is how
they meet the performance issue's targets (the same lever black and mypy use).
The compiled copy lives in ``build/mypyc/<key>/asgilab/`` (``build/`` is
git-ignored) because ``.so`` files next to the ``.py`` files would shadow the
code people read and edit. Putting that directory first on ``sys.path`` (or
``PYTHONPATH``) makes ``import asgilab`` pick the compiled modules; without it
everyone gets the interpreted package, which stays the default and the fallback.

``<key>`` hashes the three compiled sources, the Python version and the mypy
version, so an unchanged router reuses its build (mypyc takes ~20 s) and an
edited one gets a fresh directory. The other, interpreted modules of the copy
are refreshed from the sources on every call, so they never go stale.

Run it as a script to build (or find) the copy and print its directory::

    python bench/_compiled.py
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

__all__ = ["COMPILED", "ROOT", "CompiledBuildError", "compiled_dir", "is_built"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "asgilab"
# The modules mypyc compiles: the router's hot path and what it calls per request.
COMPILED = ("router.py", "patterns.py", "converters.py")


class CompiledBuildError(RuntimeError):
    """The compiled copy cannot be built here; the message says why and what to install."""


def build_key() -> str:
    """Hash of what the compiled code depends on: the three sources, Python and mypy."""
    digest = hashlib.sha256()
    for name in COMPILED:
        digest.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes() + b"\0")
    digest.update(sys.version.encode())
    digest.update(_mypy_version().encode())
    return digest.hexdigest()[:16]


def _mypy_version() -> str:
    try:
        return importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _why_not_buildable() -> str | None:
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


def _sync_interpreted(target: Path) -> None:
    """Copy every source file except the compiled ones into ``target``, if it changed."""
    for source in PACKAGE.iterdir():
        if not source.is_file() or source.name in COMPILED or source.suffix == ".pyc":
            continue
        copy = target / source.name
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            shutil.copy2(source, copy)


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
        if why := _why_not_buildable():
            raise CompiledBuildError(why)
        started = time.perf_counter()
        final.parent.mkdir(parents=True, exist_ok=True)
        # Build in a scratch directory and rename it into place at the end, so a
        # build running in parallel (two test processes) or interrupted midway is
        # never mistaken for a finished one.
        scratch = Path(tempfile.mkdtemp(prefix=f"{final.name}-", dir=final.parent))
        try:
            shutil.copytree(
                PACKAGE, scratch / "asgilab", ignore=shutil.ignore_patterns("__pycache__")
            )
            command = [
                sys.executable,
                "-m",
                "mypyc",
                *(f"asgilab/{name}" for name in COMPILED),
            ]
            # mypyc writes its C sources and objects under ./build and the
            # extensions next to the sources: both inside the scratch directory.
            done = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
            if done.returncode != 0:
                tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
                raise CompiledBuildError(f"mypyc failed (exit {done.returncode}):\n{tail}")
            shutil.rmtree(scratch / "build", ignore_errors=True)  # C sources, objects
            for name in COMPILED:
                (scratch / "asgilab" / name).unlink()  # so only the .so can be imported
            try:
                os.rename(scratch, final)
            except OSError:
                if not (final / "asgilab").is_dir():  # another process did not win the race
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
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
