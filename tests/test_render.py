"""asgilab.render: the choice of Graphviz engine, and rendering with each."""

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asgilab.render import GraphvizUnavailable, RenderError, choose_engine, render

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="the `dot` executable is not on PATH here")

DOT = 'digraph { a [label="users"]; b [label="{id:int}"]; a -> b }'
INSTALL_DOT = (
    "install Graphviz so that `dot` is on PATH (apt-get install graphviz, "
    "brew install graphviz, or conda install -c conda-forge graphviz)"
)
INSTALL_PYGRAPHVIZ = "pip install pygraphviz (its wheels bundle Graphviz, no executable needed)"


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH with no `dot` on it (an empty directory)."""
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.fixture
def no_pygraphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import pygraphviz` fail, as on a machine without it."""
    monkeypatch.setitem(sys.modules, "pygraphviz", None)


def svg_texts(svg: bytes) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode())


def engine_chosen(monkeypatch: pytest.MonkeyPatch, argument: str | None, env: str | None) -> str:
    """choose_engine(argument) with ASGILAB_GRAPHVIZ set to ``env`` (None: unset)."""
    if env is None:
        monkeypatch.delenv("ASGILAB_GRAPHVIZ", raising=False)
    else:
        monkeypatch.setenv("ASGILAB_GRAPHVIZ", env)
    return choose_engine(argument)


@pytest.mark.parametrize(
    ("argument", "env", "expected"),
    [
        ("pygraphviz", None, "pygraphviz"),
        ("PyGraphviz", None, "pygraphviz"),
        (None, "pygraphviz", "pygraphviz"),
        ("pygraphviz", "dot", "pygraphviz"),  # the argument wins over the environment
        (None, None, "pygraphviz"),  # auto, and no dot here
        ("auto", "dot", "pygraphviz"),
        (None, "", "pygraphviz"),  # an empty variable counts as unset
    ],
)
def test_engine_choice_without_dot(
    no_dot: None,
    monkeypatch: pytest.MonkeyPatch,
    argument: str | None,
    env: str | None,
    expected: str,
) -> None:
    assert engine_chosen(monkeypatch, argument, env) == expected


@needs_dot
@pytest.mark.parametrize(
    ("argument", "env", "expected"),
    [(None, None, "dot"), ("dot", None, "dot"), (None, "pygraphviz", "pygraphviz")],
)
def test_engine_choice_with_dot(
    monkeypatch: pytest.MonkeyPatch, argument: str | None, env: str | None, expected: str
) -> None:
    assert engine_chosen(monkeypatch, argument, env) == expected


def test_unknown_engine_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGILAB_GRAPHVIZ", "neato")
    with pytest.raises(GraphvizUnavailable) as caught:
        choose_engine()
    assert str(caught.value) == (
        "unknown Graphviz engine 'neato' (from $ASGILAB_GRAPHVIZ); known: auto, dot, pygraphviz"
    )


def test_forced_dot_without_dot_says_what_to_install(no_dot: None) -> None:
    with pytest.raises(GraphvizUnavailable) as caught:
        choose_engine("dot")
    assert str(caught.value) == (
        "Graphviz engine 'dot' was asked for (the engine argument) but `dot` is not on PATH: "
        f"{INSTALL_DOT}, or ask for engine 'pygraphviz'."
    )


def test_forced_pygraphviz_without_it_says_what_to_install(no_pygraphviz: None) -> None:
    with pytest.raises(GraphvizUnavailable) as caught:
        choose_engine("pygraphviz")
    assert str(caught.value) == (
        "Graphviz engine 'pygraphviz' was asked for (the engine argument) but it does not "
        "import (ModuleNotFoundError: import of pygraphviz halted; None in sys.modules): "
        f"{INSTALL_PYGRAPHVIZ}, or ask for engine 'dot'."
    )


def test_no_engine_at_all_says_both_ways_to_get_one(
    no_dot: None, no_pygraphviz: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASGILAB_GRAPHVIZ", raising=False)
    with pytest.raises(GraphvizUnavailable) as caught:
        render(DOT)
    assert str(caught.value) == (
        "cannot render: no Graphviz engine here. The `dot` executable is not on PATH, and "
        "pygraphviz does not import (ModuleNotFoundError: import of pygraphviz halted; None in "
        f"sys.modules). Either {INSTALL_DOT}, or {INSTALL_PYGRAPHVIZ}."
    )


def test_bundled_engine_renders_svg_with_dot_removed_from_path(
    no_dot: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASGILAB_GRAPHVIZ", raising=False)
    svg = render(DOT)  # automatic choice: nothing but pygraphviz can serve it
    assert svg.startswith(b"<?xml")
    assert svg_texts(svg) == ["users", "{id:int}"]


@needs_dot
def test_dot_executable_renders_svg() -> None:
    svg = render(DOT, engine="dot")
    assert svg.startswith(b"<?xml")
    assert svg_texts(svg) == ["users", "{id:int}"]


@pytest.mark.parametrize(
    ("format", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")]
)
@pytest.mark.parametrize("engine", ["pygraphviz", pytest.param("dot", marks=needs_dot)])
def test_formats(engine: str, format: str, magic: bytes) -> None:
    assert render(DOT, format, engine=engine).startswith(magic)


def test_unknown_format() -> None:
    with pytest.raises(RenderError) as caught:
        render(DOT, "gif")
    assert str(caught.value) == "cannot render format 'gif'; known: svg, png, pdf"


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        (
            "pygraphviz",
            "pygraphviz could not render the graph: Invalid Input: "
            "Error: syntax error in line 1 near '}'",
        ),
        pytest.param(
            "dot",
            "`dot -Tsvg` failed (exit status 1): Error: <stdin>: syntax error in line 1 near '}'",
            marks=needs_dot,
        ),
    ],
)
def test_a_graphviz_failure_quotes_what_graphviz_printed(engine: str, message: str) -> None:
    with pytest.raises(RenderError) as caught:
        render("digraph { a -> }", engine=engine)
    assert str(caught.value) == message


def test_fresh_process_prints_only_real_warnings() -> None:
    """The bundled fontconfig's warning (first render of a process) is dropped; Graphviz's
    own warnings still reach stderr. Needs a fresh process: the warning comes once."""
    script = textwrap.dedent(
        """
        from asgilab.render import render
        render('digraph { a [label="a"] }', engine="pygraphviz")
        render('digraph { b [label="b" shape=blob] }', engine="pygraphviz")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr == "Warning: using box for unknown shape blob\n"


@pytest.mark.parametrize("engine", ["pygraphviz", pytest.param("dot", marks=needs_dot)])
def test_html_like_labels_render_with_each_engine(engine: str) -> None:
    """The drawings' caption and legend are an HTML-like graph label (coloured table cells):
    both engines draw it, entities decoded once and backslashes left alone."""
    label = (
        '<<TABLE BORDER="0"><TR><TD>GET /a&amp;&lt;b&gt;\\N</TD>'
        '<TD BGCOLOR="#bbf7d0" COLOR="#15803d" STYLE="rounded">matched</TD></TR></TABLE>>'
    )
    svg = render(f"digraph {{ label={label}; a [label=users] }}", engine=engine)
    assert svg_texts(svg) == ["GET /a&amp;&lt;b&gt;\\N", "matched", "users"]
    assert b'fill="#bbf7d0"' in svg
