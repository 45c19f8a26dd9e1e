"""The router: matching rules, conflicts, methods, slashes, reverse routing, the tree."""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from asgilab.app import App
from asgilab.errors import (
    InvalidArgument,
    InvalidArgumentType,
    InvalidPath,
    InvalidPattern,
    RouteConflict,
    URLBuildError,
)
from asgilab.patterns import MAX_MIXED_SEGMENT, parse_pattern
from asgilab.router import Match, Node, Route, Router


def endpoint(name: str) -> Callable[..., Any]:
    """A distinct endpoint function called ``name``."""

    async def handler(request: object) -> None:
        return None

    handler.__name__ = handler.__qualname__ = name
    return handler


def build(*routes: str) -> Router:
    """A router from "METHODS /pattern name" lines (METHODS comma-separated)."""
    router = Router()
    for line in routes:
        methods, pattern, name = line.split(" ")
        router.add(pattern, endpoint(name), methods=methods.split(","), name=name)
    return router


def lookup(router: Router, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    m = router.match(method, path)
    return None if m is None else (str(m.route.name), dict(m.params))


# -- matching ---------------------------------------------------------------------------------

PRIORITY = build(
    "GET /users/me me",
    "GET /users/{id:int} by_int",
    "GET /users/{x:float} by_float",
    "GET /users/{u:uuid} by_uuid",
    "GET /users/{name} by_name",
    "GET /users/{name}.json as_json",
    "GET /users/{name}.{ext} by_ext",
    "GET /users/{rest:path} rest",
    "GET /users/new/edit edit_new",
    "GET /users/{name}/profile profile",
    "GET /v{major:int}/status v_int",
    "GET /v{tag}/status v_str",
    "GET /@{handle} handle",
    "GET /files/{name} file",
    "GET /files/{name}/meta file_meta",
    "GET /static/{rest:path} static",
    "GET / home",
    "GET /trailing/ trailing_slash",
    "GET /trailing no_slash",
    "GET /café cafe",
    "GET /a+b plus",
    "GET /a//b double",
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/users/me", ("me", {})),
        ("/users/42", ("by_int", {"id": 42})),
        ("/users/007", ("by_int", {"id": 7})),
        ("/users/1.5", ("by_ext", {"name": "1", "ext": "5"})),  # mixed beats float
        ("/users/-1", ("by_name", {"name": "-1"})),
        (
            "/users/12345678-1234-5678-1234-567812345678",
            ("by_uuid", {"u": uuid.UUID("12345678-1234-5678-1234-567812345678")}),
        ),
        ("/users/bob", ("by_name", {"name": "bob"})),
        ("/users/bob.json", ("as_json", {"name": "bob"})),  # more literal text first
        ("/users/bob.xml", ("by_ext", {"name": "bob", "ext": "xml"})),
        ("/users/a.b.c", ("by_ext", {"name": "a.b", "ext": "c"})),  # greedy left to right
        ("/users/bob/x", ("rest", {"rest": "bob/x"})),
        ("/users/new/edit", ("edit_new", {})),
        ("/users/new/profile", ("profile", {"name": "new"})),  # backtrack from new/
        ("/users/42/profile", ("profile", {"name": "42"})),  # int node had no profile
        ("/users/", ("rest", {"rest": ""})),  # {name} needs a non-empty segment
        ("/users", None),
        ("/v2/status", ("v_int", {"major": 2})),
        ("/vx/status", ("v_str", {"tag": "x"})),
        ("/v/status", None),
        ("/@ada", ("handle", {"handle": "ada"})),
        ("/@", None),
        ("/files/a%2Fb", ("file", {"name": "a/b"})),  # an encoded slash stays in its segment
        ("/files/a%2Fb/meta", ("file_meta", {"name": "a/b"})),
        ("/files/a%20b", ("file", {"name": "a b"})),
        ("/files/a+b", ("file", {"name": "a+b"})),  # + is not a space
        ("/files/caf%C3%A9", ("file", {"name": "café"})),
        ("/files/café", ("file", {"name": "café"})),  # unicode in the raw path
        ("/files/%25", ("file", {"name": "%"})),  # decoded once only
        ("/files/%2525", ("file", {"name": "%25"})),
        ("/files/", None),
        ("/files//meta", None),
        ("/static/", ("static", {"rest": ""})),
        ("/static/a//b", ("static", {"rest": "a//b"})),
        ("/static/css/site.css", ("static", {"rest": "css/site.css"})),
        ("/static/a%2Fb/c", ("static", {"rest": "a/b/c"})),
        ("/static", None),
        ("/", ("home", {})),
        ("/trailing/", ("trailing_slash", {})),
        ("/trailing", ("no_slash", {})),
        ("/café", ("cafe", {})),
        ("/caf%C3%A9", ("cafe", {})),
        ("/caf%c3%a9", ("cafe", {})),
        ("/CAFÉ", None),  # case-sensitive
        ("/a+b", ("plus", {})),
        ("/a%2Bb", ("plus", {})),
        ("/a b", None),
        ("/a//b", ("double", {})),
        ("/a/b", None),  # no slash merging
        ("/users/./me", ("rest", {"rest": "./me"})),  # no dot-segment rewriting
        ("", None),
        ("*", None),
        ("users/me", None),
    ],
)
def test_match(path: str, expected: tuple[str, dict[str, Any]] | None) -> None:
    assert lookup(PRIORITY, "GET", path) == expected
    explanation = PRIORITY.explain("GET", path)
    assert explanation.match == PRIORITY.match("GET", path)


