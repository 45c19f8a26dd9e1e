"""asgilab.draw and asgilab.treeview: the tree as plain data, as DOT, and as real SVG."""

import base64
import html
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from asgilab.dependencies import Depends
from asgilab.draw import MIN_SCALE, Drawing, draw, draw_steps, to_digraph
from asgilab.router import Node, Router
from asgilab.treeview import (
    HIGHLIGHT_STATES,
    KINDS,
    DrawError,
    TreeView,
    ViewEdge,
    ViewNode,
    legend_entries,
    tree_view,
)

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="the `dot` executable is not on PATH here"
)

# ---------------------------------------------------------------------------------------------
# A hand-made tree, shaped as asgilab.router's Node (kind, label, children, routes, param,
# converter), so the drawing is pinned independently of how the router builds its tree.


@dataclass(eq=False)
class FakeRoute:
    name: str


@dataclass(eq=False)
class FakeNode:
    kind: str
    label: str
    children: list["FakeNode"] = field(default_factory=list)
    routes: dict[str, FakeRoute] = field(default_factory=dict)
    param: str | None = None
    converter: str | None = None


@dataclass
class FakeStep:
    node: FakeNode
    action: str
    detail: str = ""


@dataclass
class FakeExplanation:
    steps: list[FakeStep]
    match: Any = None


@dataclass
class FakeRouter:
    root: FakeNode
    explanation: FakeExplanation | None = None
    asked: list[tuple[str, str]] = field(default_factory=list)

    def explain(self, method: str, path: str) -> FakeExplanation:
        self.asked.append((method, path))
        assert self.explanation is not None
        return self.explanation


def hand_made() -> dict[str, FakeNode]:
    """/users (GET, POST), /users/{id:int} (GET+HEAD, DELETE), /users/{id:int}/repos,
    /users/{name}, /users/{name}/events/public, /files/{name}.{ext}, /files/{rest:path}."""
    user = FakeRoute("user")
    nodes = {
        "repos": FakeNode("static", "repos", routes={"GET": FakeRoute("repos")}),
        "public": FakeNode("static", "events/public", routes={"GET": FakeRoute("public")}),
        "file": FakeNode("mixed", "{name}.{ext}", routes={"GET": FakeRoute("file")}),
        "rest": FakeNode(
            "catch_all", "{rest:path}", routes={"GET": FakeRoute("static_files")}, param="rest",
            converter="path",
        ),
    }  # fmt: skip
    nodes["id"] = FakeNode(
        "param", "{id:int}", [nodes["repos"]],
        {"DELETE": FakeRoute("delete_user"), "GET": user, "HEAD": user}, "id", "int",
    )  # fmt: skip
    nodes["name"] = FakeNode(
        "param", "{name}", [nodes["public"]], {"GET": FakeRoute("by_name")}, "name", "str"
    )
    nodes["users"] = FakeNode(
        "static", "users", [nodes["id"], nodes["name"]],
        {"POST": FakeRoute("create_user"), "GET": FakeRoute("users")},
    )  # fmt: skip
    nodes["files"] = FakeNode("static", "files", [nodes["file"], nodes["rest"]])
    nodes["root"] = FakeNode("root", "", [nodes["users"], nodes["files"]])
    return nodes


def rows(view: TreeView) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    return [(n.id, n.kind, n.text, n.path, n.routes) for n in view.nodes]


def dot_nodes(source: str) -> dict[str, str]:
    """DOT node statements, by node id: the attribute text between the brackets."""
    return dict(re.findall(r"^\t(n\d\w*) \[(.*)\]$", source, flags=re.MULTILINE))


def dot_edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\t(\w+) -> (\w+)", source, flags=re.MULTILINE)


def svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


# ---------------------------------------------------------------------------------------------
# The plain data


