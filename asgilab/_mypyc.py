"""What mypyc needs to know about asgilab's compiled modules, and nothing else needs.

``ASGILAB_MYPYC=1 pip install .`` compiles the routing algorithm (the modules
listed in ``build_backend/asgilab_build.py``) to C with mypyc; everything else, the
App and the Request included, stays interpreted in every build. A compiled class is
closed to ordinary Python subclasses unless it says otherwise, so the routing classes
open to subclassing (``Router`` among them) carry
``@mypyc_attr(allow_interpreted_subclasses=True)``. Interpreted, that decorator does
nothing, and ``mypy_extensions`` (which comes with mypy) is optional: without it, the
stand-in below returns the class unchanged.
"""

from collections.abc import Callable
from typing import Any

__all__ = ["mypyc_attr"]

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[Any], Any]:  # type: ignore[misc]
        return lambda cls: cls
