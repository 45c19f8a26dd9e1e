"""The router in words: a lookup narrated step by step, and the tree printed as text.

:meth:`Router.explain <asgilab.router.Router.explain>` and ``str(router)`` come from here.
They only *read* the tree of :mod:`asgilab.tree`, so the tree module stays about
building and matching, and this one about showing. The drawing
(:mod:`asgilab.treeview`, :mod:`asgilab.draw`) highlights the nodes of the same steps.

There is one walk, the tree's own: :class:`Narration` is the :class:`~asgilab.tree.Miss`
it reports to, and puts each report in words. The walk reports where it fails (a child
rejected, a path that ends without the method, a backtrack) and where it succeeds, never
where it goes straight down, which is what keeps ``match`` fast: the narration tells the
nodes entered since its last step when the next report comes, following the parent links.

>>> from asgilab.router import Router
>>> router = Router()
>>> _ = router.add("/users/{id:int}", lambda request: None, name="user")
>>> _ = router.add("/users/{name}/x", lambda request: None, name="x")
>>> print(router.explain("GET", "/users/bob"))
GET /users/bob
  enter     /: segments ['users', 'bob']
  enter     users: static 'users'
  reject    {id:int}: {id:int} rejects 'bob'
  enter     {name}: {name} accepts 'bob'
  reject    {name}: path ends here; no GET route (methods: none)
  backtrack {name}: nothing fits below '{name}'; back to 'users'
  backtrack users: nothing fits below 'users'; back to '/'
  miss      /: no route matches GET /users/bob
>>> print(router)
<root>
└── /users
    ├── /{id:int}  GET user
    └── /{name}
        └── /x  GET x
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .routes import Route
from .tree import Match, Miss, Node, Tree, split_path
from .treeview import dependency_marker

__all__ = [
    "Action",
    "Explanation",
    "Narration",
    "Step",
    "explain_lookup",
    "tree_text",
]

Action = Literal["enter", "reject", "backtrack", "match", "miss"]


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a lookup, as :meth:`Router.explain <asgilab.router.Router.explain>` narrates it.

    ``node`` is a node of the router's tree itself (identity), so a drawing can highlight it.
    """

    node: Node
    action: Action
    detail: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """The lookup of one request, step by step, and its result (the same as ``match``'s)."""

    method: str
    path: str
    steps: list[Step]
    match: Match | None

    def __str__(self) -> str:
        lines = [f"{self.method} {self.path}"]
        lines += [f"  {s.action:<9} {s.node.label or '/'}: {s.detail}" for s in self.steps]
        return "\n".join(lines)


class Narration(Miss):
    """A walk of the tree told step by step: the steps of :meth:`Router.explain`."""

    def __init__(self, method: str, path: str, segments: list[str], root: Node) -> None:
        super().__init__(method, path, segments)
        self.steps: list[Step] = []
        # The nodes the narration has the walk inside, root first, each with the index of
        # the segment the walk reads there. The walk may be deeper: it reports no descent.
        self.trail: list[tuple[Node, int]] = [(root, 1)]

    def catch_up(self, node: Node) -> None:
        """Narrate the nodes the walk entered since the last step, down to ``node``."""
        way = []
        inside = self.trail[-1][0]
        while node is not inside and node.parent is not None:
            way.append(node)
            node = node.parent
        segments = self.segments
        for child in reversed(way):
            i = self.trail[-1][1]
            if child.kind == "static":
                detail, after = f"static {child.label!r}", i + child.width
            elif child.kind == "catch_all":
                rest = "/".join(segments[i:])
                detail, after = f"{child.label} takes {rest!r}", len(segments)
            else:
                detail, after = f"{child.label} accepts {segments[i]!r}", i + 1
            self.steps.append(Step(child, "enter", detail))
            self.trail.append((child, after))

    def rejected(self, child: Node, i: int) -> None:
        if child.parent is not None:
            self.catch_up(child.parent)
        if child.kind == "static":
            wanted = "/".join(self.segments[i : i + child.width])
            detail = f"static {child.label!r} does not match {wanted!r}"
        else:
            detail = f"{child.label} rejects {self.segments[i]!r}"
        self.steps.append(Step(child, "reject", detail))
        super().rejected(child, i)

    def ended(self, node: Node, values: list[Any] | None) -> None:
        self.catch_up(node)
        have = ",".join(sorted(node.methods)) or "none"
        detail = f"path ends here; no {self.method} route (methods: {have})"
        self.steps.append(Step(node, "reject", detail))
        super().ended(node, values)

    def backtracked(self, node: Node, i: int, to: Node | None) -> None:
        self.catch_up(node)
        # Out of each node between here and `to` (the root when the walk gives up).
        while len(self.trail) > 1 and self.trail[-1][0] is not to:
            left = self.trail.pop()[0]
            parent = self.trail[-1][0]
            detail = f"nothing fits below {left.label!r}; back to {parent.label or '/'!r}"
            self.steps.append(Step(left, "backtrack", detail))
        super().backtracked(node, i, to)

    def matched(self, node: Node, route: Route) -> bool:
        self.catch_up(node)
        self.steps.append(Step(node, "match", f"{self.method} -> {route!r}"))
        return True