def test_view_of_a_hand_made_tree() -> None:
    view = tree_view(hand_made()["root"])
    assert rows(view) == [
        ("n0", "root", "root", "", ()),
        ("n1", "static", "users", "/users", ("GET users", "POST create_user")),
        ("n2", "static", "files", "/files", ()),
        ("n3", "param", "{id:int}", "/users/{id:int}", ("GET, HEAD user", "DELETE delete_user")),
        ("n4", "param", "{name}", "/users/{name}", ("GET by_name",)),
        ("n5", "mixed", "{name}.{ext}", "/files/{name}.{ext}", ("GET file",)),
        ("n6", "catch_all", "{rest:path}", "/files/{rest:path}", ("GET static_files",)),
        ("n7", "static", "repos", "/users/{id:int}/repos", ("GET repos",)),
        ("n8", "static", "events/public", "/users/{name}/events/public", ("GET public",)),
    ]
    assert [(e.tail, e.head, e.priority) for e in view.edges] == [
        ("n0", "n1", 1), ("n0", "n2", 2), ("n1", "n3", 1), ("n1", "n4", 2),
        ("n2", "n5", 1), ("n2", "n6", 2), ("n3", "n7", 1), ("n4", "n8", 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("prefix", "paths"),
    [
        ("/files", ["", "/files", "/files/{name}.{ext}", "/files/{rest:path}"]),
        ("files/", ["", "/files", "/files/{name}.{ext}", "/files/{rest:path}"]),
        ("/users/{name}", ["", "/users", "/users/{name}", "/users/{name}/events/public"]),
        # A prefix may end inside a compressed run: the node holding it is kept whole.
        ("/users/{name}/events", ["", "/users", "/users/{name}", "/users/{name}/events/public"]),
        ("/", ["", "/users", "/files", "/users/{id:int}", "/users/{name}", "/files/{name}.{ext}",
               "/files/{rest:path}", "/users/{id:int}/repos", "/users/{name}/events/public"]),
    ],
)  # fmt: skip
def test_prefix_keeps_the_subtree_and_its_ancestors(prefix: str, paths: list[str]) -> None:
    view = tree_view(hand_made()["root"], prefix=prefix)
    assert [node.path for node in view.nodes] == paths


def test_prefix_is_whole_segments() -> None:
    # "/user" holds /user/x, not /users.
    router = Router()
    for path in ("/users", "/user/x", "/other"):
        router.add(path, lambda request: None)
    assert [n.path for n in tree_view(router.root, prefix="/user").nodes] == ["", "/user/x"]


def test_unknown_prefix_names_what_there_is() -> None:
    with pytest.raises(DrawError) as caught:
        tree_view(hand_made()["root"], prefix="/repos")
    assert str(caught.value) == (
        "no route pattern starts with '/repos'; the tree starts with: /users, /files"
    )


def test_max_nodes_keeps_the_top_levels_and_summarises_the_rest() -> None:
    view = tree_view(hand_made()["root"], max_nodes=4)
    assert rows(view) == [
        ("n0", "root", "root", "", ()),
        ("n1", "static", "users", "/users", ("GET users", "POST create_user")),
        ("n2", "static", "files", "/files", ()),
        ("n3", "param", "{id:int}", "/users/{id:int}", ("GET, HEAD user", "DELETE delete_user")),
        # {name} and its child; files' two children; {id:int}'s child.
        ("n1_more", "summary", "+2 more nodes", "", ("2 routes",)),
        ("n2_more", "summary", "+2 more nodes", "", ("2 routes",)),
        ("n3_more", "summary", "+1 more node", "", ("1 route",)),
    ]
    assert [(e.tail, e.head, e.priority) for e in view.edges] == [
        ("n0", "n1", 1), ("n0", "n2", 2), ("n1", "n3", 1),
        ("n1", "n1_more", 2), ("n2", "n2_more", 1), ("n3", "n3_more", 1),
    ]  # fmt: skip


@pytest.mark.parametrize("max_nodes", [0, -3, True])
def test_max_nodes_must_be_positive(max_nodes: int) -> None:
    with pytest.raises(DrawError) as caught:
        tree_view(hand_made()["root"], max_nodes=max_nodes)
    assert str(caught.value) == (f"max_nodes must be a positive number of nodes, not {max_nodes!r}")


def lookup_of_bob() -> tuple[FakeRouter, dict[str, FakeNode]]:
    """GET /users/bob/x, narrated as Router.explain does: {id:int} rejects 'bob', {name}
    takes it, nothing below fits 'x', the walk backtracks to the root and misses there."""
    nodes = hand_made()
    steps = [
        FakeStep(nodes["root"], "enter", "segments ['users', 'bob', 'x']"),
        FakeStep(nodes["users"], "enter", "static 'users'"),
        FakeStep(nodes["id"], "reject", "{id:int} rejects 'bob'"),
        FakeStep(nodes["name"], "enter", "{name} accepts 'bob'"),
        FakeStep(nodes["name"], "backtrack", "nothing fits below '{name}'; back to 'users'"),
        FakeStep(nodes["users"], "backtrack", "nothing fits below 'users'; back to '/'"),
        FakeStep(nodes["root"], "miss", "no route matches GET /users/bob/x"),
    ]
    return FakeRouter(nodes["root"], FakeExplanation(steps)), nodes


def test_highlight_of_a_miss_shows_where_the_walk_stopped() -> None:
    router, _ = lookup_of_bob()
    picture = draw(router, highlight="get  /users/bob/x")
    assert router.asked == [("GET", "/users/bob/x")]
    # The root is entered, not tried (no edge leads there); the router's miss is told at
    # the root, and drawn where the walk got to last.
    assert [(n.path, n.state, n.steps) for n in picture.view.nodes if n.state] == [
        ("", "entered", ()),
        ("/users", "backtracked", (1,)),
        ("/users/{id:int}", "rejected", (2,)),
        ("/users/{name}", "missed", (3,)),  # the last node entered
    ]
    assert picture.view.caption == "GET /users/bob/x → no match; stopped at /users/{name}"
    source = picture.source
    nodes = dot_nodes(source)
    assert 'color="#dc2626" fillcolor="#fee2e2" fontcolor="#000000" penwidth=3' in nodes["n4"]
    assert 'color="#c2410c"' in nodes["n1"]  # a backtrack
    assert 'style="dashed,filled"' in nodes["n3"]  # a rejected parameter
    assert '\tn1 -> n4 [label=3 color="#dc2626" fontcolor="#dc2626"' in source
    caption = (
        'GET /users/bob/x<BR ALIGN="LEFT"/>→ no match; stopped at /users/{name}<BR ALIGN="LEFT"/>'
    )
    assert f'<TR><TD ALIGN="LEFT">{caption}</TD></TR>' in source


def test_a_miss_where_the_path_ends_gives_the_routers_reason() -> None:
    nodes = hand_made()
    steps = [
        FakeStep(nodes["root"], "enter", "segments ['users', '42']"),
        FakeStep(nodes["users"], "enter", "static 'users'"),
        FakeStep(nodes["id"], "enter", "{id:int} accepts '42'"),
        FakeStep(nodes["id"], "reject", "path ends here; no PUT route (methods: DELETE, GET)"),
        FakeStep(nodes["id"], "backtrack", "nothing fits below '{id:int}'; back to 'users'"),
        FakeStep(nodes["root"], "miss", "no route matches PUT /users/42"),
    ]
    router = FakeRouter(nodes["root"], FakeExplanation(steps))
    view = draw(router, highlight="PUT /users/42").view
    assert view.node("/users/{id:int}").state == "missed"
    assert view.caption == (
        "PUT /users/42 → no match; stopped at /users/{id:int}: "
        "path ends here; no PUT route (methods: DELETE, GET)"
    )


def test_highlight_of_a_match_names_the_route() -> None:
    nodes = hand_made()
    route = type("Route", (), {"path": "/users/{id:int}/repos", "name": "repos"})()
    match = type("Match", (), {"route": route, "params": {"id": 42}})()
    steps = [FakeStep(nodes[n], "enter") for n in ("root", "users", "id", "repos")]
    steps.append(FakeStep(nodes["repos"], "match"))
    router = FakeRouter(nodes["root"], FakeExplanation(steps, match))
    picture = draw(router, highlight="/users/42/repos")  # the method defaults to GET
    assert picture.view.caption == "GET /users/42/repos → /users/{id:int}/repos (repos) {'id': 42}"
    assert [n.state for n in picture.view.nodes] == [
        "entered", "entered", None, "entered", None, None, None, "matched", None,
    ]  # fmt: skip
    assert 'fillcolor="#bbf7d0"' in dot_nodes(picture.source)["n7"]


@pytest.mark.parametrize("highlight", ["GET", "GET users/42", "", "GET /a /b"])
def test_highlight_must_be_a_request(highlight: str) -> None:
    router, _ = lookup_of_bob()
    with pytest.raises(DrawError) as caught:
        draw(router, highlight=highlight)
    assert str(caught.value) == (
        f"highlight={highlight!r} is not a request: write it as 'GET /users/42' "
        "(a method, a space, a path starting with '/')"
    )


# ---------------------------------------------------------------------------------------------
# The DOT model


def test_dot_model_of_a_hand_made_tree() -> None:
    source = draw(FakeRouter(hand_made()["root"])).source
    assert "\tnodesep=0.15 ordering=out rankdir=LR ranksep=0.35\n" in source
    nodes = dot_nodes(source)
    assert len(nodes) == 9
    # Every node has an explicit label (pygraphviz's first-render pitfall), kinds differ.
    assert all(attrs.startswith("label=") for attrs in nodes.values())
    assert nodes["n0"].startswith("label=root ")
    assert nodes["n3"].startswith('label="{id:int}\\nGET, HEAD user\\nDELETE delete_user" ')
    shapes = {key: re.search(r"shape=(\w+)", attrs)[1] for key, attrs in nodes.items()}  # type: ignore[index]
    assert shapes == {
        "n0": "box", "n1": "box", "n2": "box", "n3": "ellipse", "n4": "ellipse",
        "n5": "hexagon", "n6": "octagon", "n7": "box", "n8": "box",
    }  # fmt: skip
    # Nodes that end routes have a thick border; /files ends none.
    assert "penwidth=2" in nodes["n1"] and "penwidth" not in nodes["n2"]
    # Edges are written in matching order (ordering=out draws them in that order).
    assert dot_edges(source) == [
        ("n0", "n1"), ("n0", "n2"), ("n1", "n3"), ("n1", "n4"),
        ("n2", "n5"), ("n2", "n6"), ("n3", "n7"), ("n4", "n8"),
    ]  # fmt: skip


def test_labels_are_quoted_literally() -> None:
    odd = FakeNode("static", '<b>"x"\\n', routes={"GET": FakeRoute("odd")})
    source = draw(FakeRouter(FakeNode("root", "", [odd]))).source
    assert dot_nodes(source)["n1"].startswith('label="<b>\\"x\\"\\\\n\\nGET odd" ')


def test_labels_show_entities_and_backslash_codes_as_written() -> None:
    # Graphviz would show &#65; as A, and \\N as the node's name.
    router = Router()
    for number, path in enumerate(("/&#65;", "/&amp;&", "/\\N\\G")):
        router.add(path, lambda request: None, name=f"r{number}")
    texts = svg_texts(draw(router).svg())
    assert {"&amp;#65;", "&amp;amp;&amp;", "\\N\\G"} <= set(texts)


def test_a_highlight_with_a_query_string_looks_up_the_path_alone() -> None:
    router = Router()
    router.add("/users/{id:int}", lambda request: None, name="user")
    caption = draw(router, highlight="GET /users/42?x=1#top").view.caption
    assert caption == "GET /users/42 → /users/{id:int} (user) {'id': 42}"


def test_a_method_that_does_not_fit_is_shown_where_the_path_ended() -> None:
    # The App answers 405 here: /users/events has a POST route. The walk went on to try
    # {name} (no route there at all), which is not where the request failed.
    router = Router()
    router.add("/users/{id:int}", lambda request: None, name="user")
    router.add("/users/{name}/x", lambda request: None, name="x")
    router.add("/users/events", lambda request: None, name="events", methods=["POST"])
    view = draw(router, highlight="GET /users/events").view
    assert view.caption == (
        "GET /users/events → no match; stopped at /users/events: "
        "path ends here; no GET route (methods: POST)"
    )
    assert [n.text for n in view.nodes if n.state == "missed"] == ["events"]


def test_a_lookup_into_the_nodes_max_nodes_folds_shows_on_their_summary() -> None:
    router = Router()
    for number in range(10):
        router.add(f"/r{number}/{{x}}", lambda request: None, name=f"n{number}")
    picture = draw(router, highlight="GET /r9/zz", max_nodes=5)
    summaries = [node for node in picture.view.nodes if node.kind == "summary"]
    assert [node.state for node in summaries] == ["matched", None, None, None, None]
    assert repr(picture).startswith(
        "<Drawing: 5 nodes, 0 routes shown, the rest in 5 folded groups;"
    )


def test_draw_steps_of_one_route_given_as_a_string() -> None:
    pictures = draw_steps("/users")
    assert [p.view.caption for p in pictures] == ["step 1/1: GET /users"]


def test_draw_takes_an_app_or_a_router() -> None:
    router = FakeRouter(hand_made()["root"])
    app = type("App", (), {"router": router})()
    assert draw(app).source == draw(router).source


def test_draw_refuses_anything_else() -> None:
    with pytest.raises(DrawError) as caught:
        draw(42)
    assert str(caught.value) == (
        "draw() takes an App or a Router, not int: pass the object you add routes to"
    )


# ---------------------------------------------------------------------------------------------
# What the labels say, and what the numbers on edges mean


async def endpoint(request: Any) -> None:
    """Only the routes' names are drawn."""


def notebook_router() -> Router:
    """The routes notebooks/02_radix_tree.ipynb builds, in its order."""
    router = Router()
    router.add("/users", endpoint, name="user_list")
    router.add("/users/me", endpoint, name="me")
    router.add("/users/me/settings", endpoint, name="settings")
    router.add("/users/{user_id:int}", endpoint, name="user")
    router.add("/users/{name}/repos", endpoint, name="repos")
    router.add("/files/{rest:path}", endpoint, name="files")
    router.add("/files/{name}.{ext}", endpoint, name="file_with_ext", methods=["PUT"])
    return router


def shop_router() -> Router:
    """The notebook's backtracking example."""
    router = Router()
    router.add("/users/new", endpoint, name="new_user_form")
    router.add("/users/new/edit", endpoint, name="edit_new")
    router.add("/users/{id}/profile", endpoint, name="profile")
    return router


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("/a/{name}", "{name}"),  # not {name:str}: the reader looks for what they wrote
        ("/a/{id:int}", "{id:int}"),
        ("/a/{x:str}", "{x:str}"),  # the same pattern as {x}, written out: shown as written
        ("/a/{v:float}", "{v:float}"),
        ("/a/{name}.{ext}", "{name}.{ext}"),
        ("/a/{rest:path}", "{rest:path}"),
    ],
)
def test_labels_show_the_pattern_as_written(pattern: str, text: str) -> None:
    router = Router()
    router.add(pattern, endpoint)
    view = tree_view(router.root)
    assert [node.text for node in view.nodes][:3] == ["root", "a", text]
    assert f'\tn2 [label="{text}\\nGET endpoint" ' in draw(router).source