def test_priority_does_not_depend_on_registration_order() -> None:
    lines = [
        "GET /users/{rest:path} rest",
        "GET /users/{name} by_name",
        "GET /users/{id:int} by_int",
        "GET /users/{name}.{ext} by_ext",
        "GET /users/me me",
    ]
    forward, backward = build(*lines), build(*reversed(lines))
    for path in ["/users/me", "/users/1", "/users/x", "/users/x.y", "/users/x/y", "/users/"]:
        assert lookup(forward, "GET", path) == lookup(backward, "GET", path)
    assert [c.label for c in forward.root.children[0].children] == [
        "me",
        "{name}.{ext}",
        "{id:int}",
        "{name}",
        "{rest:path}",
    ]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/items/1", ("item_get", {"id": 1})),
        ("POST", "/items/1", ("item_post_any", {"key": "1"})),  # int node has no POST
        ("DELETE", "/items/1", ("delete_all", {"rest": "items/1"})),
        ("PUT", "/items/1", None),
        ("HEAD", "/items/1", ("item_get", {"id": 1})),  # GET serves HEAD
        ("HEAD", "/only-head", ("explicit_head", {})),
        ("GET", "/only-head", ("get_not_head", {})),
        ("HEAD", "/post-only", None),
    ],
)
def test_method_aware_matching(method: str, path: str, expected: object) -> None:
    router = build(
        "GET /items/{id:int} item_get",
        "POST /items/{key} item_post_any",
        "DELETE /{rest:path} delete_all",
        "HEAD /only-head explicit_head",
        "GET /only-head get_not_head",
        "POST /post-only post_only",
    )
    assert lookup(router, method, path) == expected


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/files/%zz", "invalid percent-escape '%zz' in path segment '%zz'"),
        ("/files/a%2", "invalid percent-escape '%2' in path segment 'a%2'"),
        ("/files/%", "invalid percent-escape '%' in path segment '%'"),
        ("/files/%C3", "path segment '%C3' is not UTF-8 once percent-decoded"),
        ("/files/%FF%FE", "path segment '%FF%FE' is not UTF-8 once percent-decoded"),
    ],
)
def test_invalid_paths(path: str, message: str) -> None:
    with pytest.raises(InvalidPath) as info:
        PRIORITY.match("GET", path)
    assert str(info.value) == message


def test_match_object() -> None:
    router = Router()
    user = endpoint("user")
    route = router.add("/users/{user_id:int}", user, methods=["get"], extras={"max_body_size": 10})
    m = router.match("GET", "/users/42")
    assert isinstance(m, Match)
    assert m.route is route
    assert m.route.endpoint is user
    assert m.route.path == "/users/{user_id:int}"
    assert m.route.methods == frozenset({"GET"})
    assert m.route.name == "user"
    assert m.route.extras == {"max_body_size": 10}
    assert m.params == {"user_id": 42}
    assert repr(route) == "Route(path='/users/{user_id:int}', name='user', methods=['GET'])"
    assert repr(m) == (
        "Match(route=Route(path='/users/{user_id:int}', name='user', methods=['GET']),"
        " params={'user_id': 42})"
    )


def test_a_route_is_one_registration_equal_only_to_itself() -> None:
    # Identity, not field equality: the App keys each route's handler by the route, and
    # extras may hold a dict, which field-wise hashing would refuse.
    router = Router()
    get = router.add("/items", endpoint("items"), methods=["GET"], extras={"max_body_size": 10})
    post = router.add("/items", get.endpoint, methods=["POST"], extras={"max_body_size": 10})
    twin = Route(get.path, get.endpoint, get.methods, get.name, get.extras)
    assert get == get and get != twin and get != post
    assert {get: 1, twin: 2, post: 3}[twin] == 2


def test_methods_given_as_a_string_are_refused() -> None:
    with pytest.raises(InvalidPattern) as info:
        Router().add("/items", endpoint("items"), methods="POST")
    assert str(info.value) == (
        "route '/items': methods must be a list of names, e.g. ['POST'], not the string 'POST'"
    )


# -- registration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            "GET /u/{id} a",
            "GET /u/{name} b",
            "GET /u/{name} conflicts with GET /u/{id} (both match /u/{str});"
            " a serves it, b is another function",
        ),
        (
            "GET /u/{id:str} a",
            "GET /u/{name} b",
            "GET /u/{name} conflicts with GET /u/{id:str} (both match /u/{str});"
            " a serves it, b is another function",
        ),
        (
            "GET,POST /a a",
            "POST,PUT /a b",
            "POST,PUT /a conflicts with GET,POST /a (both match /a for POST);"
            " a serves it, b is another function",
        ),
        (
            "GET /f/{a}.{b:int} a",
            "GET /f/{x}.{y:int} b",
            "GET /f/{x}.{y:int} conflicts with GET /f/{a}.{b:int} (both match /f/{str}.{int});"
            " a serves it, b is another function",
        ),
        (
            "GET /s/{a:path} a",
            "GET /s/{b:path} b",
            "GET /s/{b:path} conflicts with GET /s/{a:path} (both match /s/{path});"
            " a serves it, b is another function",
        ),
    ],
)
def test_conflicts(first: str, second: str, message: str) -> None:
    router = build(first)
    methods, pattern, name = second.split(" ")
    with pytest.raises(RouteConflict) as info:
        router.add(pattern, endpoint(name), methods=methods.split(","))
    assert str(info.value) == message
    assert len(router.routes) == 1  # nothing half-registered


@pytest.mark.parametrize(
    "routes",
    [
        ["GET /u/{id} a", "POST /u/{name} b"],  # same shape, disjoint methods
        ["GET /u/{id:int} a", "GET /u/{name} b"],  # priority tells them apart
        ["GET /u/{a}.{b} a", "GET /u/{a}-{b} b"],
        ["GET /u a", "GET /u/ b"],
        ["GET /u a", "HEAD /u b"],  # an explicit HEAD route beside GET
    ],
)
def test_accepted_neighbours(routes: list[str]) -> None:
    assert len(build(*routes).routes) == 2


@pytest.mark.parametrize(
    ("add_second", "message"),
    [
        (
            lambda r: r.add("/people/{id}", endpoint("other"), name="user"),
            "name 'user' of GET /people/{id} is already used by GET /users/{id} (url_for would be"
            " ambiguous; give one of them another name=)",
        ),
        (
            lambda r: r.add("/people/{id}", endpoint("user")),
            "name 'user' of GET /people/{id} is already used by GET /users/{id} (url_for would be"
            " ambiguous; give one of them another name=)",
        ),
    ],
)
def test_duplicate_explicit_names(add_second: Callable[[Router], Any], message: str) -> None:
    router = Router()
    router.add("/users/{id}", endpoint("f"), name="user")
    with pytest.raises(RouteConflict) as info:
        add_second(router)
    assert str(info.value) == message


def test_shared_names() -> None:
    router = Router()
    # One name for several methods of the same path is fine.
    router.add("/users", endpoint("list_users"), methods=["GET"], name="users")
    router.add("/users", endpoint("create_user"), methods=["POST"], name="users")
    assert router.url_for("users") == "/users"
    # The same function at two paths: derived names are shared, url_for says so.
    page = endpoint("page")
    router.add("/a", page)
    router.add("/b", page)
    with pytest.raises(URLBuildError) as info:
        router.url_for("page")
    assert str(info.value) == (
        "route name 'page' is ambiguous: it names /a, /b (give each route its own name=)"
    )


