"""The tree on its own: what insertion stores and derives, and the walk at any depth."""

from collections.abc import Callable
from typing import Any

import pytest

from asgilab.patterns import parse_pattern
from asgilab.router import Router
from asgilab.routes import Route
from asgilab.tree import Match, Miss, Node, Tree


def endpoint(name: str) -> Callable[..., Any]:
    async def handler(request: object) -> None:
        return None

    handler.__name__ = handler.__qualname__ = name
    return handler


def tree_of(*routes: str) -> Tree:
    """A tree from "METHODS /pattern" lines, each route named r0, r1...: no router checks."""
    tree = Tree()
    for index, line in enumerate(routes):
        methods, path = line.split(" ")
        route = Route(path, endpoint(f"r{index}"), frozenset(methods.split(",")), f"r{index}")
        tree.place(route, parse_pattern(path))
    return tree


def found(tree: Tree, method: str, path: str) -> tuple[str | None, dict[str, Any]] | None:
    m = tree.match(method, path)
    return None if m is None else (m.route.name, dict(m.params))


@pytest.mark.parametrize(
    ("routes", "method", "path", "expected"),
    [
        (["GET /users/{id:int}"], "GET", "/users/7", ("r0", {"id": 7})),
        (["GET /users/{id:int}"], "HEAD", "/users/7", ("r0", {"id": 7})),  # GET serves HEAD
        (["GET /a", "HEAD /a"], "HEAD", "/a", ("r1", {})),  # unless a HEAD route is there
        (["GET /a/{x}/{y}/{z}/{w}"], "GET", "/a/1/2/3/4", ("r0", dict(x="1", y="2", z="3", w="4"))),
        (["GET /f/{n}.{e}/{k:int}"], "GET", "/f/a.b/3", ("r0", {"n": "a", "e": "b", "k": 3})),
        (["GET /s/{rest:path}"], "GET", "/s/a%2Fb/c", ("r0", {"rest": "a/b/c"})),
        (["GET /u/new/x", "GET /u/{id}/y"], "GET", "/u/new/y", ("r1", {"id": "new"})),
        (["POST /a"], "GET", "/a", None),
    ],
)
def test_the_walk_finds_what_place_put_in(
    routes: list[str], method: str, path: str, expected: tuple[str, dict[str, Any]] | None
) -> None:
    assert found(tree_of(*routes), method, path) == expected


def test_a_node_stores_each_thing_once_and_derives_the_rest() -> None:
    tree = tree_of("GET /a/b/c", "GET /a/{name}", "POST /a/{rest:path}", "GET /a/{id:int}")
    (a,) = tree.root.children
    # /a/b/c was one compressed node until /a/{name} split it after "a".
    assert (a.kind, a.prefix, a.label, a.width) == ("static", ["a"], "a", 1)
    assert [(c.kind, c.label) for c in a.children] == [
        ("static", "b/c"),
        ("param", "{id:int}"),
        ("param", "{name}"),
        ("catch_all", "{rest:path}"),
    ]
    assert a.wildcards == [*a.param_children, a.catch_all]
    assert a.plain_only is None  # three wildcard children: the walk must remember the others
    (b_c,) = a.static_children.values()
    assert (b_c.parent, b_c.width, b_c.methods) == (a, 2, frozenset({"GET", "HEAD"}))
    catch_all = a.catch_all
    assert catch_all is not None and catch_all.methods == frozenset({"POST"})
    assert [c.param for c in a.wildcards] == ["id", "name", "rest"]
    assert [c.converter for c in a.wildcards] == ["int", "str", "path"]
    # Only a lone plain {name} child is the walk's shortcut; a split hands it down.
    tree = tree_of("GET /x/y/{name}")
    (x_y,) = tree.root.children
    assert x_y.plain_only is x_y.wildcards[0]
    tree.place(Route("/x/z", endpoint("z")), parse_pattern("/x/z"))
    (x,) = tree.root.children
    y = x.static_children["y"]
    assert (x.plain_only, y.plain_only) == (None, y.wildcards[0])


def test_find_changes_nothing_and_insert_is_found_again() -> None:
    tree = tree_of("GET /a/b/{id:int}")
    before = [(n.label, n.kind) for n in tree.root.children]
    assert tree.find(parse_pattern("/a")) is None  # inside a compressed run: no node there
    assert tree.find(parse_pattern("/a/b/{x}")) is None  # another shape
    assert [(n.label, n.kind) for n in tree.root.children] == before
    node = tree.find(parse_pattern("/a/b/{n:int}"))  # the same shape, named otherwise
    assert isinstance(node, Node) and node is tree.insert(parse_pattern("/a/b/{id:int}"))


# -- depth: the walk, the narration and the Miss are loops, not recursion ---------------------

DEPTH = 1_001


def deep_router() -> tuple[Router, Route, str]:
    """A GET route of 1,001 parameters, and a PUT route of 1,001 static segments beside it
    (which a path of 1,001 "s" segments follows first, then backtracks from)."""
    router = Router()
    deep = "".join(f"/{{p{i}}}" for i in range(DEPTH - 1)) + "/{last:int}"
    route = router.add(deep, endpoint("deep"), methods=["GET"])
    router.add("/" + "/".join(["s"] * DEPTH), endpoint("static"), methods=["PUT"])
    return router, route, "/" + "/".join(["s"] * (DEPTH - 1)) + "/7"


def test_a_route_of_1001_segments_answers_without_recursion() -> None:
    router, route, path = deep_router()
    params = {**{f"p{i}": "s" for i in range(DEPTH - 1)}, "last": 7}
    assert router.match("GET", path) == Match(route, params)
    assert router.explain("GET", path).match == Match(route, params)
    assert router.allowed_methods(path) == frozenset({"GET", "HEAD"})
    for method in ("POST", "OPTIONS"):
        miss = router.lookup(method, path)
        assert isinstance(miss, Miss) and miss.allowed == frozenset({"GET", "HEAD"})
    # A near miss: the static route takes the path but not GET, and {last:int} refuses
    # "s": the walk goes back up through the 1,000 parameters.
    near = path[:-1] + "s"
    assert router.match("GET", near) is None
    miss = router.lookup("GET", near)
    assert isinstance(miss, Miss) and (miss.allowed, miss.redirect) == ({"PUT"}, None)
    explanation = router.explain("GET", near)
    assert explanation.match is None and len(explanation.steps) > 2 * DEPTH
    assert router.lookup("GET", near + "/").redirect is None
    assert router.allowed_methods(near) == frozenset({"PUT"})
    assert len(str(router).splitlines()) == 1 + 1 + DEPTH  # the root, the static run, {p0}...