@pytest.mark.parametrize(
    ("router", "highlight", "tried"),
    [
        (notebook_router, "GET /users/me", ["users", "me"]),
        (notebook_router, "GET /users/42", ["users", "{user_id:int}"]),
        # {user_id:int} rejects alice: a try all the same, numbered.
        (notebook_router, "GET /users/alice/repos", ["users", "{user_id:int}", "{name}", "repos"]),
        (notebook_router, "GET /users/42/nothing", ["users", "{user_id:int}", "{name}"]),
        # The mixed segment takes a.txt, but has no GET route: the catch-all is tried next.
        (notebook_router, "GET /files/a.txt", ["files", "{name}.{ext}", "{rest:path}"]),
        (notebook_router, "POST /users/me", ["users", "me", "{user_id:int}", "{name}"]),
        (notebook_router, "GET /", []),  # only the root: no edge was followed
        (shop_router, "GET /users/new/profile", ["users", "new", "{id}", "profile"]),
    ],
)  # fmt: skip
def test_numbers_on_edges_count_the_tries_from_one(
    router: Any, highlight: str, tried: list[str]
) -> None:
    """explain() also narrates entering the root, a rejection where the path ends, the
    match and the miss: numbering those started edges at 2 and gave pairs ("3, 4")."""
    picture = draw(router(), highlight=highlight)
    numbered = sorted((node.steps, node.text) for node in picture.view.nodes if node.steps)
    assert numbered == [((number,), text) for number, text in enumerate(tried, start=1)]
    labels = re.findall(r"^\t\w+ -> \w+ \[label=(\d+)", picture.source, flags=re.MULTILINE)
    assert sorted(labels, key=int) == [str(number) for number in range(1, len(tried) + 1)]
    note = "numbers on edges: the order the lookup tried the nodes, from 1"
    assert (note in picture.source) == bool(tried)


