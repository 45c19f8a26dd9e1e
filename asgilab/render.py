"""Turn DOT text into SVG, PNG or PDF with whichever Graphviz engine this machine has.

Graphviz comes in two forms, and a notebook user may have either:

- the ``dot`` executable (``apt-get install graphviz``, ``brew install graphviz``,
  ``conda install -c conda-forge graphviz``), run as a subprocess;
- the Graphviz library bundled inside the pygraphviz wheels (``pip install pygraphviz``), run
  in-process, with no executable at all.

:func:`choose_engine` picks one: the ``engine`` argument if given, else the ``ASGILAB_GRAPHVIZ``
environment variable, else ``dot`` when it is on PATH and pygraphviz otherwise. ``dot`` comes
first because it is the Graphviz the user installed on purpose (and usually the newer one).

>>> choose_engine("pygraphviz")
'pygraphviz'
>>> svg = render('digraph { a [label="a"]; b [label="b"]; a -> b }', engine="pygraphviz")
>>> svg.startswith(b"<?xml")
True
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, cast

from .errors import AsgilabError

# NOTE: shutil, subprocess and tempfile are imported by the functions that render, not
# here: ``import asgilab`` imports this module (for its errors), and most programs never
# draw anything.

__all__ = [
    "ENGINES",
    "ENV_VAR",
    "FORMATS",
    "Engine",
    "GraphvizUnavailable",
    "RenderError",
    "choose_engine",
    "render",
]

Engine = Literal["dot", "pygraphviz"]

#: The engines, in the order the automatic choice tries them.
ENGINES: tuple[Engine, ...] = ("dot", "pygraphviz")

#: The environment variable that forces an engine (``dot``, ``pygraphviz`` or ``auto``).
ENV_VAR = "ASGILAB_GRAPHVIZ"

#: Output formats both engines produce (pygraphviz's wheel bundles the cairo plugins).
FORMATS = ("svg", "png", "pdf")

_INSTALL_DOT = (
    "install Graphviz so that `dot` is on PATH (apt-get install graphviz, "
    "brew install graphviz, or conda install -c conda-forge graphviz)"
)
_INSTALL_PYGRAPHVIZ = "pip install pygraphviz (its wheels bundle Graphviz, no executable needed)"

# NOTE: the Graphviz bundled in pygraphviz 2.0.4's wheels carries an older fontconfig, which
# does not know the system's config files and says so once per process, on file descriptor 2,
# during the first layout. In a notebook that shows as a red block under the picture. It is
# harmless, so it is the one line we drop; everything else Graphviz prints is passed on.
_HARMLESS_STDERR = ("Fontconfig warning:",)


class GraphvizUnavailable(AsgilabError, RuntimeError):
    """No Graphviz engine can run here: the message says which to install."""


class RenderError(AsgilabError, RuntimeError):
    """Graphviz ran but could not render the DOT text: the message quotes what it printed."""


def choose_engine(engine: str | None = None) -> Engine:
    """Pick the Graphviz engine: the argument, else ``$ASGILAB_GRAPHVIZ``, else automatic.

    ``"auto"`` (or nothing) means ``dot`` when it is on PATH, else pygraphviz when it
    imports. A forced engine that cannot run is an error rather than a silent fallback,
    so that a test or a user who asked for one engine never measures the other.

    >>> choose_engine("auto") in ENGINES
    True
    """
    import shutil

    source = "the engine argument"
    if engine is None:
        engine = os.environ.get(ENV_VAR) or None
        source = f"${ENV_VAR}"
    wanted = (engine or "auto").strip().lower()
    if wanted == "auto":
        if shutil.which("dot") is not None:
            return "dot"
        problem = _pygraphviz_problem()
        if problem is None:
            return "pygraphviz"
        raise GraphvizUnavailable(
            "cannot render: no Graphviz engine here. The `dot` executable is not on PATH, "
            f"and pygraphviz does not import ({problem}). "
            f"Either {_INSTALL_DOT}, or {_INSTALL_PYGRAPHVIZ}."
        )
    if wanted == "dot":
        if shutil.which("dot") is None:
            raise GraphvizUnavailable(
                f"Graphviz engine 'dot' was asked for ({source}) but `dot` is not on PATH: "
                f"{_INSTALL_DOT}, or ask for engine 'pygraphviz'."
            )
        return "dot"
    if wanted == "pygraphviz":
        problem = _pygraphviz_problem()
        if problem is not None:
            raise GraphvizUnavailable(
                f"Graphviz engine 'pygraphviz' was asked for ({source}) but it does not import "
                f"({problem}): {_INSTALL_PYGRAPHVIZ}, or ask for engine 'dot'."
            )
        return "pygraphviz"
    raise GraphvizUnavailable(
        f"unknown Graphviz engine {engine!r} (from {source}); known: auto, {', '.join(ENGINES)}"
    )


def render(source: str, format: str = "svg", *, engine: str | None = None) -> bytes:
    """Lay out DOT text with ``dot`` and render it in ``format`` (svg, png or pdf).

    ``engine`` is as for :func:`choose_engine`. Graphviz warnings are passed on to
    ``sys.stderr``; a failure raises :class:`RenderError` quoting Graphviz's own words.
    """
    if format not in FORMATS:
        raise RenderError(f"cannot render format {format!r}; known: {', '.join(FORMATS)}")
    chosen = choose_engine(engine)
    if chosen == "dot":
        return _render_with_dot(source, format)
    return _render_with_pygraphviz(source, format)


def _pygraphviz_problem() -> str | None:
    """Why pygraphviz cannot be used (its import error, as text), or None when it can."""
    try:
        import pygraphviz  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as error:  # also covers a wheel whose bundled libraries fail to load
        return f"{type(error).__name__}: {error}"
    return None


def _render_with_dot(source: str, format: str) -> bytes:
    import shutil
    import subprocess

    executable = shutil.which("dot")
    if executable is None:  # PATH changed since choose_engine looked
        raise GraphvizUnavailable(f"`dot` is not on PATH: {_INSTALL_DOT}")
    done = subprocess.run(
        [executable, f"-T{format}"], input=source.encode(), capture_output=True, check=False
    )
    printed = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise RenderError(
            f"`dot -T{format}` failed (exit status {done.returncode}): {printed.strip()}"
        )
    _pass_on(printed)
    return done.stdout


def _render_with_pygraphviz(source: str, format: str) -> bytes:
    import pygraphviz

    # Graphviz writes its warnings and errors straight to file descriptor 2, where
    # Python's sys.stderr cannot see them; pygraphviz's own exceptions then only say
    # "Invalid Input". So fd 2 is captured for the duration of the call: errors quote
    # what Graphviz printed, and the rest is passed on (less the fontconfig line).
    with _captured_fd2() as printed:
        try:
            graph = pygraphviz.AGraph(string=source)
            output = graph.draw(format=format, prog="dot")
        except (pygraphviz.DotError, ValueError) as error:
            failure: Exception | None = error
        else:
            failure = None
    text = printed.getvalue()
    if failure is not None:
        said = _drop_harmless(text).strip() or "(Graphviz printed nothing)"
        raise RenderError(f"pygraphviz could not render the graph: {failure}: {said}") from failure
    _pass_on(text)
    return cast(bytes, output)


class _Printed:
    """What was written to fd 2 while it was captured; filled in when the capture ends."""

    def __init__(self) -> None:
        self._text = ""

    def getvalue(self) -> str:
        return self._text


@contextmanager
def _captured_fd2() -> Iterator[_Printed]:
    import tempfile

    printed = _Printed()
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (a detached daemon): nothing to capture
        yield printed
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield printed
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            printed._text = sink.read().decode(errors="replace")


def _drop_harmless(text: str) -> str:
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(_HARMLESS_STDERR)
    )


def _pass_on(text: str) -> None:
    rest = _drop_harmless(text)
    if rest:
        sys.stderr.write(rest)
