"""The router in words: a lookup narrated step by step, and the tree printed as text.

:meth:`Router.explain <asgilab.router.Router.explain>` and ``str(router)`` come from here.
They only *read* the tree that :mod:`asgilab.router` builds, so the router module stays
about building and matching, and this one about showing. The drawing
(:mod:`asgilab.treeview`, :mod:`asgilab.draw`) highlights the nodes of the same steps.

The narrating walker is a plain recursive search that tries the children of each node in
the order :meth:`Router.match <asgilab.router.Router.match>` does, and records every
step, including the children it rejects and the branches it backs out of. It is slower
than ``match`` (which never allocates a step) and meant for people, not for requests.

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
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # Types only: asgilab.router imports this module (for Router.explain and str(router)).
    from .router import Match, Node

__all__ = [
    "Action",
    "Explanation",
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


def explain_lookup(root: Node, method: str, path: str) -> Explanation:
    """Walk the tree below ``root`` for ``method path`` and narrate every step.

    What :meth:`Router.explain <asgilab.router.Router.explain>` returns. It tries children
    in the order ``match`` does, so both find the same route; the static fast path of
    ``match`` (a dict of whole static paths) is not narrated: the tree walk finds the
    same route.
    """
    # NOTE: imported here, not at the top: asgilab.router imports this module.
    from .router import Match, _accept, split_path

    steps: list[Step] = []
    segments = split_path(path)
    n = len(segments)

    def visit(node: Node, i: int, values: list[Any]) -> Match | None:
        # The path is used up: a match if this node has a route for the method.
        if i == n:
            target = node.handlers.get(method)
            if target is not None:
                route, names, _ = target
                steps.append(Step(node, "match", f"{method} -> {route!r}"))
                return Match(route, dict(zip(names, values, strict=True)))
            have = ",".join(sorted(node.handlers)) or "none"
            steps.append(
                Step(node, "reject", f"path ends here; no {method} route (methods: {have})")
            )
            return None
        segment = segments[i]
        # Every child in priority order; the first one that leads to a match wins.
        for child in node.children:
            if child.kind == "static":
                if child.prefix[0] != segment:
                    # Siblings that a dict lookup skips are only narrated when close.
                    continue
                wanted = "/".join(segments[i : i + child.width])
                if segments[i : i + child.width] != child.prefix:
                    detail = f"static {child.label!r} does not match {wanted!r}"
                    steps.append(Step(child, "reject", detail))
                    continue
                steps.append(Step(child, "enter", f"static {child.label!r}"))
                found = visit(child, i + child.width, values)
            elif child.kind == "catch_all":
                rest = "/".join(segments[i:])
                steps.append(Step(child, "enter", f"{child.label} takes {rest!r}"))
                found = visit(child, n, [*values, rest])
            else:
                value = _accept(child, segment)
                if value is None:
                    steps.append(Step(child, "reject", f"{child.label} rejects {segment!r}"))
                    continue
                steps.append(Step(child, "enter", f"{child.label} accepts {segment!r}"))
                bound = [*values, *value] if child.kind == "mixed" else [*values, value]
                found = visit(child, i + 1, bound)
            if found is not None:
                return found
            # Nothing below this child fits: back to its parent, to try the next child.
            detail = f"nothing fits below {child.label!r}; back to {node.label or '/'!r}"
            steps.append(Step(child, "backtrack", detail))
        return None

    result = None
    if not segments[0]:
        steps.append(Step(root, "enter", f"segments {segments[1:]!r}"))
        result = visit(root, 1, [])
    if result is None:
        steps.append(Step(root, "miss", f"no route matches {method} {path}"))
    return Explanation(method, path, steps, result)


def tree_text(root: Node) -> str:
    """The tree below ``root``, one node per line, with the routes that end at each node.

    What ``str(router)`` prints; children appear in the order matching tries them.
    """
    lines = ["<root>"]

    def show(node: Node, indent: str) -> None:
        children = node.children
        for index, child in enumerate(children):
            last = index == len(children) - 1
            routes = ", ".join(f"{m} {r.name or '?'}" for m, r in sorted(child.routes.items()))
            lines.append(
                f"{indent}{'└── ' if last else '├── '}/{child.label}"
                + (f"  {routes}" if routes else "")
            )
            show(child, indent + ("    " if last else "│   "))

    show(root, "")
    return "\n".join(lines)