def explain_lookup(tree: Tree, method: str, path: str) -> Explanation:
    """Walk ``tree`` (a Router is one) for ``method path`` and narrate every step.

    What :meth:`Router.explain <asgilab.router.Router.explain>` returns: the walk is the
    one ``match`` takes, so both find the same route; the static fast path of ``match``
    (a dict of whole static paths) is not narrated: the walk finds the same route.
    """
    segments = split_path(path)
    root = tree.root
    narration = Narration(method, path, segments, root)
    if not segments[0]:
        narration.steps.append(Step(root, "enter", f"segments {segments[1:]!r}"))
    found = tree.lookup(method, path, narration)
    match = found if isinstance(found, Match) else None
    if match is None:
        narration.steps.append(Step(root, "miss", f"no route matches {method} {path}"))
    return Explanation(method, path, narration.steps, match)


def tree_text(root: Node) -> str:
    """The tree below ``root``, one node per line, with the routes that end at each node.

    What ``str(router)`` prints; children appear in the order matching tries them. A route
    with dependencies names them in brackets, as the drawing does (``GET me [auth]``, see
    :func:`asgilab.treeview.dependency_marker`).
    """
    lines = ["<root>"]
    # The nodes still to print, the next on top, each with its indent and whether it is
    # its parent's last child: a stack, not recursion, so that a route of any depth prints.
    todo: list[tuple[Node, str, bool]] = []

    def push_children(node: Node, indent: str) -> None:
        children = node.children
        for index in reversed(range(len(children))):
            todo.append((children[index], indent, index == len(children) - 1))

    push_children(root, "")
    while todo:
        node, indent, last = todo.pop()
        mounted = mount_of(node)
        if mounted is not None:
            # A mount's two routes, the prefix and the catch-all below it, are one line.
            routes = f"mount {app_name(mounted)}"
        else:
            routes = ", ".join(
                f"{m} {r.name or '?'}{dependency_marker(r)}" for m, r in sorted(node.routes.items())
            )
        lines.append(
            f"{indent}{'└── ' if last else '├── '}/{node.label}" + (f"  {routes}" if routes else "")
        )
        if mounted is None:
            push_children(node, indent + ("    " if last else "│   "))
        else:
            children = [c for c in node.children if mount_of(c) is not mounted]
            for index in reversed(range(len(children))):
                more = indent + ("    " if last else "│   ")
                todo.append((children[index], more, index == len(children) - 1))
    return "\n".join(lines)


def mount_of(node: Node) -> object | None:
    """The ASGI app mounted at ``node`` (see :meth:`Router.mount
    <asgilab.router.Router.mount>`), or None when its routes are not a mount's."""
    for route in node.routes.values():
        app: object = route.extras.get("mount")
        if app is not None:
            return app
    return None


def app_name(app: object) -> str:
    """A mounted app as listings name it: its function's or its class's name."""
    name = getattr(app, "__qualname__", None)
    return name if isinstance(name, str) else type(app).__qualname__