def test_a_node_tried_again_after_a_backtrack_has_two_numbers() -> None:
    nodes = hand_made()
    steps = [
        FakeStep(nodes["root"], "enter"),
        FakeStep(nodes["users"], "enter"),
        FakeStep(nodes["id"], "reject"),
        FakeStep(nodes["users"], "backtrack"),
        FakeStep(nodes["files"], "reject"),
        FakeStep(nodes["users"], "enter"),  # a walk that retries a branch
        FakeStep(nodes["users"], "match"),
    ]
    route = type("Route", (), {"path": "/users", "name": "users"})()
    match = type("Match", (), {"route": route, "params": {}})()
    picture = draw(FakeRouter(nodes["root"], FakeExplanation(steps, match)), highlight="/users")
    assert [(n.text, n.steps) for n in picture.view.nodes if n.steps] == [
        ("users", (1, 4)), ("files", (3,)), ("{id:int}", (2,)),
    ]  # fmt: skip
    assert '\tn0 -> n1 [label="1, 4"' in picture.source
    assert "; two numbers: tried again after a backtrack" in picture.source


# ---------------------------------------------------------------------------------------------
# The legend


@pytest.mark.parametrize(
    ("make", "legend"),
    [
        (lambda r: draw(r), ()),
        (lambda r: draw(r, legend=True), ("static", "mixed", "param", "catch_all", "routes")),
        (
            lambda r: draw(r, highlight="GET /users/alice/repos"),
            ("static", "mixed", "param", "catch_all", "routes", "entered", "rejected", "matched"),
        ),
        (lambda r: draw(r, highlight="GET /users/alice/repos", legend=False), ()),
        (lambda r: draw(r, highlight="GET /nowhere", prefix="/users"),
         ("static", "param", "routes", "missed")),
        (lambda r: draw_steps(r)[0], ("static", "routes", "added")),
        (lambda r: draw_steps(r)[4], ("static", "param", "routes", "added")),
        (lambda r: draw_steps(r, legend=False)[4], ()),
        (lambda r: draw_steps(["/api/v1/health", "/api/v1/ready"])[1],
         ("static", "routes", "added", "changed")),
        (lambda r: draw(r, max_nodes=3, legend=True), ("static", "summary", "routes")),
    ],
)  # fmt: skip
def test_legend_explains_what_the_picture_shows(make: Any, legend: tuple[str, ...]) -> None:
    """On by default where a lookup or an insertion is drawn; only what is on show."""
    assert make(notebook_router()).view.legend == legend


def test_legend_in_the_dot_text_is_drawn_like_the_nodes() -> None:
    source = draw(notebook_router(), highlight="GET /users/alice/repos").source
    grid = re.search(r'<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="2">(.*?)</TABLE>', source)
    assert grid is not None
    rows = [re.findall(r"<FONT [^>]*>([^<]*)</FONT>", row) for row in grid[1].split("</TR>")]
    assert rows == [
        ["rounded box: text", "hexagon: text{param}", "ellipse: {param}", "octagon: {rest:path}"],
        ["thick border: routes end here"],  # the shapes, then the colours, each from a new row
        ["entered", "rejected: did not fit", "matched"],
        [],
    ]
    assert (
        '<TD BORDER="2" COLOR="#15803d" BGCOLOR="#bbf7d0" STYLE="rounded">'
        '<FONT POINT-SIZE="10" COLOR="#000000">matched</FONT></TD>'
    ) in source
    assert '<TD BORDER="2" COLOR="#dc2626" BGCOLOR="#ffffff" STYLE="rounded,dashed">' in source