def test_no_methods() -> None:
    with pytest.raises(InvalidPattern) as info:
        Router().add("/a", endpoint("a"), methods=[])
    assert str(info.value) == "route '/a' has no methods (give at least one, e.g. ['GET'])"


def test_decorators_and_defaults() -> None:
    router = Router()

    @router.get("/health")
    async def health(request: object) -> None: ...

    @router.post("/items", name="create")
    async def create_item(request: object) -> None: ...

    @router.put("/items/{id:int}")
    async def put_item(request: object) -> None: ...

    @router.patch("/items/{id:int}")
    async def patch_item(request: object) -> None: ...

    @router.delete("/items/{id:int}")
    async def delete_item(request: object) -> None: ...

    @router.route("/any", methods=["GET", "POST"], extras={"x": 1})
    async def anything(request: object) -> None: ...

    assert [repr(r) for r in router.routes] == [
        "Route(path='/health', name='health', methods=['GET'])",
        "Route(path='/items', name='create', methods=['POST'])",
        "Route(path='/items/{id:int}', name='put_item', methods=['PUT'])",
        "Route(path='/items/{id:int}', name='patch_item', methods=['PATCH'])",
        "Route(path='/items/{id:int}', name='delete_item', methods=['DELETE'])",
        "Route(path='/any', name='anything', methods=['GET', 'POST'])",
    ]
    assert router.routes[-1].extras == {"x": 1}
    assert Router().add("/x", health).methods == frozenset({"GET"})


def test_custom_converters_are_per_router() -> None:
    router = Router()
    router.register_converter("slug", r"[a-z0-9-]+")
    router.register_converter("year", r"[0-9]{4}", parse=int, format=lambda y: f"{y:04d}")
    router.add("/posts/{y:year}/{s:slug}", endpoint("post"))
    router.add("/posts/{y:int}/{s}", endpoint("post_any"))
    router.add("/posts/{n}/{s}", endpoint("fallback"))
    assert lookup(router, "GET", "/posts/2024/hello-world") == (
        "post_any",  # int outranks custom converters
        {"y": 2024, "s": "hello-world"},
    )
    assert lookup(router, "GET", "/posts/x/Hello") == ("fallback", {"n": "x", "s": "Hello"})
    assert router.url_for("post", y=999, s="a-b") == "/posts/0999/a-b"
    with pytest.raises(InvalidPattern, match="unknown converter 'slug'"):
        Router().add("/{s:slug}", endpoint("x"))
    with pytest.raises(InvalidPattern) as info:
        router.register_converter("int", r"[0-9]+")
    assert str(info.value) == (
        "converter 'int' is already registered (known: float, int, path, slug, str, uuid, year)"
    )


def test_custom_converter_outranks_str() -> None:
    router = Router()
    router.register_converter("hex", r"[0-9a-f]+", parse=lambda t: int(t, 16))
    router.add("/c/{name}", endpoint("by_name"))
    router.add("/c/{value:hex}", endpoint("by_hex"))
    assert lookup(router, "GET", "/c/ff") == ("by_hex", {"value": 255})
    assert lookup(router, "GET", "/c/fg") == ("by_name", {"name": "fg"})


# -- include ----------------------------------------------------------------------------------


def test_include() -> None:
    api = Router()
    api.register_converter("slug", r"[a-z-]+")
    api.add("/users/{id:int}", endpoint("user"), name="api_user")
    api.add("/", endpoint("api_root"))
    api.add("/posts/{s:slug}", endpoint("post"))
    app = Router()
    app.add("/", endpoint("home"))
    app.include(api, prefix="/api")
    assert [r.path for r in app.routes] == [
        "/",
        "/api/users/{id:int}",
        "/api/",
        "/api/posts/{s:slug}",
    ]
    assert lookup(app, "GET", "/api/users/3") == ("api_user", {"id": 3})
    assert lookup(app, "GET", "/api/") == ("api_root", {})
    assert app.url_for("api_user", id=3) == "/api/users/3"
    assert app.url_for("post", s="hi") == "/api/posts/hi"
    with pytest.raises(RouteConflict, match="name 'api_user'"):
        app.include(api, prefix="/v2")  # explicit names stay explicit
    with pytest.raises(InvalidPattern) as info:
        app.include(api, prefix="/api/")
    assert str(info.value) == (
        "include prefix '/api/' must start with '/' and not end with '/' (e.g. '/api')"
    )


def test_include_clashing_converters() -> None:
    a, b = Router(), Router()
    a.register_converter("slug", r"[a-z]+")
    b.register_converter("slug", r"[a-z-]+")
    with pytest.raises(InvalidPattern) as info:
        a.include(b, prefix="/b")
    assert str(info.value) == (
        "converter 'slug' of the included router differs from this router's"
        " (register it once, or give one of them another name)"
    )


# -- methods and slashes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/users", {"GET", "HEAD", "POST", "PATCH"}),  # the catch-all takes every path
        ("/users/1", {"GET", "HEAD", "DELETE", "PUT", "PATCH"}),
        ("/users/x", {"PUT", "PATCH"}),
        ("/nothing", {"PATCH"}),
        ("/users/", {"PATCH"}),
    ],
)
def test_allowed_methods(path: str, methods: set[str]) -> None:
    router = build(
        "GET,POST /users users",
        "GET,DELETE /users/{id:int} user",
        "PUT /users/{name} by_name",
        "PATCH /{rest:path} anything",
    )
    assert router.allowed_methods(path) == frozenset(methods)


@pytest.mark.parametrize(
    ("method", "path", "redirect"),
    [
        ("GET", "/users/", "/users"),
        ("GET", "/docs", "/docs/"),
        ("POST", "/users/", None),  # the other form has no POST route
        ("GET", "/users", None),  # a real match beats a redirect
        ("GET", "/", None),
        ("GET", "/nothing", None),
        ("GET", "/both", None),
        ("GET", "/items/42/", "/items/42"),
        ("HEAD", "/users/", "/users"),
    ],
)
def test_redirect_slash(method: str, path: str, redirect: str | None) -> None:
    router = build(
        "GET /users users",
        "GET /docs/ docs",
        "GET /both both",
        "GET /both/ both_slash",
        "GET /items/{id:int} item",
        "GET / home",
    )
    assert router.redirect_slash(method, path) == redirect


# -- url_for ----------------------------------------------------------------------------------


