"""The route tree as plain data: what the drawing shows, before any Graphviz is involved.

A :class:`TreeView` is a flat list of nodes and edges, in the order the router tries them,
each node carrying the text to show, its kind, the routes that end there and, for a lookup,
what happened to it. The drawing (``asgilab.draw``) turns it into DOT; tests assert on it
directly. Keeping this step apart means the picture's *content* is checked without parsing
SVG, and the same data could feed a text or HTML view.

It reads any tree of nodes that have ``kind``, ``label`` (the segment as the route wrote
it: ``{name}``, ``{id:int}``), ``children`` (priority order) and ``routes`` (method -> route),
as :class:`asgilab.tree.Node` does:

>>> from types import SimpleNamespace as N
>>> user = N(kind="param", label="{id:int}", children=[], routes={"GET": N(name="user")})
>>> name = N(kind="param", label="{name}", children=[], routes={"GET": N(name="by_name")})
>>> users = N(kind="static", label="users", children=[user, name], routes={})
>>> root = N(kind="root", label="", children=[users], routes={})
>>> view = tree_view(root)
>>> for node in view.nodes:
...     print(node.id, node.kind, repr(node.text), repr(node.path), node.routes)
n0 root 'root' '' ()
n1 static 'users' '/users' ()
n2 param '{id:int}' '/users/{id:int}' ('GET user',)
n3 param '{name}' '/users/{name}' ('GET by_name',)
>>> [(edge.tail, edge.head, edge.priority) for edge in view.edges]
[('n0', 'n1', 1), ('n1', 'n2', 1), ('n1', 'n3', 2)]

A lookup (``router.explain``'s steps) numbers the nodes it tried, in the order it tried them:
the picture writes each number on the edge into the node. ``/users/bob``: ``users`` first,
then ``{id:int}`` (which rejects ``bob``), then ``{name}``:

>>> steps = [N(node=root, action="enter"), N(node=users, action="enter"),
...          N(node=user, action="reject"), N(node=name, action="enter"),
...          N(node=name, action="match")]
>>> match = N(route=N(path="/users/{name}", name="by_name"), params={"name": "bob"})
>>> lookup = tree_view(root, explanation=N(steps=steps, match=match), request="GET /users/bob")
>>> lookup.caption
"GET /users/bob → /users/{name} (by_name) {'name': 'bob'}"
>>> for node in lookup.nodes:
...     print(f"{node.text:10} {node.state:10} {node.steps}")
root       entered    ()
users      entered    (1,)
{id:int}   rejected   (2,)
{name}     matched    (3,)
>>> legend_entries(lookup)
('static', 'param', 'routes', 'entered', 'rejected', 'matched')

A route that depends on functions (``extras["dependencies"]``, and its handler's
``Depends(...)`` parameters) names them after its line, and the legend explains the marker:

>>> async def auth(request): ...
>>> me = N(kind="static", label="me", children=[],
...        routes={"GET": N(name="me", extras={"dependencies": (auth,)})})
>>> view = tree_view(N(kind="root", label="", children=[me], routes={}))
>>> view.node("/me").routes, view.node("/me").has_dependencies
(('GET me [auth]',), True)
>>> legend_entries(view)
('static', 'routes', 'dependencies')
"""

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .dependencies import Dependency
from .errors import AsgilabError

__all__ = [
    "HIGHLIGHT_STATES",
    "KINDS",
    "DrawError",
    "NodeNotFound",
    "TreeView",
    "ViewEdge",
    "ViewNode",
    "count",
    "dependency_marker",
    "dependency_names",
    "legend_entries",
    "mark_changes",
    "tree_view",
]

#: Node kinds: the router's five, ``mount`` for where an ASGI app is mounted (its
#: catch-all below is not drawn: the mounted app routes for itself), plus ``summary`` for
#: the nodes a cap leaves out.
KINDS = ("root", "static", "mixed", "param", "catch_all", "mount", "summary")

#: What a lookup did to a node, weakest first: a node tried several times shows the strongest.
#: ``added`` and ``changed`` are the step-by-step view's (the last insertion's effect).
HIGHLIGHT_STATES = ("entered", "backtracked", "rejected", "missed", "matched", "added", "changed")

