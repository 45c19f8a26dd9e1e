"""Draw the live route tree with Graphviz, and the path one lookup takes through it.

``draw(app)`` returns a :class:`Drawing`: in JupyterLab it displays itself as SVG; elsewhere
``.source`` is the DOT text, ``.svg()`` the picture and ``.save("tree.svg")`` a file.
Reading left to right, each box is a node of the radix tree, and a parent's children are
stacked top to bottom in the order the router tries them. The shape says the kind:

- rounded box: static text (a compressed run of segments is one box);
- ellipse, blue: a parameter, ``{name:converter}``;
- hexagon, amber: a segment mixing text and parameters, ``{name}.{ext}``;
- octagon, pink: a catch-all, ``{rest:path}``;
- a thick border and extra lines (``GET, HEAD user``): routes end there;
- a dashed note (``+12 more nodes``): what ``max_nodes`` left out below that parent.

With ``highlight="GET /users/42"`` the lookup from ``router.explain`` is drawn over it: visited
nodes and edges blue, numbered by step, backtracks orange, rejections dashed red, the
matched node green, and a miss red where it failed.

The work is in two steps (STYLE.md point 8): :func:`asgilab.treeview.tree_view` turns the tree
into plain data, and :func:`to_digraph` turns that into a ``graphviz.Digraph``. Rendering goes
through :mod:`asgilab.render`, which works with or without the ``dot`` executable: a raw
``Digraph`` is never handed to Jupyter, because it can only render with ``dot``.

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

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .render import FORMATS
from .render import render as render_dot
from .treeview import DrawError, TreeView, ViewNode, count, mark_changes, tree_view

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

__all__ = ["Drawing", "draw", "draw_steps", "to_digraph"]

# Styles per node kind. NOTE: every node gets an explicit `label` (see _node_attrs): with
# pygraphviz 2.0.4's bundled Graphviz, the first render in a process leaves nodes that rely
# on the default label (their name) blank when any other node has an explicit one.
_KIND_STYLE: Mapping[str, Mapping[str, str]] = {
    "root": {"shape": "box", "fillcolor": "#374151", "fontcolor": "#ffffff"},
    "static": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "param": {"shape": "ellipse", "fillcolor": "#dbeafe", "color": "#475569"},
    "mixed": {"shape": "hexagon", "fillcolor": "#fef3c7", "color": "#b45309"},
    "catch_all": {"shape": "octagon", "fillcolor": "#fce7f3", "color": "#be185d"},
    "summary": {
        "shape": "note",
        "style": "dashed",
        "fontcolor": "#6b7280",
        "color": "#9ca3af",
    },
}

# What a lookup (or an insertion, in draw_steps) did, drawn over the kind's style.
_STATE_STYLE: Mapping[str, Mapping[str, str]] = {
    "entered": {"color": "#2563eb", "penwidth": "2.5"},
    "rejected": {"color": "#dc2626", "penwidth": "2", "style": "dashed,filled"},
    "backtracked": {"color": "#ea580c", "penwidth": "2.5"},
    "missed": {"color": "#dc2626", "penwidth": "3", "fillcolor": "#fee2e2"},
    "matched": {"color": "#15803d", "penwidth": "3", "fillcolor": "#bbf7d0"},
    "added": {"color": "#15803d", "penwidth": "2.5", "fillcolor": "#bbf7d0"},
    "changed": {"color": "#ea580c", "penwidth": "2.5", "fillcolor": "#ffedd5"},
}
_EDGE_STYLE: Mapping[str, Mapping[str, str]] = {
    "entered": {"color": "#2563eb", "penwidth": "2"},
    "rejected": {"color": "#dc2626", "style": "dashed"},
    "backtracked": {"color": "#ea580c", "penwidth": "2", "style": "dashed"},
    "missed": {"color": "#dc2626", "penwidth": "2"},
    "matched": {"color": "#15803d", "penwidth": "2.5"},
    "added": {"color": "#15803d", "penwidth": "2"},
    "changed": {"color": "#ea580c", "penwidth": "2"},
}

_FONT = "Helvetica"


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

    # Jupyter asks for the richest representation it knows: SVG, and text for the console.
    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        return {"image/svg+xml": self.svg(), "text/plain": repr(self)}

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


def draw(
    target: Any,
    *,
    highlight: str | None = None,
    prefix: str | None = None,
    max_nodes: int | None = None,
    engine: str | None = None,
) -> Drawing:
    """Draw the route tree of ``target``: an App (anything with a ``.router``) or a Router.

    ``highlight="GET /users/42"`` draws that lookup's path (the method defaults to GET);
    ``prefix="/repos"`` draws only the nodes under that pattern prefix (with their
    ancestors); ``max_nodes=40`` keeps the first 40 nodes breadth-first and summarises the
    rest; ``engine`` forces ``"dot"`` or ``"pygraphviz"`` for rendering.
    """
    router = _router_of(target)
    explanation = None
    request = ""
    if highlight is not None:
        method, path = _parse_highlight(highlight)
        explanation = router.explain(method, path)
        request = f"{method} {path}"
    view = tree_view(
        router.root, prefix=prefix, max_nodes=max_nodes, explanation=explanation, request=request
    )
    return Drawing(view, engine=engine)


def to_digraph(view: TreeView) -> graphviz.Digraph:
    """Build the ``graphviz.Digraph`` for a :class:`~asgilab.treeview.TreeView`."""
    import graphviz  # here, not at import time: serving an app never needs Graphviz

    graph = graphviz.Digraph("routes")
    # NOTE: ordering=out keeps each parent's children in the order their edges are
    # written, which is the matching order: the picture reads top to bottom as tried.
    graph.attr(rankdir="LR", ordering="out", nodesep="0.15", ranksep="0.35")
    graph.attr("node", fontname=_FONT, fontsize="11", height="0.3", style="filled")
    graph.attr("edge", fontname=_FONT, fontsize="9", arrowsize="0.6", color="#6b7280")
    if view.caption:
        graph.attr(label=_dot_text([view.caption]), labelloc="t", labeljust="l", fontname=_FONT)
    steps = {}
    for node in view.nodes:
        graph.node(node.id, **_node_attrs(node))
        steps[node.id] = ", ".join(map(str, node.steps))
    for edge in view.edges:
        attrs = dict(_EDGE_STYLE.get(edge.state or "", {}))
        if steps[edge.head]:  # the lookup's step numbers, on the edge that led there
            attrs["label"] = steps[edge.head]
            attrs["fontcolor"] = attrs.get("color", "#000000")
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


def draw_steps(routes: Any, *, engine: str | None = None) -> list[Drawing]:
    """One picture per insertion: how the tree grows, splits and compresses, route by route.

    ``routes`` is a Router or an App (its routes are replayed in registration order, its
    converters kept), or a list of ``"METHOD /path"`` strings (``"/path"`` means GET) or
    Routes. In each picture the nodes the insertion created are green and those it changed
    (a compressed run split, a route added) orange. Routes given as text are named ``r1``,
    ``r2``... in insertion order.

    >>> pictures = draw_steps(["/users/events", "/users/{id:int}"])
    >>> [picture.view.caption for picture in pictures]
    ['step 1/2: GET /users/events', 'step 2/2: GET /users/{id:int}']
    >>> [(node.text, node.state) for node in pictures[1].view.nodes]
    [('root', None), ('users', 'added'), ('events', 'changed'), ('{id:int}', 'added')]
    """
    from .router import Route, Router  # here: asgilab.router imports nothing of the drawing

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
        pictures.append(Drawing(mark_changes(before, view), engine=engine))
        before = view
    return pictures


def _placeholder(name: str) -> Any:
    """An endpoint that only carries a name, for routes given as text."""

    async def endpoint(request: Any) -> None:
        return None

    endpoint.__name__ = endpoint.__qualname__ = name
    return endpoint