def test_url_for_errors() -> None:
    router = build(
        "GET /users/{user_id:int} user", "GET /users users", "GET /files/{rest:path} files"
    )
    assert router.url_for("user", user_id=42) == "/users/42"
    assert router.url_for("files", rest="a b/c.txt") == "/files/a%20b/c.txt"
    cases: list[tuple[Callable[[], str], str]] = [
        (lambda: router.url_for("usr"), "no route named 'usr' (did you mean 'user', 'users'?)"),
        (lambda: router.url_for("zzz"), "no route named 'zzz' (known: 'files', 'user', 'users')"),
        (
            lambda: router.url_for("user"),
            "missing parameter 'user_id' for route 'user' (/users/{user_id:int})",
        ),
        (
            lambda: router.url_for("user", user_id=1, page=2),
            "unexpected parameter 'page' for route 'user' (/users/{user_id:int})"
            " (it takes: 'user_id')",
        ),
        (
            lambda: router.url_for("user", user_id="me"),
            "invalid value 'me' for parameter 'user_id' ({user_id:int}) of route 'user'"
            " (/users/{user_id:int}): int accepts [0-9]+",
        ),
    ]
    for call, message in cases:
        with pytest.raises(URLBuildError) as info:
            call()
        assert str(info.value) == message


def test_url_for_round_trips() -> None:
    router = build("GET /files/{name} file", "GET /v{major:int}/{name}.{ext} versioned")
    for name in ["a b", "a/b", "100%", "café", "a+b", "?#&="]:
        url = router.url_for("file", name=name)
        assert lookup(router, "GET", url) == ("file", {"name": name})
    url = router.url_for("versioned", major=3, name="a.b", ext="tar")
    assert url == "/v3/a.b.tar"
    assert lookup(router, "GET", url) == ("versioned", {"major": 3, "name": "a.b", "ext": "tar"})


# -- the tree ---------------------------------------------------------------------------------


def test_tree_shape_and_compression() -> None:
    router = build(
        "GET /users/events events",
        "GET /users/{id:int} user",
        "GET /repos/{owner}/{repo} repo",
        "GET /a/b/c/d abcd",
    )
    root = router.root
    assert root.kind == "root"
    assert [(c.kind, c.label) for c in root.children] == [
        ("static", "a/b/c/d"),  # a chain of single children is one node
        ("static", "repos"),  # runs are not compressed across parameters
        ("static", "users"),
    ]
    users = root.children[2]
    assert [(c.kind, c.label) for c in users.children] == [
        ("static", "events"),
        ("param", "{id:int}"),
    ]
    param = users.children[1]
    assert (param.param, param.converter) == ("id", "int")
    assert param.routes == {"GET": router.routes[1]}
    assert users.routes == {}
    # Adding a route inside a compressed run splits it.
    router.add("/a/b", endpoint("ab"))
    a = root.children[0]
    assert a.label == "a/b"
    assert [c.label for c in a.children] == ["c/d"]
    assert lookup(router, "GET", "/a/b") == ("ab", {})
    assert lookup(router, "GET", "/a/b/c/d") == ("abcd", {})
    assert lookup(router, "GET", "/a/b/c") is None


def test_mixed_and_catch_all_nodes() -> None:
    router = build("GET /files/{name}.{ext} file", "GET /static/{rest:path} static")
    files, static = router.root.children
    mixed = files.children[0]
    assert (mixed.kind, mixed.label, mixed.param, mixed.converter) == (
        "mixed",
        "{name}.{ext}",
        None,
        None,
    )
    catch_all = static.children[0]
    assert (catch_all.kind, catch_all.label, catch_all.param, catch_all.converter) == (
        "catch_all",
        "{rest:path}",
        "rest",
        "path",
    )
    assert isinstance(catch_all, Node)


def test_str_prints_the_tree() -> None:
    router = build(
        "GET / home",
        "GET,POST /users users",
        "GET /users/{id:int} user",
        "DELETE /users/{id:int} delete_user",
        "GET /users/{id:int}/events/public events",
        "GET /files/{name}.{ext} file",
        "GET /static/{rest:path} static",
    )
    assert str(router) == "\n".join(
        [
            "<root>",
            "├── /  GET home",
            "├── /files",
            "│   └── /{name}.{ext}  GET file",
            "├── /static",
            "│   └── /{rest:path}  GET static",
            "└── /users  GET users, POST users",
            "    └── /{id:int}  DELETE delete_user, GET user",
            "        └── /events/public  GET events",
        ]
    )


def test_explain_narrates_backtracking() -> None:
    router = build("GET /users/new/edit edit", "GET /users/{id}/profile profile")
    explanation = router.explain("GET", "/users/new/profile")
    assert str(explanation) == "\n".join(
        [
            "GET /users/new/profile",
            "  enter     /: segments ['users', 'new', 'profile']",
            "  enter     users: static 'users'",
            "  reject    new/edit: static 'new/edit' does not match 'new/profile'",
            "  enter     {id}: {id} accepts 'new'",
            "  enter     profile: static 'profile'",
            "  match     profile: GET -> Route(path='/users/{id}/profile', name='profile',"
            " methods=['GET'])",
        ]
    )
    users = router.root.children[0]
    assert explanation.steps[1].node is users
    assert explanation.match == router.match("GET", "/users/new/profile")


def test_explain_miss_and_method() -> None:
    router = build("POST /a/{x:int} post", "GET /a/b/c abc")
    explanation = router.explain("GET", "/a/1")
    assert [(s.node.label, s.action) for s in explanation.steps] == [
        ("", "enter"),
        ("a", "enter"),
        ("{x:int}", "enter"),
        ("{x:int}", "reject"),
        ("{x:int}", "backtrack"),
        ("a", "backtrack"),
        ("", "miss"),
    ]
    assert explanation.steps[3].detail == "path ends here; no GET route (methods: POST)"
    assert explanation.steps[-1].detail == "no route matches GET /a/1"
    assert explanation.match is None


def test_route_record() -> None:
    route = Route("/x", endpoint("x"))
    assert route.methods == frozenset({"GET"})
    assert route.extras == {}
    with pytest.raises(AttributeError):
        route.path = "/y"  # type: ignore[misc]


def test_static_matches_are_shared_and_read_only() -> None:
    router = build("GET /a a", "GET /b/{x} b")
    first, second = router.match("GET", "/a"), router.match("GET", "/a")
    assert first is second  # built once, at registration
    assert first is not None and first.params == {}
    with pytest.raises(TypeError):
        first.params["x"] = 1  # type: ignore[index]
    # Matches with parameters get a fresh dict each time.
    one, two = router.match("GET", "/b/1"), router.match("GET", "/b/1")
    assert one == two and one is not two
    assert one is not None and two is not None and one.params is not two.params


