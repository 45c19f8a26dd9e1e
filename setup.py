"""The one thing pyproject.toml cannot declare: the router's C extensions, when asked for.

With ``ASGILAB_MYPYC=1`` the wheel carries the modules of :data:`asgilab_build.COMPILED`
compiled by mypyc (``build_backend/asgilab_build.py`` explains the opt-in); without it,
this is a plain setuptools build of what pyproject.toml declares. A compile that fails
fails the build with mypyc's errors: asking for the compiled build and silently
getting the interpreted one would be worse than no wheel.
"""

import sys

# The build backend's folder is on sys.path while it runs (pyproject.toml's backend-path).
from asgilab_build import COMPILED, mypyc_requested
from setuptools import setup

# setuptools also runs this file to list the build requirements (before mypy is there),
# to write the metadata or an sdist, and to build an editable wheel. Only the wheel
# proper (the bdist_wheel command) gets compiled modules; an editable install must
# never have them (see asgilab_build.build_editable).
if mypyc_requested() and "bdist_wheel" in sys.argv:
    from mypyc.build import mypycify

    setup(ext_modules=mypycify(list(COMPILED), opt_level="3"))
else:
    setup()