@pytest.mark.parametrize("legend", ["yes", 1, 0])
def test_legend_must_be_a_bool_or_none(legend: Any) -> None:
    message = f"legend must be True, False or None (the default), not {legend!r}"
    with pytest.raises(DrawError) as caught:
        draw(FakeRouter(hand_made()["root"]), legend=legend)
    assert str(caught.value) == message
    with pytest.raises(DrawError) as caught:
        draw_steps(["/users"], legend=legend)
    assert str(caught.value) == message


def test_long_captions_are_wrapped_in_the_title() -> None:
    router = Router()
    router.add("/repos/{owner}/{repo}/git/commits/{sha}", endpoint, name="r52")
    source = draw(router, highlight="GET /repos/python/cpython/git/commits/3f2a9c1").source
    title = re.search(r'<TR><TD ALIGN="LEFT">(.*?)</TD></TR>', source)
    assert title is not None
    assert title[1].split('<BR ALIGN="LEFT"/>') == [
        "GET /repos/python/cpython/git/commits/3f2a9c1",
        "→ /repos/{owner}/{repo}/git/commits/{sha} (r52) {&#x27;owner&#x27;: &#x27;python&#x27;,",
        "&#x27;repo&#x27;: &#x27;cpython&#x27;, &#x27;sha&#x27;: &#x27;3f2a9c1&#x27;}",
        "",
    ]


def test_a_caption_is_shown_as_written() -> None:
    router = Router()
    router.add("/a&<b>\\N", endpoint, name="odd")
    picture = draw(router, highlight="GET /a&<b>\\N", engine="pygraphviz")
    assert 'GET /a&amp;&lt;b&gt;\\N<BR ALIGN="LEFT"/>' in picture.source
    assert "GET /a&amp;&lt;b&gt;\\N" in svg_texts(picture.svg())


# ---------------------------------------------------------------------------------------------
# Contrast: every text on what it is drawn on, from the colours the DOT text asks for


