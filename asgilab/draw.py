"""Draw the live route tree with Graphviz, and the path one lookup takes through it.

``draw(app)`` returns a :class:`Drawing`: in JupyterLab it displays itself, scaled to fit the
notebook; elsewhere ``.source`` is the DOT text, ``.svg()`` the picture and
``.save("tree.svg")`` a file. Reading left to right, each box is a node of the radix tree, and
a parent's children are stacked top to bottom in the order the router tries them. Labels are
the segments as the routes wrote them (``{name}``, ``{id:int}``). The shape says the kind:

- rounded box, white: static text (a compressed run of segments is one box);
- ellipse, blue: a parameter, ``{name}`` or ``{id:int}``;
- hexagon, amber: a segment mixing text and parameters, ``{name}.{ext}``;
- octagon, pink: a catch-all, ``{rest:path}``;
- dark box: the root;
- a thick border and extra lines (``GET, HEAD user``): routes end there;
- a route line ending in brackets (``GET me [auth]``): the functions the route depends on
  (its ``extras["dependencies"]``, then its handler's ``Depends(...)`` parameters; at
  most three named, then ``+2`` for the rest);
- a dashed note (``+12 more nodes``): what ``max_nodes`` left out below that parent.

With ``highlight="GET /users/42"`` the lookup from ``router.explain`` is drawn over it: nodes
the walk went into have a blue border, a rejected child a dashed red one, a branch it backed
out of an orange one; the matched node is filled green, and on a miss the node where the
walk stopped is filled red. Each edge the walk followed is numbered in the order it was
tried, from 1 (two numbers: tried again after a backtrack). ``draw_steps`` fills the nodes an
insertion added green and those it changed orange. A legend under the caption says all
this in the picture: it is on where a lookup or an insertion is drawn (``legend=`` decides).

The picture is kept apart from the model, in two steps: :func:`asgilab.treeview.tree_view`
turns the tree into plain data (which the tests read), and :func:`to_digraph` turns that into
a ``graphviz.Digraph``. Rendering goes through :mod:`asgilab.render`, which works with or
without the ``dot`` executable: a raw ``Digraph`` is never handed to Jupyter, because it
can only render with ``dot``.

>>> from types import SimpleNamespace as N
>>> leaf = N(kind="static", label="health", children=[], routes={"GET": N(name="health")})
>>> picture = draw(N(root=N(kind="root", label="", children=[leaf], routes={})))
>>> picture
<Drawing: 2 nodes, 1 route>
>>> for line in picture.source.splitlines()[4:]:  # doctest: +ELLIPSIS
...     print(line.strip())
n0 [label=root ... shape=box]
n1 [label="health\\nGET health" ... penwidth=2 shape=box style="rounded,filled" tooltip="/health"]
n0 -> n1
}
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .render import FORMATS
from .render import render as render_dot
from .router import Route, Router
from .treeview import DrawError, TreeView, ViewNode, count, legend_entries, mark_changes, tree_view

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

__all__ = ["MIN_SCALE", "Drawing", "draw", "draw_steps", "to_digraph"]

# The colours, named once. Text is drawn in _INK (or white on the dark root) and every text
# colour keeps a contrast of at least 4.5:1 (WCAG AA) on the fill it sits on: the orange is
# Tailwind's 700, not its 600 (3.6:1 on white), because step numbers are written in it.
_INK = "#000000"
_GREY = "#6b7280"
_BLUE = "#2563eb"
_RED = "#dc2626"
_ORANGE = "#c2410c"
_GREEN = "#15803d"

# Styles per node kind. NOTE: every node gets an explicit `label` (see _node_attrs): with
# pygraphviz 2.0.4's bundled Graphviz, the first render in a process leaves nodes that rely
# on the default label (their name) blank when any other node has an explicit one.
_KIND_STYLE: Mapping[str, Mapping[str, str]] = {
    "root": {"shape": "box", "fillcolor": "#374151", "fontcolor": "#ffffff"},
    "static": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "param": {"shape": "ellipse", "fillcolor": "#dbeafe", "color": "#475569"},
    "mixed": {"shape": "hexagon", "fillcolor": "#fef3c7", "color": "#b45309"},
    "catch_all": {"shape": "octagon", "fillcolor": "#fce7f3", "color": "#be185d"},
    "mount": {"shape": "folder", "fillcolor": "#ede9fe", "color": "#6d28d9"},
    "summary": {
        "shape": "note",
        "style": "dashed,filled",
        "fillcolor": "#ffffff",
        "fontcolor": _GREY,
        "color": "#9ca3af",
    },
}

# What a lookup (or an insertion, in draw_steps) did, drawn over the kind's style. A state
# that fills the node also sets the text colour: white root text on pale green is unreadable.
_STATE_STYLE: Mapping[str, Mapping[str, str]] = {
    "entered": {"color": _BLUE, "penwidth": "2.5"},
    "rejected": {"color": _RED, "penwidth": "2", "style": "dashed,filled"},
    "backtracked": {"color": _ORANGE, "penwidth": "2.5"},
    "missed": {"color": _RED, "penwidth": "3", "fillcolor": "#fee2e2", "fontcolor": _INK},
    "matched": {"color": _GREEN, "penwidth": "3", "fillcolor": "#bbf7d0", "fontcolor": _INK},
    "added": {"color": _GREEN, "penwidth": "2.5", "fillcolor": "#bbf7d0", "fontcolor": _INK},
    "changed": {"color": _ORANGE, "penwidth": "2.5", "fillcolor": "#ffedd5", "fontcolor": _INK},
}
_EDGE_STYLE: Mapping[str, Mapping[str, str]] = {
    "entered": {"color": _BLUE, "penwidth": "2"},
    "rejected": {"color": _RED, "style": "dashed"},
    "backtracked": {"color": _ORANGE, "penwidth": "2", "style": "dashed"},
    "missed": {"color": _RED, "penwidth": "2"},
    "matched": {"color": _GREEN, "penwidth": "2.5"},
    "added": {"color": _GREEN, "penwidth": "2"},
    "changed": {"color": _ORANGE, "penwidth": "2"},
}

# What the legend says for each entry of treeview.legend_entries, drawn in that entry's style.
_LEGEND_TEXT: Mapping[str, str] = {
    "static": "rounded box: text",
    "mixed": "hexagon: text{param}",
    "param": "ellipse: {param}",
    "catch_all": "octagon: {rest:path}",
    "mount": "folder: a mounted ASGI app",
    "summary": "note: nodes left out",
    "routes": "thick border: routes end here",
    "dependencies": "GET me [auth]: depends on auth",
    "entered": "entered",
    "backtracked": "backtracked: went back",
    "rejected": "rejected: did not fit",
    "missed": "missed: stopped here",
    "matched": "matched",
    "added": "added by this route",
    "changed": "changed: split or new route",
}
_LEGEND_PER_ROW = 4  # entries side by side: the legend grows down, not much wider

_FONT = "Helvetica"
_SMALL = "10"  # points: edge numbers and the legend, the smallest text in a picture
_WRAP = 72  # characters per caption line

# In a notebook the picture is scaled down to the output's width, but never below this
# factor: the smallest text (10 pt, 13.3 px) stays 10 px. A picture wider than that still
# scrolls sideways in its own box instead of being cut off.
MIN_SCALE = 0.75
# CSS pixels: a picture wider *and* taller than this at MIN_SCALE is a poster (the whole
# GitHub tree), more than a laptop's notebook output (about 900 px wide) shows at once.
_POSTER = 900


class _RouterLike(Protocol):
    @property
    def root(self) -> Any: ...
    def explain(self, method: str, path: str) -> Any: ...


class Drawing:
    """A picture of a route tree: DOT text now, SVG (or PNG, PDF) when asked.

    ``view`` is the plain data it was drawn from (see :mod:`asgilab.treeview`). Rendering
    happens at most once per engine and format; ``engine`` is as for
    :func:`asgilab.render.choose_engine` (None: ``$ASGILAB_GRAPHVIZ``, else automatic).
    """

    def __init__(self, view: TreeView, *, engine: str | None = None) -> None:
        self.view = view
        self.engine = engine
        self._digraph: graphviz.Digraph | None = None
        self._rendered: dict[tuple[str | None, str], bytes] = {}

    @property
    def digraph(self) -> graphviz.Digraph:
        """The ``graphviz.Digraph`` model (to tweak attributes; display the Drawing, not it)."""
        if self._digraph is None:
            self._digraph = to_digraph(self.view)
        return self._digraph

    @property
    def source(self) -> str:
        """The DOT text (the Graphviz language)."""
        return str(self.digraph.source)

    def render(self, format: str = "svg") -> bytes:
        """The picture as bytes in ``format`` (svg, png or pdf)."""
        key = (self.engine, format)
        if key not in self._rendered:
            self._rendered[key] = render_dot(self.source, format, engine=self.engine)
        return self._rendered[key]

    def svg(self) -> str:
        """The picture as an SVG document."""
        return self.render("svg").decode()

    def html(self) -> str:
        """The picture as an HTML fragment that fits the page it is shown in.

        The SVG goes in an ``<img>`` (as JupyterLab shows SVG output) that shrinks to the
        width of its box, down to :data:`MIN_SCALE` of its size so labels stay readable; the
        box scrolls sideways (``overflow-x: auto``) when even that is too wide.
        """
        import base64  # here: only a notebook's display of the picture needs it

        svg = self.svg()
        data = base64.b64encode(svg.encode()).decode("ascii")
        size = smallest = box = ""
        found = _SVG_SIZE.search(svg)
        if found is not None:  # Graphviz gives points; CSS pixels are 4/3 of a point
            width, height = (round(float(points) * 4 / 3) for points in found.groups())
            size = f' width="{width}" height="{height}"'
            smallest = f"min-width:{round(width * MIN_SCALE)}px;"
            if min(width, height) * MIN_SCALE > _POSTER:
                # NOTE: a poster's sideways scrollbar would be screens below its top: its
                # box gets a height too, so that both scrollbars are on screen with it. In
                # pixels: JupyterLab's sanitizer (untrusted notebooks) drops `vh` units.
                box = f"max-height:{_POSTER * 4 // 5}px;overflow-y:auto;"
        return (
            f'{_SCROLLBAR_CSS}<div class="asgilab-drawing" style="overflow-x:auto;{box}">'
            f'<img src="data:image/svg+xml;base64,{data}"{size}'
            f' alt="{html.escape(repr(self))}"'
            f' style="display:block;max-width:100%;{smallest}height:auto"></div>'
        )

    def save(self, path: str | Path) -> Path:
        """Write the picture to ``path``, in the format its extension names (.svg .png .pdf)."""
        path = Path(path)
        format = path.suffix.lower().lstrip(".")
        if format not in FORMATS:
            known = ", ".join(f".{name}" for name in FORMATS)
            raise DrawError(
                f"cannot save a drawing as {path.name!r}: unknown extension {path.suffix!r} "
                f"(known: {known})"
            )
        path.write_bytes(self.render(format))
        return path

    # Jupyter shows the richest representation its frontend knows. JupyterLab prefers
    # text/html, which fits the output's width; SVG stays for the frontends that take only
    # pictures, and text for the console.
    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        return {"text/html": self.html(), "image/svg+xml": self.svg(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        nodes = [node for node in self.view.nodes if node.kind != "summary"]
        routes = sum(len(node.routes) for node in nodes)
        text = f"{count(len(nodes), 'node')}, {count(routes, 'route')}"
        folded = len(self.view.nodes) - len(nodes)
        if folded:  # max_nodes cut the tree: the counts are of what is shown
            text += f" shown, the rest in {count(folded, 'folded group')}"
        if self.view.caption:
            text += f"; {self.view.caption}"
        return f"<Drawing: {text}>"


_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')

# NOTE: overlay scrollbars (macOS, some Linux desktops) stay hidden until one scrolls, so a
# reader would not know the picture goes on to the right: a styled scrollbar is always drawn.
_SCROLLBAR_CSS = (
    "<style>.asgilab-drawing::-webkit-scrollbar{width:10px;height:10px}"
    ".asgilab-drawing::-webkit-scrollbar-thumb{background:#9ca3af;border-radius:5px}</style>"
)


def draw(
    target: Any,
    *,
    highlight: str | None = None,
    prefix: str | None = None,
    max_nodes: int | None = None,
    legend: bool | None = None,
    engine: str | None = None,
) -> Drawing:
    """Draw the route tree of ``target``: an App (anything with a ``.router``) or a Router.

    ``highlight="GET /users/42"`` draws that lookup's path (the method defaults to GET);
    ``prefix="/repos"`` draws only the nodes under that pattern prefix (with their
    ancestors); ``max_nodes=40`` keeps the first 40 nodes breadth-first and summarises the
    rest; ``legend`` adds a key to the shapes and colours shown (None: with a highlight
    only); ``engine`` forces ``"dot"`` or ``"pygraphviz"`` for rendering.
    """
    router = _router_of(target)
    explanation = None
    request = ""
    if highlight is not None:
        method, path = _parse_highlight(highlight)
        explanation = router.explain(method, path)
        request = f"{method} {path}"
    wanted = _legend_wanted(legend, default=highlight is not None)
    view = tree_view(
        router.root, prefix=prefix, max_nodes=max_nodes, explanation=explanation, request=request
    )
    return Drawing(replace(view, legend=legend_entries(view) if wanted else ()), engine=engine)


def _legend_wanted(legend: bool | None, *, default: bool) -> bool:
    """Whether to draw a legend: ``legend``, or ``default`` when it is None."""
    if legend is not None and not isinstance(legend, bool):
        raise DrawError(f"legend must be True, False or None (the default), not {legend!r}")
    return default if legend is None else legend


def to_digraph(view: TreeView) -> graphviz.Digraph:
    """Build the ``graphviz.Digraph`` for a :class:`~asgilab.treeview.TreeView`."""
    import graphviz  # here, not at import time: serving an app never needs Graphviz

    graph = graphviz.Digraph("routes")
    # NOTE: ordering=out keeps each parent's children in the order their edges are
    # written, which is the matching order: the picture reads top to bottom as tried.
    graph.attr(rankdir="LR", ordering="out", nodesep="0.15", ranksep="0.35")
    graph.attr("node", fontname=_FONT, fontsize="11", height="0.3", style="filled")
    graph.attr("edge", fontname=_FONT, fontsize=_SMALL, arrowsize="0.6", color=_GREY)
    title = _title(view)
    if title:
        graph.attr(label=title, labelloc="t", labeljust="l", fontname=_FONT)
    steps = {}
    for node in view.nodes:
        graph.node(node.id, **_node_attrs(node))
        steps[node.id] = ", ".join(map(str, node.steps))
    for edge in view.edges:
        attrs = dict(_EDGE_STYLE.get(edge.state or "", {}))
        if steps[edge.head]:  # when the lookup tried the node, on the edge that led there
            attrs["label"] = steps[edge.head]
            attrs["fontcolor"] = attrs.get("color", _INK)
        graph.edge(edge.tail, edge.head, **attrs)
    return graph


def _node_attrs(node: ViewNode) -> dict[str, str]:
    attrs = dict(_KIND_STYLE[node.kind])
    attrs["label"] = _dot_text([node.text, *node.routes])
    if node.path:
        attrs["tooltip"] = _dot_text([node.path])
    if node.routes and node.kind != "summary":
        attrs["penwidth"] = "2"  # routes end here
    attrs.update(_STATE_STYLE.get(node.state or "", {}))
    if node.kind == "static" and "style" in _STATE_STYLE.get(node.state or "", {}):
        attrs["style"] = "rounded," + attrs["style"]
    return attrs


def _dot_text(lines: Iterable[str]) -> str:
    """Lines as one DOT label or tooltip, shown exactly as written.

    Graphviz reads entities in such text (``&#65;`` is ``A``), backslash codes (``\\N``
    is the node's name) and ``<...>`` as an HTML label: ``&`` goes in as ``&amp;``, a
    backslash doubled, and ``nohtml`` keeps ``<`` plain.
    """
    import graphviz

    escaped = (line.replace("&", "&amp;").replace("\\", "\\\\") for line in lines)
    return graphviz.nohtml("\\n".join(escaped))  # type: ignore[no-any-return]


def _title(view: TreeView) -> str:
    """The block above the tree, as a Graphviz HTML-like label: the caption, what the
    numbers on edges mean (when there are any), and the legend. Empty when there is none.

    An HTML-like label is Graphviz's only way to draw coloured boxes inside a label; its
    text is not read for backslash codes, only entities, so ``html.escape`` is all it needs.
    """
    rows = []
    lines = _caption_lines(view.caption)
    if lines:
        text = "".join(f'{html.escape(line)}<BR ALIGN="LEFT"/>' for line in lines)
        rows.append(f'<TR><TD ALIGN="LEFT">{text}</TD></TR>')
    steps = [node.steps for node in view.nodes if node.steps]
    if steps:
        note = "numbers on edges: the order the lookup tried the nodes, from 1"
        if any(len(numbers) > 1 for numbers in steps):
            note += "; two numbers: tried again after a backtrack"
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="{_SMALL}">{note}</FONT></TD></TR>')
    if view.legend:
        # One grid (Graphviz stretches a nested table to its cell: one table per row would
        # make every row as wide as the widest), the shapes first, then the colours.
        shapes = [key for key in view.legend if key not in _STATE_STYLE]
        colours = [key for key in view.legend if key in _STATE_STYLE]
        grid = "".join(
            "<TR>" + "".join(map(_legend_cell, keys[start : start + _LEGEND_PER_ROW])) + "</TR>"
            for keys in (shapes, colours)
            for start in range(0, len(keys), _LEGEND_PER_ROW)
        )
        rows.append(
            '<TR><TD ALIGN="LEFT"><TABLE BORDER="0" CELLSPACING="3" CELLPADDING="2">'
            f"{grid}</TABLE></TD></TR>"
        )
    if not rows:
        return ""
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _caption_lines(caption: str) -> list[str]:
    """The caption in lines a picture can hold: the result (``→ ...``) on a line of its
    own, and anything longer than :data:`_WRAP` characters wrapped at spaces."""
    if not caption:
        return []
    request, *results = caption.split(" → ")
    lines = []
    for part in [request, *(f"→ {result}" for result in results)]:
        lines += textwrap.wrap(part, _WRAP, break_long_words=False, break_on_hyphens=False)
    return lines


def _legend_style(key: str) -> dict[str, str]:
    """The DOT attributes of the node a legend entry stands for: one of that kind, or a
    static one ending a route, or a static one in that state."""
    if key in _KIND_STYLE:
        node = ViewNode("", key, "", "")
    elif key in ("routes", "dependencies"):  # the marker is text on a route's line
        node = ViewNode("", "static", "", "", routes=("",))
    else:
        node = ViewNode("", "static", "", "", state=key)
    return _node_attrs(node)


def _legend_cell(key: str) -> str:
    """One legend entry, as a table cell drawn like the nodes it explains."""
    attrs = _legend_style(key)
    kept = [word for word in ("rounded", "dashed") if word in attrs.get("style", "")]
    cell = {
        "BORDER": "2" if float(attrs.get("penwidth", "1")) >= 2 else "1",
        "COLOR": attrs.get("color", _INK),
        "BGCOLOR": attrs.get("fillcolor", "#ffffff"),
        **({"STYLE": ",".join(kept)} if kept else {}),
    }
    opening = " ".join(f'{name}="{value}"' for name, value in cell.items())
    font = f'POINT-SIZE="{_SMALL}" COLOR="{attrs.get("fontcolor", _INK)}"'
    return f"<TD {opening}><FONT {font}>{html.escape(_LEGEND_TEXT[key])}</FONT></TD>"


def _router_of(target: Any) -> _RouterLike:
    router = getattr(target, "router", target)
    if not hasattr(router, "root"):
        raise DrawError(
            f"draw() takes an App or a Router, not {type(target).__name__}: "
            "pass the object you add routes to"
        )
    return router  # type: ignore[no-any-return]


_HIGHLIGHT = re.compile(r"\s*(?:([A-Za-z]+)\s+)?(/\S*)\s*")


def _parse_highlight(highlight: str, what: str = "highlight") -> tuple[str, str]:
    """``"GET /users/42"`` -> ``("GET", "/users/42")``; the method defaults to GET."""
    found = _HIGHLIGHT.fullmatch(highlight)
    if found is None:
        raise DrawError(
            f"{what}={highlight!r} is not a request: write it as 'GET /users/42' "
            "(a method, a space, a path starting with '/')"
        )
    method, path = found.groups()
    # A request line may carry a query ("/users/42?x=1", as a trace shows it): the router
    # never sees it, so neither does the lookup.
    return (method or "GET").upper(), path.partition("?")[0].partition("#")[0]


def draw_steps(
    routes: Any, *, legend: bool | None = None, engine: str | None = None
) -> list[Drawing]:
    """One picture per insertion: how the tree grows, splits and compresses, route by route.

    ``routes`` is a Router or an App (its routes are replayed in registration order, its
    converters kept), or a list of ``"METHOD /path"`` strings (``"/path"`` means GET) or
    Routes. In each picture the nodes the insertion created are green and those it changed
    (a compressed run split, a route added) orange, and a legend says so (unless
    ``legend=False``). Routes given as text are named ``r1``, ``r2``... in insertion order.

    >>> pictures = draw_steps(["/users/events", "/users/{id:int}"])
    >>> [picture.view.caption for picture in pictures]
    ['step 1/2: GET /users/events', 'step 2/2: GET /users/{id:int}']
    >>> [(node.text, node.state) for node in pictures[1].view.nodes]
    [('root', None), ('users', 'added'), ('events', 'changed'), ('{id:int}', 'added')]
    """
    if isinstance(routes, str):
        routes = [routes]  # one route, not its characters one by one
    source = getattr(routes, "router", routes)
    fresh = Router()
    if isinstance(source, Router):
        fresh.converters.update(source.converters)
        routes = source.routes
    insertions: list[Route] = []
    for number, item in enumerate(routes, start=1):
        if isinstance(item, Route):
            insertions.append(item)
            continue
        method, path = _parse_highlight(str(item), what="route")
        insertions.append(Route(path, _placeholder(f"r{number}"), frozenset({method}), None))

    wanted = _legend_wanted(legend, default=True)
    pictures: list[Drawing] = []
    before: TreeView | None = None
    for number, route in enumerate(insertions, start=1):
        # A name that is the endpoint's own was derived, not given: passing it would make
        # it explicit, and the router refuses an explicit name reused at another path.
        derived = route.name == getattr(route.endpoint, "__name__", None)
        name = None if derived else route.name
        fresh.add(route.path, route.endpoint, route.methods, name, route.extras)
        methods = ", ".join(sorted(route.methods))
        caption = f"step {number}/{len(insertions)}: {methods} {route.path}"
        view = tree_view(fresh.root, caption=caption)
        marked = mark_changes(before, view)
        marked = replace(marked, legend=legend_entries(marked) if wanted else ())
        pictures.append(Drawing(marked, engine=engine))
        before = view
    return pictures


def _placeholder(name: str) -> Any:
    """An endpoint that only carries a name, for routes given as text."""

    async def endpoint(request: Any) -> None:
        return None

    endpoint.__name__ = endpoint.__qualname__ = name
    return endpoint
