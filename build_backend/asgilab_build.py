"""asgilab's build backend: setuptools, plus an opt-in build with its router compiled by mypyc.

``pip install .`` builds the pure-Python package, exactly as setuptools alone would.
``ASGILAB_MYPYC=1 pip install .`` builds a wheel whose routing modules (:data:`COMPILED`)
are C extensions compiled by mypyc from the same, unchanged source (the way black
ships). Only that build needs mypy (which ships mypyc) and a C compiler, so the
interpreted package stays the default, and the fallback wherever no compiler is.

Two files share the work, because a frontend (pip) asks the backend what the build
needs before it installs it, and setuptools takes extension modules from ``setup.py``:

- this module asks for mypy in :func:`get_requires_for_build_wheel`, only when
  ``ASGILAB_MYPYC=1``, and says that an editable install does not compile
  (:func:`build_editable`);
- ``setup.py`` hands mypyc's extensions to setuptools when the wheel itself is built,
  and only then.

Every hook hands over to ``setuptools.build_meta``, imported when a hook runs rather
than with this module: ``bench/_compiled.py`` reads :data:`COMPILED` from here, and
the benchmarks' processes need not load setuptools for that.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Any

__all__ = [
    "COMPILED",
    "MYPY",
    "VARIABLE",
    "build_editable",
    "get_requires_for_build_wheel",
    "mypyc_requested",
]

# The environment variable that asks for the compiled build; only "1" does.
VARIABLE = "ASGILAB_MYPYC"
# The modules mypyc compiles, as paths from the project root: the routing algorithm
# only (the routes, the tree and its walk, the router around it, the patterns it is built from, the
# converters a match calls), which is where compiling pays. The App and the Request
# stay interpreted in every build: compiled, they saved a few per cent of a request's
# instructions under uvicorn, and cost an API that differed between the two builds.
# bench/_compiled.py builds this very list.
COMPILED = (
    "asgilab/routes.py",
    "asgilab/tree.py",
    "asgilab/router.py",
    "asgilab/patterns.py",
    "asgilab/converters.py",
)
# What the compiled build needs beyond setuptools: the lower bound of the `test` extra.
MYPY = "mypy>=1.11"

ConfigSettings = dict[str, str | list[str]] | None


def mypyc_requested() -> bool:
    """Whether this build was asked to compile the routing modules (``ASGILAB_MYPYC=1``)."""
    return os.environ.get(VARIABLE) == "1"


def _setuptools() -> ModuleType:
    """``setuptools.build_meta``, which does the actual building."""
    from setuptools import build_meta

    return build_meta


def get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> list[str]:
    """setuptools' requirements, plus mypy when the wheel is to be compiled."""
    requires = _setuptools().get_requires_for_build_wheel(config_settings)
    return [*requires, MYPY] if mypyc_requested() else requires


def build_editable(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: str | None = None,
) -> str:
    """The plain editable wheel, always: it never compiles, even with ``ASGILAB_MYPYC=1``.

    An editable install imports the modules from the working tree, so compiled
    extensions would have to sit beside the ``.py`` files, where Python imports them
    first and the code people edit would silently stop running. ``setup.py`` only
    compiles for the ``bdist_wheel`` command, which this hook does not run.
    """
    if mypyc_requested():
        print(
            f"asgilab: {VARIABLE}=1 is ignored for an editable install (compiled modules "
            "beside the sources would shadow the code you edit); building the plain one",
            file=sys.stderr,
        )
    return _setuptools().build_editable(wheel_directory, config_settings, metadata_directory)


# setuptools' get_requires_for_build_editable asks its own get_requires_for_build_wheel,
# not the one above, so an editable build never needs mypy.
_SETUPTOOLS_HOOKS = {
    "build_sdist",
    "build_wheel",  # compiles when asked: setup.py adds the extensions then
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
}


def __getattr__(name: str) -> Any:
    """Every other hook is setuptools' own, looked up when the frontend asks for it."""
    if name in _SETUPTOOLS_HOOKS:
        return getattr(_setuptools(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