# explain()'s actions, named as states of the node they happened at.
_ACTION_STATES = {
    "enter": "entered",
    "reject": "rejected",
    "backtrack": "backtracked",
    "miss": "missed",
    "match": "matched",
}

# The order methods are listed in on a node: the usual reading order, then the rest A-Z.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# A route line names at most this many dependencies; the rest are counted ("+2").
_MAX_DEPENDENCIES = 3


class DrawError(AsgilabError, ValueError):
    """A drawing was asked for something that is not in the tree (a prefix, a bad cap)."""


class NodeNotFound(AsgilabError, KeyError):
    """:meth:`TreeView.node` was asked for a path that no node of the view stands for."""


class _Route(Protocol):
    @property
    def name(self) -> str | None: ...


class _Node(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def children(self) -> Sequence[Any]: ...
    @property
    def routes(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ViewNode:
    """One box in the picture."""

    id: str  # the DOT node id: "n0" is the root, then breadth-first in priority order
    kind: str  # one of KINDS
    text: str  # the segment text, in pattern syntax ("users/events", "{id:int}")
    path: str  # the pattern prefix the node stands for ("/users/{id:int}")
    routes: tuple[str, ...] = ()  # "GET, HEAD user": one line per route ending here
    state: str | None = None  # one of HIGHLIGHT_STATES, or None when untouched
    # When the lookup tried this node, counting from 1 for the first edge it followed: one
    # number per time the walk went down the edge into it (two after a backtrack and retry).
    steps: tuple[int, ...] = ()
    # Whether a route line here names the route's dependencies ("GET me [auth]").
    has_dependencies: bool = False


@dataclass(frozen=True, slots=True)
class ViewEdge:
    """A parent -> child link; ``priority`` is the child's place in the matching order."""

    tail: str
    head: str
    priority: int  # 1 for the child the router tries first
    state: str | None = None  # the head's state when the lookup went down this edge


@dataclass(frozen=True, slots=True)
class TreeView:
    """The whole picture as data: nodes and edges in drawing order, a caption, and what the
    legend explains (empty: no legend; see :func:`legend_entries`)."""

    nodes: tuple[ViewNode, ...]
    edges: tuple[ViewEdge, ...]
    caption: str = ""
    legend: tuple[str, ...] = ()

    def node(self, path: str) -> ViewNode:
        """The node standing for ``path`` (a pattern prefix such as ``/users/{id:int}``)."""
        for node in self.nodes:
            if node.path == path and node.kind != "summary":
                return node
        raise NodeNotFound(path)


def tree_view(
    root: _Node,
    *,
    prefix: str | None = None,
    max_nodes: int | None = None,
    explanation: Any = None,
    request: str = "",
    caption: str = "",
) -> TreeView:
    """Flatten the tree under ``root`` into a :class:`TreeView`.

    ``prefix`` keeps the nodes whose pattern starts with it (and their ancestors, so the
    picture still shows where the subtree hangs). ``max_nodes`` keeps the first nodes in
    breadth-first priority order, so the upper levels stay whole, and hangs one summary node
    under each parent whose children were cut. ``explanation`` (from ``router.explain``)
    marks what the lookup did to each node, and the caption says how the lookup of
    ``request`` (``"GET /users/42"``) ended; otherwise the caption is ``caption``.
    """
    if max_nodes is not None and (isinstance(max_nodes, bool) or max_nodes < 1):
        raise DrawError(f"max_nodes must be a positive number of nodes, not {max_nodes!r}")
    paths = _paths(root)
    keep = _selection(root, paths, prefix)
    states, steps, failed = _lookup_marks(explanation)
    if explanation is not None:
        caption = _lookup_caption(request, explanation, failed, paths)

    # Breadth-first, children in priority order: ids follow the order the router tries nodes.
    nodes: list[ViewNode] = []
    edges: list[ViewEdge] = []
    ids: dict[int, str] = {}
    queue: deque[tuple[_Node, str | None, int]] = deque([(root, None, 0)])
    # parent id -> the children the cap left out, with the first one's priority
    cut: dict[str, tuple[int, list[_Node]]] = {}
    while queue:
        node, parent_id, priority = queue.popleft()
        if parent_id is not None and max_nodes is not None and len(nodes) >= max_nodes:
            cut.setdefault(parent_id, (priority, []))[1].append(node)
            continue
        node_id = ids[id(node)] = f"n{len(nodes)}"
        state = states.get(id(node))
        mounted = _mounted(node)
        nodes.append(
            ViewNode(
                id=node_id,
                kind=node.kind if mounted is None else "mount",
                text=_text(node),
                path=paths[id(node)],
                routes=_route_lines(node.routes) if mounted is None else (f"mount {mounted}",),
                state=state,
                steps=tuple(steps.get(id(node), ())),
                has_dependencies=mounted is None
                and any(dependency_names(route) for route in node.routes.values()),
            )
        )
        if parent_id is not None:
            edges.append(ViewEdge(parent_id, node_id, priority, state))
        for place, child in enumerate(node.children, start=1):
            if id(child) in keep and (mounted is None or _mounted(child) is None):
                queue.append((child, node_id, place))

    for parent_id, (priority, children) in cut.items():
        hidden = [n for child in children for n in _walk(child) if id(n) in keep]
        routes = sum(len({id(r) for r in n.routes.values()}) for n in hidden)
        # A lookup that went into the hidden part shows on the summary, as strongly as
        # it touched any node there: a match folded away is still seen to be a match.
        touched = [states[id(n)] for n in hidden if id(n) in states]
        state = max(touched, key=HIGHLIGHT_STATES.index) if touched else None
        summary_id = f"{parent_id}_more"
        nodes.append(
            ViewNode(
                id=summary_id,
                kind="summary",
                text=f"+{count(len(hidden), 'more node')}",
                path="",
                routes=(count(routes, "route"),) if routes else (),
                state=state,
            )
        )
        edges.append(ViewEdge(parent_id, summary_id, priority, state))
    return TreeView(tuple(nodes), tuple(edges), caption)


def mark_changes(before: TreeView | None, after: TreeView) -> TreeView:
    """Mark what one insertion did: nodes with a new pattern ``added``, the rest of those
    whose text or routes differ ``changed`` (a split shortens an existing node's text)."""
    old = {node.path: node for node in before.nodes} if before is not None else {}
    marked = []
    for node in after.nodes:
        previous = old.get(node.path)
        if node.kind == "summary":
            state = None
        elif previous is None:
            state = "added"
        elif (previous.text, previous.routes) != (node.text, node.routes):
            state = "changed"
        else:
            state = None
        marked.append(replace(node, state=state))
    states = {node.id: node.state for node in marked}
    edges = tuple(replace(edge, state=states[edge.head]) for edge in after.edges)
    return replace(after, nodes=tuple(marked), edges=edges)


def legend_entries(view: TreeView) -> tuple[str, ...]:
    """What a legend for ``view`` explains: what the picture shows, and nothing else.

    The node kinds present (the root explains itself), ``routes`` when some node ends
    routes (its thick border), ``dependencies`` when some route line names its
    dependencies (``GET me [auth]``), then the states present, each in :data:`KINDS` and
    :data:`HIGHLIGHT_STATES` order.
    """
    kinds = {node.kind for node in view.nodes}
    states = {node.state for node in view.nodes}
    ends = any(node.routes for node in view.nodes if node.kind != "summary")
    depends = any(node.has_dependencies for node in view.nodes if node.kind != "summary")
    return (
        *(kind for kind in KINDS[1:] if kind in kinds),
        *(("routes",) if ends else ()),
        *(("dependencies",) if depends else ()),
        *(state for state in HIGHLIGHT_STATES if state in states),
    )


def dependency_names(route: Any) -> tuple[str, ...]:
    """The names of the functions ``route`` depends on, each once, in the order declared.

    Its ``extras["dependencies"]`` first (its router's, then its own: they run first),
    then the functions its handler's ``Depends(...)`` parameters name, when the route has
    a handler prepared by an App (a bare Router's routes have none: only their extras show).
    The dependencies *those* need are theirs, not the route's: they are not listed.

    >>> from types import SimpleNamespace as N
    >>> from asgilab.dependencies import Depends
    >>> async def auth(request): ...
    >>> dependency_names(N(name="me", extras={"dependencies": (auth, Depends(auth))}))
    ('auth',)
    >>> dependency_names(N(name="health"))
    ()
    """
    extras = getattr(route, "extras", None) or {}
    funcs = [d.func if isinstance(d, Dependency) else d for d in extras.get("dependencies", ())]
    # The App's Handler: its plan's handler_depends are (parameter, step) pairs.
    plan = getattr(getattr(route, "handler", None), "plan", None)
    if plan is not None:
        funcs += [plan.steps[at].func for _, at in plan.handler_depends]
    return tuple(dict.fromkeys(map(_function_name, funcs)))


def dependency_marker(route: Any) -> str:
    """What a route line ends with when ``route`` has dependencies: their names in
    brackets, at most three and then how many more; "" without any.

    >>> from types import SimpleNamespace as N
    >>> funcs = []
    >>> for name in "abcde":
    ...     def func(request): ...
    ...     func.__name__ = name
    ...     funcs.append(func)
    >>> dependency_marker(N(extras={"dependencies": tuple(funcs[:2])}))
    ' [a, b]'
    >>> dependency_marker(N(extras={"dependencies": tuple(funcs)}))
    ' [a, b, c +2]'
    >>> dependency_marker(N(extras={}))
    ''
    """
    names = dependency_names(route)
    if not names:
        return ""
    more = len(names) - _MAX_DEPENDENCIES
    return f" [{', '.join(names[:_MAX_DEPENDENCIES])}{f' +{more}' if more > 0 else ''}]"


def _function_name(func: Any) -> str:
    """A function's own name (not its qualified one: a route line stays short); a
    callable object's class name."""
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) else type(func).__name__


def count(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless one: the captions' counts.

    >>> count(1, "route"), count(3, "more node")
    ('1 route', '3 more nodes')
    """
    return f"{number} {noun}{'s' * (number != 1)}"


def _walk(node: _Node) -> Iterable[_Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node: _Node) -> str:
    """What the box says: the label, as the route wrote it (``{name}``, ``{id:int}``)."""
    # NOTE: not rebuilt from the node's param and converter: that would print `{name:str}`
    # where the user wrote `{name}`, and the reader would look for code that is not theirs.
    if node.kind == "root":
        return "root"
    if node.kind == "static" and not node.label:
        return "/"  # the empty segment after a trailing slash: /users/ is users, then ""
    return node.label


def _paths(root: _Node) -> dict[int, str]:
    """Each node's pattern prefix: its ancestors' labels joined by '/', as written in routes."""
    paths = {id(root): ""}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.children:
            paths[id(child)] = f"{paths[id(node)]}/{child.label}"
            stack.append(child)
    return paths


def _selection(root: _Node, paths: Mapping[int, str], prefix: str | None) -> set[int]:
    """The ids of the nodes to draw: all, or those under ``prefix`` and their ancestors."""
    if prefix is None:
        return {id(node) for node in _walk(root)}
    wanted = "/" + prefix.strip("/") if prefix.strip("/") else ""
    keep: set[int] = set()

    def visit(node: _Node) -> bool:
        path = paths[id(node)]
        # Whole segments: "/user" holds /user/x, not /users.
        inside = not wanted or path == wanted or path.startswith(wanted + "/")
        # Every child is visited (no short-circuit): each may hold part of the subtree.
        below = [visit(child) for child in node.children]
        if inside or any(below):
            keep.add(id(node))
            return True
        return False

    visit(root)
    if not any(paths[i].startswith(wanted) for i in keep):
        top = ", ".join(paths[id(child)] for child in root.children) or "(none)"
        raise DrawError(f"no route pattern starts with {prefix!r}; the tree starts with: {top}")
    return keep


def _mounted(node: _Node) -> str | None:
    """The name of the ASGI app mounted at ``node`` (``extras["mount"]`` of its routes)."""
    for route in node.routes.values():
        app = getattr(route, "extras", {}).get("mount")
        if app is not None:
            name = getattr(app, "__qualname__", None)
            return name if isinstance(name, str) else type(app).__qualname__
    return None


def _route_lines(routes: Mapping[str, Any]) -> tuple[str, ...]:
    """One line per route ending at a node: its methods, its name, then its dependencies
    (``GET me [auth]``, see :func:`dependency_marker`)."""
    # Keyed by identity: the drawing takes any route-like object, hashable or not.
    methods: dict[int, list[str]] = {}
    by_id: dict[int, _Route] = {}
    for method, route in routes.items():
        methods.setdefault(id(route), []).append(method)
        by_id[id(route)] = route

    def rank(method: str) -> tuple[int, str]:
        known = method in _METHOD_ORDER
        return (_METHOD_ORDER.index(method) if known else len(_METHOD_ORDER), method)

    lines = []
    for key, names in methods.items():
        ordered = sorted(names, key=rank)
        route = by_id[key]
        text = f"{', '.join(ordered)} {route.name or '?'}{dependency_marker(route)}"
        lines.append((rank(ordered[0]), text))
    return tuple(line for _, line in sorted(lines))


def _lookup_marks(explanation: Any) -> tuple[dict[int, str], dict[int, list[int]], Any]:
    """Per node (by identity): the strongest state the lookup left, and when it was tried;
    and, for a miss, the node where it failed."""
    states: dict[int, str] = {}
    tries: dict[int, list[int]] = {}
    if explanation is None:
        return states, tries, None
    failed = None
    entered: set[int] = set()
    # The nodes the walk is inside, root first: a backtrack leaves the last one.
    inside: list[int] = []
    number = 0  # the tries so far
    # A node the walk entered and then rejected although routes end there: the path ended
    # on it, but not one of its methods fits (the App's 405). That is where it failed.
    wrong_method = None
    for step in explanation.steps:
        here = id(step.node)
        # NOTE: explain() narrates more than the tries: entering the root (no edge leads
        # there), a rejection *at* the node the walk is in (the path ends there, no route
        # fits), a backtrack, the match, the miss. Numbering every step made the edges start
        # at 2 and carry pairs ("3, 4": entered, then matched). Only a child entered or
        # rejected from its parent is a try: one number per time an edge was followed.
        tried = step.action == "enter" and bool(inside)
        tried |= step.action == "reject" and (not inside or inside[-1] != here)
        if tried:
            number += 1
            tries.setdefault(here, []).append(number)
        if step.action == "enter":
            failed = step.node
            entered.add(here)
            inside.append(here)
        elif step.action == "backtrack" and here in inside:
            del inside[inside.index(here) :]
        elif step.action == "reject" and here in entered and step.node.routes:
            wrong_method = step.node
        state = _ACTION_STATES.get(step.action)
        # The router reports a miss once, at the root, after backtracking all the way; the
        # useful place to show is where the walk got to last: the last node it entered.
        if state is None or step.action == "miss":
            continue
        old = states.get(here)
        if old is None or HIGHLIGHT_STATES.index(state) > HIGHLIGHT_STATES.index(old):
            states[here] = state
    if explanation.match is not None:
        return states, tries, None
    failed = wrong_method or failed
    if failed is None:  # not even the root was entered (a path without a leading '/')
        failed = next((step.node for step in explanation.steps), None)
    if failed is not None:
        states[id(failed)] = "missed"
    return states, tries, failed


def _lookup_caption(request: str, explanation: Any, failed: Any, paths: Mapping[int, str]) -> str:
    """``GET /users/42 → /users/{id:int} (user) {'id': 42}``, or where and why it missed."""
    match = explanation.match
    if match is not None:
        route = match.route
        params = f" {match.params}" if getattr(match, "params", None) else ""
        return f"{request} → {route.path} ({route.name}){params}"
    if failed is None:
        return f"{request} → no match"
    where = paths.get(id(failed), "") or "/"
    # The router's reason at that node, when it gave one (e.g. "no GET route (methods: POST)").
    reasons = [
        step.detail
        for step in explanation.steps
        if step.node is failed and step.action in ("reject", "miss") and step.detail
    ]
    return f"{request} → no match; stopped at {where}" + (f": {reasons[-1]}" if reasons else "")