def test_explain_and_allowed_methods_refuse_bad_paths() -> None:
    router = build("GET /a/{x} a")
    with pytest.raises(InvalidPath):
        router.explain("GET", "/a/%zz")
    with pytest.raises(InvalidPath):
        router.allowed_methods("/a/%C3")


@pytest.mark.parametrize(
    ("path", "redirect"),
    [
        ("/caf%C3%A9/", "/caf%C3%A9"),  # the raw form comes back, escapes kept
        ("/a/b%2Fc", "/a/b%2Fc/"),
    ],
)
def test_redirect_slash_keeps_escapes(path: str, redirect: str) -> None:
    router = build("GET /café cafe", "GET /a/{x}/ slashed")
    assert router.redirect_slash("GET", path) == redirect


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/u/1", ("user_get", {"id": "1"})),
        ("HEAD", "/u/1", ("user_get", {"id": "1"})),
        ("POST", "/u/1", ("user_post", {"name": "1"})),
        ("PUT", "/v/p/2", ("v_put", {"a": "p", "b": 2})),
        ("PATCH", "/v/p/2", ("v_patch", {"x": "p", "y": 2})),
    ],
)
def test_same_shape_routes_keep_their_own_names(
    method: str, path: str, expected: tuple[str, dict[str, Any]]
) -> None:
    # One node serves both routes of a shape; each route still binds its own names.
    router = build(
        "GET /u/{id} user_get",
        "POST /u/{name} user_post",
        "PUT /v/{a}/{b:int} v_put",
        "PATCH /v/{x}/{y:int} v_patch",
    )
    assert lookup(router, method, path) == expected
    explained = router.explain(method, path).match
    assert explained is not None and explained.params == expected[1]


def test_head_route_beside_get() -> None:
    router = build("GET /page page", "HEAD /page page_head")
    assert lookup(router, "HEAD", "/page") == ("page_head", {})
    assert lookup(router, "GET", "/page") == ("page", {})
    assert router.allowed_methods("/page") == frozenset({"GET", "HEAD"})
    with pytest.raises(RouteConflict) as info:
        router.add("/page", endpoint("again"), methods=["HEAD", "POST"])
    assert str(info.value) == (
        "HEAD,POST /page conflicts with HEAD /page (both match /page for HEAD);"
        " page_head serves it, again is another function"
    )


def test_refused_include_changes_nothing() -> None:
    api = build("GET /users api_users", "GET /users/{id} api_user", "POST /items api_items")
    api.register_converter("slug", r"[a-z]+")
    api.add("/s/{x:slug}", endpoint("api_slug"))
    app = build("GET /api/users/{name} mine", "GET /api/x/y/z deep")
    before = str(app)
    with pytest.raises(RouteConflict) as info:
        app.include(api, prefix="/api")
    assert str(info.value) == (
        "GET /api/users/{id} conflicts with GET /api/users/{name} (both match /api/users/{str});"
        " mine serves it, api_user is another function"
    )
    assert str(app) == before
    assert [r.name for r in app.routes] == ["mine", "deep"]
    assert "slug" not in app.converters
    # Nor segments parsed with its converters: {x:slug} stays unknown here.
    with pytest.raises(InvalidPattern):
        app.add("/s/{x:slug}", endpoint("s"))
    # Inside a compressed run (/api/x/y/z) nothing exists yet: no conflict there.
    app.include(build("GET /y other_y"), prefix="/api/x")
    assert lookup(app, "GET", "/api/x/y") == ("other_y", {})
    assert lookup(app, "GET", "/api/x/y/z") == ("deep", {})


def test_parameters_never_match_empty_text() -> None:
    router = Router()
    router.register_converter("opt", r"[a-z]*")  # its regex would take ""
    router.add("/a/{x:opt}", endpoint("whole"))
    router.add("/b/{x:opt}-{y:opt}", endpoint("mixed"))
    router.add("/a/{rest:path}", endpoint("rest"))
    assert lookup(router, "GET", "/a/abc") == ("whole", {"x": "abc"})
    assert lookup(router, "GET", "/a/") == ("rest", {"rest": ""})
    assert lookup(router, "GET", "/b/x-y") == ("mixed", {"x": "x", "y": "y"})
    assert lookup(router, "GET", "/b/x-") is None
    assert router.allowed_methods("/b/-y") == frozenset()
    assert router.explain("GET", "/a/").match == router.match("GET", "/a/")


def test_a_long_mixed_segment_is_no_match() -> None:
    # Its regex backtracks through every split before failing: cubic in the length with
    # three parameters. Past MAX_MIXED_SEGMENT characters the segment is no match.
    router = Router()
    router.add("/files/{name}.{ext}", endpoint("file"))
    router.add("/m/{a}-{b}-{c}.x", endpoint("three"))
    name = "n" * (MAX_MIXED_SEGMENT - 4)
    assert lookup(router, "GET", f"/files/{name}.txt") == ("file", {"name": name, "ext": "txt"})
    assert lookup(router, "GET", f"/files/{name}x.txt") is None
    assert (
        lookup(router, "GET", "/m/" + "-" * 5000) is None
    )  # about two minutes with the regex alone
    assert router.allowed_methods("/m/" + "-" * 5000) == frozenset()


# -- one walk per request: the match, or why not ---------------------------------------------


def walk_counter() -> tuple[Router, list[str]]:
    """A router whose root parameter counts the walks: each walk asks its converter once."""
    seen: list[str] = []

    def parse(text: str) -> str:
        seen.append(text)
        return text

    router = Router()
    router.register_converter("seen", r"[a-z]+", parse=parse)
    for line in ["GET /{x:seen} page", "GET /{x:seen}/items/ items", "POST /{x:seen}/form form"]:
        methods, pattern, name = line.split(" ")
        router.add(pattern, endpoint(name), methods=methods.split(","), name=name)
    return router, seen