def relative_luminance(colour: str) -> float:
    """WCAG 2's relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(text: str, background: str) -> float:
    lighter, darker = sorted(map(relative_luminance, (text, background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def dot_attrs(statement: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^ \]]+)', statement)}


def drawn_colours(source: str, node_id: str) -> tuple[str, str]:
    """(text, background) of a node as Graphviz paints it: attributes over the `node`
    defaults; a filled node is painted in fillcolor (else color, else lightgrey), an unfilled
    one shows the page (white); text is fontcolor, else black."""
    defaults = re.search(r"^\tnode \[(.*)\]$", source, flags=re.MULTILINE)
    assert defaults is not None
    attrs = {**dot_attrs(defaults[1]), **dot_attrs(dot_nodes(source)[node_id])}
    if "filled" in attrs.get("style", "").split(","):
        background = attrs.get("fillcolor") or attrs.get("color") or "#d3d3d3"
    else:
        background = "#ffffff"
    return attrs.get("fontcolor", "#000000"), background


AA = 4.5  # WCAG AA, normal text


@pytest.mark.parametrize("state", [None, *HIGHLIGHT_STATES])
@pytest.mark.parametrize("kind", KINDS)
def test_every_node_label_has_aa_contrast(kind: str, state: str | None) -> None:
    node = ViewNode("n0", kind, "x", "/x", ("GET x",), state, (1,))
    source = to_digraph(TreeView((node,), ())).source
    text, background = drawn_colours(source, "n0")
    assert contrast(text, background) >= AA, (kind, state, text, background)


@pytest.mark.parametrize("state", [None, *HIGHLIGHT_STATES])
def test_every_step_number_has_aa_contrast(state: str | None) -> None:
    nodes = (
        ViewNode("n0", "root", "root", ""),
        ViewNode("n1", "static", "a", "/a", (), state, (1,)),
    )
    source = to_digraph(TreeView(nodes, (ViewEdge("n0", "n1", 1, state),))).source
    edge = re.search(r"^\tn0 -> n1 \[(.*)\]$", source, flags=re.MULTILINE)
    assert edge is not None
    defaults = re.search(r"^\tedge \[(.*)\]$", source, flags=re.MULTILINE)
    assert defaults is not None
    attrs = {**dot_attrs(defaults[1]), **dot_attrs(edge[1])}
    assert attrs["label"] == "1"
    assert contrast(attrs.get("fontcolor", "#000000"), "#ffffff") >= AA, (state, attrs)


@pytest.mark.parametrize("entry", [*KINDS[1:], "routes", "dependencies", *HIGHLIGHT_STATES])
def test_every_legend_entry_has_aa_contrast(entry: str) -> None:
    view = TreeView((ViewNode("n0", "root", "root", ""),), (), legend=(entry,))
    cell = re.search(
        r'<TD [^>]*BGCOLOR="(#\w+)"[^>]*><FONT [^>]*COLOR="(#\w+)">', to_digraph(view).source
    )
    assert cell is not None
    assert contrast(cell[2], cell[1]) >= AA, (entry, cell.groups())


# ---------------------------------------------------------------------------------------------
# Fitting the page: the HTML a notebook shows


def html_parts(html: str) -> tuple[str, dict[str, str], str]:
    """(the box's style, the <img>'s attributes, the SVG it shows)."""
    box = re.search(r'<div class="asgilab-drawing" style="([^"]*)">', html)
    img = re.search(r"<img ([^>]*)>", html)
    assert box is not None and img is not None
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', img[1]))
    header, _, payload = attrs["src"].partition(",")
    assert header == "data:image/svg+xml;base64"
    return box[1], attrs, base64.b64decode(payload).decode()


def test_html_scales_the_picture_down_to_the_page_but_not_below_readable() -> None:
    picture = draw(notebook_router(), highlight="GET /users/alice/repos", engine="pygraphviz")
    box, img, svg = html_parts(picture.html())
    assert svg == picture.svg()
    points = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert points is not None
    width, height = (round(float(value) * 4 / 3) for value in points.groups())
    assert (img["width"], img["height"]) == (str(width), str(height))
    assert img["style"] == (
        f"display:block;max-width:100%;min-width:{round(width * MIN_SCALE)}px;height:auto"
    )
    assert box == "overflow-x:auto;"  # what is wider than that scrolls sideways, in its box
    assert img["alt"] == html.escape(repr(picture))
    assert MIN_SCALE * 10 * 4 / 3 >= 10  # the smallest text (10 pt) stays 10 px or more
    assert re.findall(r"fontsize=(\d+)", picture.source) == ["11", "10"]
    assert set(re.findall(r'POINT-SIZE="(\d+)"', picture.source)) == {"10"}


# ---------------------------------------------------------------------------------------------
# Real pictures


def test_svg_with_the_bundled_engine_and_no_dot_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ASGILAB_GRAPHVIZ", raising=False)
    router, _ = lookup_of_bob()
    picture = draw(router, highlight="GET /users/bob/x")
    svg = picture.svg()
    assert svg.startswith("<?xml")
    texts = svg_texts(svg)
    for expected in ["users", "{id:int}", "{name}", "GET, HEAD user", "{rest:path}", "3"]:
        assert expected in texts
    assert "missed: stopped here" in texts  # the legend
    bundle = picture._repr_mimebundle_()
    assert bundle == {
        "text/html": picture.html(),
        "image/svg+xml": svg,
        "text/plain": repr(picture),
    }
    assert picture._repr_svg_() == svg


@pytest.mark.parametrize(("name", "magic"), [("tree.svg", b"<?xml"), ("tree.PNG", b"\x89PNG")])
def test_save_by_extension(tmp_path: Path, name: str, magic: bytes) -> None:
    picture = Drawing(tree_view(hand_made()["root"]), engine="pygraphviz")
    written = picture.save(tmp_path / name)
    assert written == tmp_path / name
    assert written.read_bytes().startswith(magic)


def test_save_refuses_an_unknown_extension(tmp_path: Path) -> None:
    picture = draw(FakeRouter(hand_made()["root"]))
    with pytest.raises(DrawError) as caught:
        picture.save(tmp_path / "tree.gif")
    assert str(caught.value) == (
        "cannot save a drawing as 'tree.gif': unknown extension '.gif' (known: .svg, .png, .pdf)"
    )


def test_repr() -> None:
    router, _ = lookup_of_bob()
    assert repr(draw(router)) == "<Drawing: 9 nodes, 9 routes>"
    assert repr(draw(router, highlight="GET /users/bob/x")) == (
        "<Drawing: 9 nodes, 9 routes; GET /users/bob/x → no match; stopped at /users/{name}>"
    )


def test_first_render_in_a_fresh_process_shows_every_label_and_prints_nothing() -> None:
    """pygraphviz 2.0.4 blanks default labels on a process's first render, and its
    fontconfig warns on stderr: neither may reach the user."""
    script = textwrap.dedent(
        """
        import re, sys
        from types import SimpleNamespace as N
        from asgilab.draw import draw
        leaf = N(kind="static", label="health", children=[], routes={})
        svg = draw(N(root=N(kind="root", label="", children=[leaf], routes={})),
                   legend=True, engine="pygraphviz").svg()
        print(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    # The legend is an HTML-like label: drawn on the first render too.
    assert (done.stdout, done.stderr) == ("['rounded box: text', 'root', 'health']\n", "")


def test_importing_draw_does_not_import_graphviz() -> None:
    script = (
        "import sys, asgilab.draw; print(sorted({'graphviz', 'pygraphviz'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "[]\n"


# ---------------------------------------------------------------------------------------------
# The GitHub API route set (203 routes), on the real router

GITHUB_ROUTES = Path(__file__).parent / "data" / "github_routes.txt"


@pytest.fixture(scope="module")
def github() -> Router:
    """Each route named r<line number>, so labels point back at the data file."""
    router = Router()
    for number, line in enumerate(GITHUB_ROUTES.read_text().splitlines(), start=1):
        method, path = line.split()
        router.add(path, lambda request: None, methods=[method], name=f"r{number}")
    return router


def walk(node: Node) -> list[Node]:
    return [node, *(n for child in node.children for n in walk(child))]


def test_github_tree_whole(github: Router) -> None:
    picture = draw(github)
    nodes = walk(github.root)
    assert len(nodes) == len(picture.view.nodes) == 170
    assert sum(len(node.routes) for node in picture.view.nodes) == len(github.routes) == 203
    source = picture.source
    assert len(dot_nodes(source)) == 170
    assert all(attrs.startswith("label=") for attrs in dot_nodes(source).values())
    # Each parent's edges are written in the order the router tries its children.
    path_of = {node.id: node.path for node in picture.view.nodes}
    heads: dict[str, list[str]] = {}
    for tail, head in dot_edges(source):
        heads.setdefault(path_of[tail], []).append(path_of[head])
    view_paths = [node.path for node in picture.view.nodes]
    for node, path in zip(nodes, [view.path for view in _preorder(picture.view)], strict=True):
        children = [f"{path}/{child.label}" for child in node.children]
        assert heads.get(path, []) == children
    assert len(set(view_paths)) == 170


def _preorder(view: TreeView) -> list[Any]:
    """The view's nodes in depth-first order, children by priority (as walk() gives)."""
    by_id = {node.id: node for node in view.nodes}
    children: dict[str, list[str]] = {}
    for edge in sorted(view.edges, key=lambda e: e.priority):
        children.setdefault(edge.tail, []).append(edge.head)

    def visit(node_id: str) -> list[Any]:
        return [by_id[node_id], *(n for child in children.get(node_id, []) for n in visit(child))]

    return visit("n0")


def test_github_subtree_by_prefix(github: Router) -> None:
    view = draw(github, prefix="/repos/{owner}/{repo}/git").view
    git = "/repos/{owner}/{repo}/git"
    assert rows(view) == [
        ("n0", "root", "root", "", ()),
        ("n1", "static", "repos", "/repos", ()),
        ("n2", "param", "{owner}", "/repos/{owner}", ()),
        ("n3", "param", "{repo}", "/repos/{owner}/{repo}", ("GET r130", "DELETE r137")),
        ("n4", "static", "git", git, ()),
        ("n5", "static", "blobs", f"{git}/blobs", ("POST r51",)),
        ("n6", "static", "commits", f"{git}/commits", ("POST r53",)),
        ("n7", "static", "refs", f"{git}/refs", ("GET r54", "POST r55")),
        ("n8", "static", "tags", f"{git}/tags", ("POST r57",)),
        ("n9", "static", "trees", f"{git}/trees", ("POST r59",)),
        ("n10", "param", "{sha}", f"{git}/blobs/{{sha}}", ("GET r50",)),
        ("n11", "param", "{sha}", f"{git}/commits/{{sha}}", ("GET r52",)),
        ("n12", "param", "{sha}", f"{git}/tags/{{sha}}", ("GET r56",)),
        ("n13", "param", "{sha}", f"{git}/trees/{{sha}}", ("GET r58",)),
    ]


@pytest.mark.parametrize(
    ("highlight", "caption", "marked"),
    [
        (
            "GET /users/octocat/repos",
            "GET /users/octocat/repos → /users/{user}/repos (r125) {'user': 'octocat'}",
            [("", "entered"), ("/users", "entered"), ("/users/{user}", "entered"),
             ("/users/{user}/repos", "matched")],
        ),
        (
            "GET /repos/julia/asgilab/git/refs/heads",
            "GET /repos/julia/asgilab/git/refs/heads → no match; "
            "stopped at /repos/{owner}/{repo}/git/refs",
            [("", "entered"), ("/repos", "backtracked"), ("/repos/{owner}", "backtracked"),
             ("/repos/{owner}/{repo}", "backtracked"), ("/repos/{owner}/{repo}/git", "backtracked"),
             ("/repos/{owner}/{repo}/git/refs", "missed")],
        ),
        (
            "PUT /users/octocat/repos",
            # then the router's own reason, in its words (see the test body)
            "PUT /users/octocat/repos → no match; stopped at /users/{user}/repos: {reason}",
            [("", "entered"), ("/users", "backtracked"), ("/users/{user}", "backtracked"),
             ("/users/{user}/repos", "missed")],
        ),
    ],
)  # fmt: skip
def test_github_lookups(
    github: Router, highlight: str, caption: str, marked: list[tuple[str, str]]
) -> None:
    view = draw(github, highlight=highlight).view
    method, path = highlight.split()
    rejects = [s.detail for s in github.explain(method, path).steps if s.action == "reject"]
    assert view.caption == caption.replace("{reason}", rejects[-1] if rejects else "")
    assert [(node.path, node.state) for node in view.nodes if node.state] == marked


def test_github_capped(github: Router) -> None:
    view = draw(github, max_nodes=30).view
    tree = [node for node in view.nodes if node.kind != "summary"]
    summaries = [node for node in view.nodes if node.kind == "summary"]
    assert len(tree) == 30
    assert len(summaries) == 13
    hidden = sum(int(re.fullmatch(r"\+(\d+) more nodes?", s.text)[1]) for s in summaries)  # type: ignore[index]
    assert hidden == 170 - 30
    shown = sum(len(node.routes) for node in tree)
    assert sum(int(s.routes[0].split()[0]) for s in summaries if s.routes) == 203 - shown
    # Every summary hangs under a drawn node, after that node's drawn children.
    ids = {node.id for node in tree}
    assert all(edge.tail in ids for edge in view.edges)


def test_steps_replay_a_router(github: Router) -> None:
    pictures = draw_steps(github)
    assert len(pictures) == 203
    last = GITHUB_ROUTES.read_text().splitlines()[-1]
    assert pictures[-1].view.caption == f"step 203/203: {last}"
    final = [(n.text, n.path, n.routes) for n in pictures[-1].view.nodes]
    assert final == [(n.text, n.path, n.routes) for n in draw(github).view.nodes]
    # Every insertion adds a node or changes one (a new route on it, or a split).
    assert all(any(n.state for n in picture.view.nodes) for picture in pictures)


def test_steps_of_routes_given_as_text() -> None:
    pictures = draw_steps(["/users/events", "POST /users/events", "/users/{id:int}", "/users/"])
    assert [[(n.text, n.routes, n.state) for n in p.view.nodes] for p in pictures] == [
        [("root", (), "added"), ("users/events", ("GET r1",), "added")],
        [("root", (), None), ("users/events", ("GET r1", "POST r2"), "changed")],
        [("root", (), None), ("users", (), "added"), ("events", ("GET r1", "POST r2"), "changed"),
         ("{id:int}", ("GET r3",), "added")],
        [("root", (), None), ("users", (), None), ("/", ("GET r4",), "added"),
         ("events", ("GET r1", "POST r2"), None), ("{id:int}", ("GET r3",), None)],
    ]  # fmt: skip


def test_steps_refuse_what_is_not_a_route() -> None:
    with pytest.raises(DrawError) as caught:
        draw_steps(["users"])
    assert str(caught.value) == (
        "route='users' is not a request: write it as 'GET /users/42' "
        "(a method, a space, a path starting with '/')"
    )


@pytest.mark.parametrize("engine", ["pygraphviz", pytest.param("dot", marks=needs_dot)])
def test_github_tree_renders(
    github: Router, engine: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Real SVG of the whole tree; the time is printed (pytest -s), never asserted."""
    if engine == "pygraphviz":
        monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    picture = draw(github, engine=engine)
    started = time.perf_counter()
    svg = picture.svg()
    elapsed = time.perf_counter() - started
    print(f"\nGitHub tree (170 nodes, 203 routes): SVG with {engine} in {elapsed:.3f} s")
    texts = svg_texts(svg)
    assert "gitignore/templates" in texts and "GET r1" in texts


@pytest.mark.parametrize(
    ("options", "poster"),
    [
        ({"prefix": "/repos/{owner}/{repo}/git"}, False),
        ({"prefix": "/repos/{owner}/{repo}/git",
          "highlight": "GET /repos/python/cpython/git/commits/3f2a9c1"}, False),
        ({}, True),  # all 170 nodes: a poster, scrolled in a box shorter than a laptop window
    ],
)  # fmt: skip
def test_github_pictures_in_a_laptop_notebook(
    github: Router, options: dict[str, str], poster: bool
) -> None:
    """JupyterLab at 1366x900 gives an output about 900 px wide (measured: 899 px for an
    HTML output): the notebook's subtrees shrink into it, the whole tree scrolls."""
    box, img, _ = html_parts(draw(github, engine="pygraphviz", **options).html())
    smallest = int(re.search(r"min-width:(\d+)px", img["style"])[1])  # type: ignore[index]
    assert (smallest <= 899) != poster
    assert box == (
        "overflow-x:auto;max-height:720px;overflow-y:auto;" if poster else "overflow-x:auto;"
    )


def test_a_mount_is_one_node_of_its_own_kind_with_a_legend_entry() -> None:
    async def files(scope: Any, receive: Any, send: Any) -> None: ...

    router = Router()
    router.get("/health")(lambda request: None)
    router.mount("/static", files, name="static")
    view = tree_view(router.root)
    mount = "mount test_a_mount_is_one_node_of_its_own_kind_with_a_legend_entry.<locals>.files"
    assert [(n.kind, n.text, n.routes) for n in view.nodes] == [
        ("root", "root", ()),
        ("static", "health", ("GET <lambda>",)),
        ("mount", "static", (mount,)),
    ]
    assert legend_entries(view) == ("static", "mount", "routes")
    source = draw(router, legend=True).source
    assert "folder: a mounted ASGI app" in source
    assert 'shape="folder"' in source or "shape=folder" in source


# ---------------------------------------------------------------------------------------------
# Which routes carry which dependencies: named after the route's line, in the picture and text


async def auth(request: Any) -> None: ...


async def db(request: Any) -> None: ...


async def audit(request: Any) -> None: ...


async def rate(request: Any) -> None: ...


async def trace(request: Any) -> None: ...


async def current_user(request: Any) -> None: ...


async def files(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app to mount."""


def dependent_app() -> Any:
    """An App whose routes carry dependencies every way a route can: a router's, a
    route's own, and its handler's ``Depends`` parameters."""
    from asgilab import App

    app = App()
    api = Router(dependencies=[auth])

    @api.get("/me")
    async def me(request: Any, user: Any = Depends(current_user)) -> None: ...

    @api.post("/orders", dependencies=[db, audit, auth])  # auth twice: named once
    async def order(request: Any, user: Any = Depends(current_user)) -> None: ...

    @api.delete("/orders", dependencies=[db, audit, rate, trace])
    async def cancel(request: Any) -> None: ...

    app.include(api, prefix="/api")

    @app.get("/health")
    async def health(request: Any) -> None: ...

    app.mount("/static", files, name="static")
    return app


@pytest.mark.parametrize(
    ("path", "routes", "has_dependencies"),
    [
        ("/api/me", ("GET me [auth, current_user]",), True),
        # A route's own after its router's, each function once, in the order declared.
        ("/api/orders", ("POST order [auth, db, audit +1]", "DELETE cancel [auth, db, audit +2]"),
         True),
        ("/health", ("GET health",), False),  # no dependencies: the line as it always was
        ("/static", ("mount files",), False),  # a mount keeps its own line
    ],
)  # fmt: skip
def test_route_lines_name_their_dependencies(
    path: str, routes: tuple[str, ...], has_dependencies: bool
) -> None:
    node = tree_view(dependent_app().router.root).node(path)
    assert (node.routes, node.has_dependencies) == (routes, has_dependencies)


@pytest.mark.parametrize(
    ("extras", "line"),
    [
        ({}, "GET r"),
        ({"dependencies": ()}, "GET r"),
        ({"dependencies": (auth,)}, "GET r [auth]"),
        ({"dependencies": (auth, db, audit)}, "GET r [auth, db, audit]"),
        ({"dependencies": (auth, db, audit, rate)}, "GET r [auth, db, audit +1]"),
        ({"dependencies": (auth, auth, db)}, "GET r [auth, db]"),
        ({"dependencies": (Depends(auth), db)}, "GET r [auth, db]"),  # a record: its function
    ],
)
def test_a_bare_routers_routes_show_their_extras_dependencies(
    extras: dict[str, Any], line: str
) -> None:
    """A Router used without an App prepares no handler: its routes' extras still show."""
    router = Router()
    router.add("/r", endpoint, name="r", extras=extras)
    node = tree_view(router.root).node("/r")
    assert node.routes == (line,)
    assert node.has_dependencies == ("[" in line)


@pytest.mark.parametrize(
    ("make", "legend"),
    [
        (lambda app: draw(app, legend=True),
         ("static", "mount", "routes", "dependencies")),
        (lambda app: draw(app, prefix="/health", legend=True), ("static", "routes")),
        (lambda app: draw(app), ()),  # the legend stays off unless asked for (or a lookup)
        (lambda app: draw(app, highlight="GET /api/me"),
         ("static", "mount", "routes", "dependencies", "entered", "matched")),
        # A cap that folds every dependent route away leaves nothing to explain.
        (lambda app: draw(app, max_nodes=3, legend=True), ("static", "summary", "routes")),
    ],
)  # fmt: skip
def test_legend_explains_the_dependency_marker_when_shown(
    make: Any, legend: tuple[str, ...]
) -> None:
    assert make(dependent_app()).view.legend == legend


def test_dependencies_in_the_dot_text() -> None:
    source = draw(dependent_app(), legend=True).source
    assert '[label="me\\nGET me [auth, current_user]" ' in source
    assert (
        '[label="orders\\nPOST order [auth, db, audit +1]\\nDELETE cancel [auth, db, audit +2]" '
    ) in source
    # In the legend, after the thick border, drawn as a node ending routes is.
    cells = re.findall(r"<FONT [^>]*>([^<]*)</FONT>", source)
    assert cells[cells.index("thick border: routes end here") + 1] == (
        "GET me [auth]: depends on auth"
    )
    assert (
        '<TD BORDER="2" COLOR="#000000" BGCOLOR="#ffffff" STYLE="rounded">'
        '<FONT POINT-SIZE="10" COLOR="#000000">GET me [auth]: depends on auth</FONT></TD>'
    ) in source
    assert "depends on" not in draw(dependent_app(), prefix="/health", legend=True).source


def test_print_router_shows_the_same_marker() -> None:
    assert str(dependent_app().router) == textwrap.dedent(
        """\
        <root>
        ├── /api
        │   ├── /me  GET me [auth, current_user]
        │   └── /orders  DELETE cancel [auth, db, audit +2], POST order [auth, db, audit +1]
        ├── /health  GET health
        └── /static  mount files"""
    )