def answer(app: App, method: str, path: str) -> tuple[int, dict[str, str]]:
    """The status and headers ``app`` answers with: a bare ASGI exchange, no client."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
    }
    asyncio.run(app(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers


@pytest.mark.parametrize(
    ("method", "path", "status", "header"),
    [
        ("GET", "/abc", 204, None),  # (the handler returns None)
        ("PUT", "/abc", 405, ("allow", "GET, HEAD, OPTIONS")),
        ("OPTIONS", "/abc", 204, ("allow", "GET, HEAD, OPTIONS")),
        ("GET", "/abc/", 308, ("location", "/abc")),
        ("GET", "/abc/items", 308, ("location", "/abc/items/")),
        ("GET", "/abc/form", 405, ("allow", "OPTIONS, POST")),
        ("DELETE", "/abc/items/", 405, ("allow", "GET, HEAD, OPTIONS")),
        ("GET", "/abc/nothing", 404, None),
    ],
)
def test_a_request_walks_the_tree_once(
    method: str, path: str, status: int, header: tuple[str, str] | None
) -> None:
    # A 404 used to walk four times (match, redirect_slash twice, allowed_methods): the
    # walk that finds no route now notes the allowed methods and the other slash form.
    router, seen = walk_counter()
    got, headers = answer(App(router=router), method, path)
    assert (got, seen) == (status, ["abc"])
    if header is not None:
        assert headers[header[0]] == header[1]


@pytest.mark.parametrize(
    ("routes", "method", "path", "allowed", "redirect"),
    [
        (["GET /users"], "GET", "/users/", [], "/users"),
        (["GET /users"], "POST", "/users/", [], None),
        (["GET,POST /users"], "PUT", "/users", ["GET", "HEAD", "POST"], None),
        (["GET /docs/"], "GET", "/docs", [], "/docs/"),  # one compressed node: "docs/"
        (["GET /a/b/", "GET /x"], "GET", "/a/b", [], "/a/b/"),  # deep in a run
        (["GET /a/b/c/", "GET /a/x"], "GET", "/a/b/c", [], "/a/b/c/"),
        (["GET /items/{id:int}"], "GET", "/items/7/", [], "/items/7"),
        (["GET /items/{id:int}/"], "HEAD", "/items/7", [], "/items/7/"),
        (["GET /static/{rest:path}"], "GET", "/static", [], "/static/"),  # rest ""
        (["GET /a", "POST /a/{rest:path}"], "GET", "/a/x/", ["POST"], None),
        (["GET /a", "POST /a/{rest:path}"], "GET", "/a/", ["POST"], "/a"),
        (["GET /a/{rest:path}"], "POST", "/a/x", ["GET", "HEAD"], None),
        (["GET /"], "GET", "//", [], "/"),
        (["GET //"], "GET", "/", [], None),  # never a redirect for "/"
        (["GET /a/{y:int}/x", "GET /a/{z}/"], "GET", "/a/1", [], "/a/1/"),  # a backtrack
        (["GET /users"], "GET", "users/", [], None),  # not an absolute path
    ],
)
def test_lookup_says_why_there_is_no_match(
    routes: list[str], method: str, path: str, allowed: list[str], redirect: str | None
) -> None:
    router = build(*(f"{line} r{i}" for i, line in enumerate(routes)))
    miss = router.lookup(method, path)
    assert not miss and not isinstance(miss, Match)
    assert (sorted(miss.allowed), miss.redirect) == (allowed, redirect)
    # What two more walks each, and a lookup again, say too.
    assert miss.allowed == router.allowed_methods(path)
    assert miss.redirect == router.redirect_slash(method, path)
    other = redirect and router.match(method, redirect)
    assert (other is not None) == (redirect is not None)


def test_issue_22_is_a_404_in_milliseconds() -> None:
    router = build("GET /n/{a}.{b}.{c}.{d}.{e:int} n")
    started = time.process_time()
    miss = router.lookup("GET", "/n/" + "." * 254 + "x")
    assert (miss.allowed, miss.redirect) == (frozenset(), None)  # 404
    assert time.process_time() - started < 0.5  # 19.2 s of CPU before; the steps: test_patterns


def test_a_route_without_a_name_shows_as_a_question_mark() -> None:
    import functools

    router = Router()
    router.add("/part", functools.partial(endpoint("x")))  # a partial has no __name__
    assert str(router).splitlines()[1] == "└── /part  GET ?"


def test_a_check_that_refuses_a_route_leaves_the_router_unchanged() -> None:
    def refuse(route: Route) -> None:
        raise ValueError(f"not {route.path}")

    router = Router()
    with pytest.raises(ValueError, match=r"not /users/\{id\}"):
        router.add("/users/{id}", endpoint("u"), prepare=refuse)
    group = Router()
    group.add("/a", endpoint("a"))
    with pytest.raises(ValueError, match="not /g/a"):
        router.include(group, prefix="/g", prepare=refuse)
    assert router.routes == [] and router.match("GET", "/users/1") is None
    assert str(router) == str(Router())


# -- re-running a notebook cell -----------------------------------------------------------------


def cell(function: str, module: str = "__main__") -> Callable[..., Any]:
    """``async def function(request)`` as a notebook cell defines it, compiled anew each call.

    Each call is the cell run (again): a new function object, new code, the same module
    and qualified name. (``endpoint()`` makes functions from one ``def``, like a loop.)
    """
    namespace: dict[str, Any] = {"__name__": module}
    source = f"async def {function}(request):\n    return None\n"
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace[function]  # type: ignore[no-any-return]


def cells(*routes: str) -> Router:
    """A router from "METHODS /pattern function" lines, each function defined by a cell."""
    router = Router()
    for line in routes:
        methods, pattern, function = line.split(" ")
        router.add(pattern, cell(function), methods=methods.split(","))
    return router


def routes_of(router: Router) -> list[str]:
    return [repr(route) for route in router.routes]


@pytest.mark.parametrize(
    ("before", "again", "after", "tree", "served"),
    [
        # The same methods: the route is replaced in place, the tree is unchanged.
        (
            ["GET / home", "GET /users/{id:int} user", "GET /users/me me"],
            "GET /users/{id:int} user",
            [
                "Route(path='/', name='home', methods=['GET'])",
                "Route(path='/users/{id:int}', name='user', methods=['GET'])",
                "Route(path='/users/me', name='me', methods=['GET'])",
            ],
            None,
            {"GET": "new", "HEAD": "new", "POST": None},
        ),
        (
            ["GET /a a", "GET,POST /items items", "GET /z z"],
            "GET,POST /items items",
            [
                "Route(path='/a', name='a', methods=['GET'])",
                "Route(path='/items', name='items', methods=['GET', 'POST'])",
                "Route(path='/z', name='z', methods=['GET'])",
            ],
            None,
            {"GET": "new", "HEAD": "new", "POST": "new"},
        ),
        # Fewer methods: the re-run is the new truth, POST goes with the old route.
        (
            ["GET,POST /items items"],
            "GET /items items",
            ["Route(path='/items', name='items', methods=['GET'])"],
            "<root>\n└── /items  GET items",
            {"GET": "new", "HEAD": "new", "POST": None},
        ),
        # GET goes: so does the HEAD it served, in the static fast path too.
        (
            ["GET,POST /items items"],
            "POST /items items",
            ["Route(path='/items', name='items', methods=['POST'])"],
            "<root>\n└── /items  POST items",
            {"GET": None, "HEAD": None, "POST": "new"},
        ),
        (
            ["GET /items items", "GET /z z"],
            "GET,PUT /items items",
            [
                "Route(path='/items', name='items', methods=['GET', 'PUT'])",
                "Route(path='/z', name='z', methods=['GET'])",
            ],
            "<root>\n├── /items  GET items, PUT items\n└── /z  GET z",
            {"GET": "new", "HEAD": "new", "PUT": "new"},
        ),
        # The parameter renamed in the cell: the same shape, so the same route.
        (
            ["GET /users/{id:int} user", "GET /users/{id:int}/repos repos"],
            "GET /users/{user_id:int} user",
            [
                "Route(path='/users/{user_id:int}', name='user', methods=['GET'])",
                "Route(path='/users/{id:int}/repos', name='repos', methods=['GET'])",
            ],
            None,  # (the node keeps the label its first route gave it)
            {"GET": "new", "HEAD": "new"},
        ),
        # Two routes of one function collide with the re-run: both go, it takes the first place.
        (
            ["GET /p page", "POST /p page", "GET /q q"],
            "GET,POST /p page",
            [
                "Route(path='/p', name='page', methods=['GET', 'POST'])",
                "Route(path='/q', name='q', methods=['GET'])",
            ],
            None,
            {"GET": "new", "HEAD": "new", "POST": "new"},
        ),
        # No collision, no replacement: another method, or another path, is another route.
        (
            ["GET /p page"],
            "POST /p page",
            [
                "Route(path='/p', name='page', methods=['GET'])",
                "Route(path='/p', name='page', methods=['POST'])",
            ],
            "<root>\n└── /p  GET page, POST page",
            {"GET": "old", "HEAD": "old", "POST": "new"},
        ),
        (
            ["GET /a page"],
            "GET /b page",
            [
                "Route(path='/a', name='page', methods=['GET'])",
                "Route(path='/b', name='page', methods=['GET'])",
            ],
            "<root>\n├── /a  GET page\n└── /b  GET page",
            {"GET": "new", "HEAD": "new", "POST": None},
        ),
    ],
)
def test_a_rerun_cell_replaces_its_own_route(
    before: list[str], again: str, after: list[str], tree: str | None, served: dict[str, str | None]
) -> None:
    router = cells(*before)
    tree_before = str(router)
    old = {route.path: route.endpoint for route in router.routes}
    methods, pattern, function = again.split(" ")
    new = cell(function)
    router.add(pattern, new, methods=methods.split(","))
    assert routes_of(router) == after
    assert str(router) == (tree_before if tree is None else tree)
    parsed = parse_pattern(pattern)
    path = parsed.build({name: 7 for name in parsed.names}, what="the test")
    # Every way of matching (the static fast path, the walk, the narrated walk) agrees.
    for method, who in served.items():
        want = {"new": new, "old": old.get(pattern), None: None}[who]
        found, explained = router.match(method, path), router.explain(method, path).match
        assert (found and found.route.endpoint) == want, method
        assert (explained and explained.route.endpoint) == want, method
    assert router.allowed_methods(path) == {m for m, who in served.items() if who}


def test_a_rerun_takes_the_new_name_and_options() -> None:
    router = Router()
    router.add("/users/{id}", cell("user"), name="person", extras={"max_body_size": 1})
    router.add("/users", cell("users"), name="people")
    # Edited: another parameter name, another route name, other extras.
    route = router.add("/users/{user_id}", cell("user"), name="member", extras={"tag": "x"})
    assert router.url_for("member", user_id="ada") == "/users/ada"
    with pytest.raises(URLBuildError, match="no route named 'person'"):
        router.url_for("person", id=1)
    assert dict(route.extras) == {"tag": "x"}
    assert router.match("GET", "/users/ada") == Match(route, {"user_id": "ada"})
    # The same explicit name again, at the renamed path: still its own name, no clash.
    again = router.add("/users/{uid}", cell("user"), name="member")
    assert router.url_for("member", uid=1) == "/users/1"
    assert router.routes[0] is again and len(router.routes) == 2


def test_a_rerun_cell_that_clashes_changes_nothing() -> None:
    router = cells("GET /p page")
    router.add("/p", endpoint("create"), methods=["POST"])
    router.add("/other", cell("other"), name="taken")
    before, routes = str(router), list(router.routes)
    # POST is another function's: refused as a whole, the old GET route stays.
    with pytest.raises(RouteConflict) as info:
        router.add("/p", cell("page"), methods=["GET", "POST"])
    assert str(info.value) == (
        "GET,POST /p conflicts with POST /p (both match /p for POST);"
        " create serves it, page is another function"
    )
    # A name explicitly another path's: refused too.
    with pytest.raises(RouteConflict, match="name 'taken' of GET /p is already used"):
        router.add("/p", cell("page"), name="taken")
    assert (str(router), router.routes) == (before, routes)
    found = router.match("GET", "/p")
    assert found is not None and found.route is routes[0]


def test_the_same_function_registered_again() -> None:
    page = endpoint("page")
    router = Router()
    first = router.add("/p", page)
    # Again, for the same method: replaced (a re-run cell that registers a function
    # defined in another cell); the new registration's name wins.
    second = router.add("/p", page, name="the_page")
    assert router.routes == [second] and router.match("GET", "/p") == Match(second, {})
    assert first is not second and router.url_for("the_page") == "/p"
    # For another method (@get and @post stacked on one function): a second route.
    third = router.add("/p", page, methods=["POST"])
    assert router.routes == [second, third]


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (lambda request: None, lambda request: None, " (a lambda replaces no other lambda)"),
        # One def run twice (a loop, a factory): the same code, so another function.
        (
            endpoint("page"),
            endpoint("page"),
            " (made by the same def: in a loop, or by a factory?)",
        ),
        (cell("page", "nb_one"), cell("page", "nb_two"), " (of module nb_two)"),
    ],
    ids=["lambdas", "same-def", "other-module"],
)
def test_same_names_yet_other_functions_conflict(
    first: Callable[..., Any], second: Callable[..., Any], why: str
) -> None:
    router = Router()
    router.add("/p", first, name="p")
    with pytest.raises(RouteConflict) as info:
        router.add("/p", second, name="p")
    name = first.__qualname__
    assert str(info.value) == (
        f"GET /p conflicts with GET /p (both match /p); {name} serves it, {name} is another"
        f" function{why}"
    )


def test_objects_without_a_qualname_replace_only_themselves() -> None:
    import functools

    page = endpoint("page")
    first, second = functools.partial(page), functools.partial(page)
    router = Router()
    router.add("/p", first, name="p")
    router.add("/p", first, name="p")  # the same object: replaced
    with pytest.raises(RouteConflict) as info:
        router.add("/p", second, name="p")
    assert str(info.value) == (
        "GET /p conflicts with GET /p (both match /p); partial object serves it, partial object"
        " is another function (an object with no __qualname__ replaces only itself)"
    )


def test_a_rerun_cell_sees_through_decorators() -> None:
    import functools

    def logged(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(request: object) -> Any:
            return await func(request)

        return wrapper

    router = Router()
    router.add("/p", logged(cell("page")))
    new = logged(cell("page"))  # the wrapper's code is shared, the page's is new
    router.add("/p", new)
    assert [r.endpoint for r in router.routes] == [new]
    with pytest.raises(RouteConflict):
        router.add("/p", logged(endpoint("page")), name="x")  # wrappers of one def in a loop
    with pytest.raises(RouteConflict):
        router.add("/p", logged(endpoint("page")), name="y")


def test_including_again_replaces_the_copies() -> None:
    def api_cell() -> Router:
        api = Router()
        api.register_converter("slug", r"[a-z-]+")  # an equal converter each run
        api.add("/posts/{s:slug}", cell("post"), name="post")
        api.add("/", cell("api_root"), methods=["GET", "POST"])
        return api

    app = Router()
    app.add("/", endpoint("home"))
    api = api_cell()
    app.include(api, prefix="/api")
    before = (str(app), routes_of(app))
    app.include(api, prefix="/api")  # the include cell run again
    assert (str(app), routes_of(app)) == before
    api = api_cell()  # the cell defining the group run again, then the include cell
    app.include(api, prefix="/api")
    assert (str(app), routes_of(app)) == before
    found = app.match("POST", "/api/")
    assert found is not None and found.route.endpoint is api.routes[1].endpoint
    assert app.url_for("post", s="hi") == "/api/posts/hi"


# -- decorator options, shared by App and Router (issue 18) ---------------------------------


async def _auth(request: Any) -> None: ...


async def _audit(request: Any) -> None: ...


def test_router_decorators_take_the_apps_options_into_extras() -> None:
    import inspect

    router = Router(dependencies=[_auth])

    @router.post(
        "/articles",
        name="create",
        max_body_size=10,
        max_files=1,
        max_fields=2,
        max_part_size=3,
        status_code=201,
        dependencies=[_audit],
        extras={"tag": "x"},
    )
    async def create(request: Any) -> None: ...

    (route,) = router.routes
    assert dict(route.extras) == {
        "tag": "x",
        "max_body_size": 10,
        "max_files": 1,
        "max_fields": 2,
        "max_part_size": 3,
        "status_code": 201,
        "dependencies": (_auth, _audit),
    }
    app = App()
    app.include(router, prefix="/api")
    (copy,) = app.router.routes
    assert (copy.path, copy.extras["dependencies"], copy.extras["status_code"]) == (
        "/api/articles",
        (_auth, _audit),
        201,
    )
    if not inspect.isfunction(Router.get):
        return  # compiled by mypyc: no signature to read (the interpreted run checks it)
    # One typed set of options for both: **options: Unpack[RouteOptions], never Any.
    for method in ["get", "post", "put", "patch", "delete", "route"]:
        mine = inspect.signature(getattr(Router, method)).parameters
        apps = inspect.signature(getattr(App, method)).parameters
        assert list(mine) == list(apps), method
        assert all(p.annotation is not Any for p in mine.values())
        assert "RouteOptions" in str(mine["options"].annotation), method
    with pytest.raises(InvalidArgumentType, match=r"route '/a': unknown option 'max_body'"):
        router.get("/a", max_body=10)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"status_code": "201"},
            InvalidArgumentType,
            "status_code of route '/a' must be an int, not '201'",
        ),
        (
            {"status_code": 700},
            InvalidArgument,
            "status_code of route '/a' must run from 100 to 599, not 700",
        ),
        (
            {"dependencies": _auth},
            InvalidArgumentType,
            "dependencies of route '/a' must be a list of callables, e.g. [_auth], not a function",
        ),
        (
            {"dependencies": [_auth, "token"]},
            InvalidArgumentType,
            "dependencies of route '/a': 'token' is not callable",
        ),
    ],
)
def test_route_options_are_checked(options: dict[str, Any], error: type, message: str) -> None:
    import inspect

    if not inspect.isfunction(Router.get) and type(options.get("status_code", 0)) is not int:
        # Compiled by mypyc, the annotation itself refuses a str: a plain TypeError.
        with pytest.raises(TypeError):
            Router().get("/a", **options)
        return
    with pytest.raises(error) as info:
        Router().get("/a", **options)
    assert str(info.value) == message


def test_a_routers_dependencies_are_checked() -> None:
    with pytest.raises(InvalidArgumentType, match="dependencies of Router"):
        Router(dependencies=["auth"])  # type: ignore[list-item]


@pytest.mark.parametrize(("prefix", "path"), [("/api/articles", "/api/articles"), ("", "/")])
def test_a_route_at_a_groups_prefix(prefix: str, path: str) -> None:
    group = Router()

    @group.get("", name="articles")
    async def articles(request: Any) -> None: ...

    @group.get("/{slug}", name="article")
    async def article(request: Any, slug: str) -> None: ...

    outer = Router()
    outer.include(group, prefix=prefix)
    found = outer.lookup("GET", path)
    assert found and found.route.name == "articles"
    assert outer.url_for("articles") == path
    miss = outer.lookup("GET", path + "/" if path != "/" else "//")
    assert not miss or miss.route.name != "articles"


def test_an_empty_path_used_directly_means_the_root() -> None:
    router = Router()

    @router.get("")
    async def home(request: Any) -> None: ...

    assert router.match("GET", "/").route.endpoint is home  # type: ignore[union-attr]
    assert router.url_for("home") == "/"
