"""The App through httpx's ASGI transport: handlers, return values, the outcome order
(200 / 308 / 405 / OPTIONS / 404), HEAD, errors and exception handlers, body limits,
background tasks and middleware order. One rule per test, status, headers and body."""

import asyncio
import logging
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from asgilab.app import App
from asgilab.errors import AsgilabError, HTTPException, InvalidArgumentType, RouteConflict
from asgilab.handlers import InvalidHandler
from asgilab.request import Request
from asgilab.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from asgilab.router import Router
from asgilab.types import ASGIApp, Receive, Scope, Send


def call(app: ASGIApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def make_app(**options: Any) -> App:
    app = App(**options)

    @app.get("/")
    async def index(request: Request) -> str:
        return "home"

    @app.get("/users/{user_id:int}", name="user")
    async def user(request: Request, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "params": request.path_params}

    @app.route("/items", methods=["GET", "POST"])
    async def items(request: Request) -> list[int]:
        return [1, 2]

    @app.get("/docs/")
    async def docs(request: Request) -> str:
        return "docs"

    @app.post("/echo")
    async def echo(request: Request) -> Any:
        return await request.json()

    return app


APP = make_app()


# -- handlers and return values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "status", "content_type", "body"),
    [
        ({"a": 1}, 200, "application/json", b'{"a":1}'),
        ([1, "é"], 200, "application/json", '[1,"é"]'.encode()),
        ("text", 200, "text/plain; charset=utf-8", b"text"),
        (b"\x00bin", 200, "application/octet-stream", b"\x00bin"),
        (None, 204, None, b""),
        (PlainTextResponse("made", 201), 201, "text/plain; charset=utf-8", b"made"),
    ],
)
def test_return_values(result: Any, status: int, content_type: str | None, body: bytes) -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Any:
        return result

    reply = call(app, "GET", "/")
    assert reply.status_code == status
    assert reply.headers.get("content-type") == content_type
    assert reply.content == body
    if status != 204:
        assert reply.headers["content-length"] == str(len(body))
    else:
        assert "content-length" not in reply.headers


def test_unsupported_return_value_is_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Any:
        return 42

    with caplog.at_level(logging.ERROR, "asgilab.app"):
        reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (500, "Internal Server Error")
    assert str(caplog.records[0].exc_info[1]) == (  # type: ignore[index]
        "handler test_unsupported_return_value_is_500_and_logged.<locals>.handler returned "
        "int; return a Response, dict, list, str, bytes or None"
    )


class BrokenBefore(Response):
    """A response that fails before it starts, as a file that cannot be read does."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise OSError("the disk went away")


class BrokenAfter(Response):
    """A response that fails after its start went out: too late for another answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise OSError("the disk went away")


def passthrough(app: ASGIApp) -> ASGIApp:
    async def layer(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return layer


@pytest.mark.parametrize("middleware", [False, True], ids=["plain", "with middleware"])
def test_a_response_that_fails_before_it_starts_gets_the_apps_500(
    middleware: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()
    if middleware:
        app.add_middleware(passthrough)

    @app.get("/")
    async def handler(request: Request) -> Response:
        return BrokenBefore()

    with caplog.at_level(logging.ERROR, "asgilab.app"):
        reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (500, "Internal Server Error")
    assert [r.getMessage() for r in caplog.records] == ["GET /: unhandled OSError"]


def test_an_exception_handler_shapes_a_response_that_failed_before_it_started() -> None:
    app = App()

    @app.exception_handler(OSError)
    async def unavailable(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"try again: {exc}", 503)

    @app.get("/")
    async def handler(request: Request) -> Response:
        return BrokenBefore()

    reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (503, "try again: the disk went away")


@pytest.mark.parametrize("middleware", [False, True], ids=["plain", "with middleware"])
def test_a_response_that_fails_after_it_started_goes_to_the_server_logged_by_it_alone(
    middleware: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()
    if middleware:
        app.add_middleware(passthrough)

    @app.get("/")
    async def handler(request: Request) -> Response:
        return BrokenAfter()

    with caplog.at_level(logging.ERROR, "asgilab.app"), pytest.raises(OSError):
        call(app, "GET", "/")
    assert caplog.records == []  # the server logs it, once


def test_app_state_is_set_on_the_app_and_read_by_handlers_as_request_app_state() -> None:
    app = App()
    app.state.greeting = "hello"

    @app.get("/")
    async def index(request: Request) -> str:
        return f"{request.app.state.greeting}, {request.app.state.name}"

    app.state.name = "ada"  # set after the route: read when the request comes
    assert call(app, "GET", "/").text == "hello, ada"
    assert repr(app.state) == "State({'greeting': 'hello', 'name': 'ada'})"


def test_app_state_names_a_missing_attribute_and_what_it_has() -> None:
    app = App()
    app.state.db = "a pool"
    with pytest.raises(AttributeError) as info:
        app.state.cache  # noqa: B018
    assert str(info.value) == "'State' has no attribute 'cache' (known: db)"
    with pytest.raises(AttributeError) as info:
        App().state.db  # noqa: B018
    assert str(info.value) == "'State' has no attribute 'db' (known: none)"


def test_app_state_is_the_apps_own_not_the_requests() -> None:
    # request.state starts as a copy of the lifespan's state, per request; app.state is one
    # bag for the app's lifetime, and two apps never share one.
    first, second = App(), App()
    first.state.hits = 0

    @first.get("/")
    async def index(request: Request) -> dict[str, Any]:
        request.app.state.hits += 1
        request.state.mine = True
        return {"hits": request.app.state.hits}

    assert [call(first, "GET", "/").json() for _ in range(2)] == [{"hits": 1}, {"hits": 2}]
    assert first.state is not second.state
    with pytest.raises(AttributeError):
        first.state.mine  # noqa: B018


def test_an_app_and_its_subclass_take_attributes_of_their_own() -> None:
    app = App()
    app.db = "a pool"  # type: ignore[attr-defined]

    class MyApp(App):
        pass

    mine = MyApp()
    mine.db = "a pool"  # type: ignore[attr-defined]
    assert (app.db, mine.db) == ("a pool", "a pool")  # type: ignore[attr-defined]


def test_a_static_route_reads_its_path_params_as_a_dict_it_may_send() -> None:
    app = App()

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        return {"params": request.path_params}

    response = call(app, "GET", "/health")
    assert (response.status_code, response.json()) == (200, {"params": {}})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"debug": 1}, "debug must be True or False, not 1"),
        ({"redirect_slashes": None}, "redirect_slashes must be True or False, not None"),
        ({"max_body_size": 10e6}, "max_body_size must be a whole number of bytes or None"),
        ({"max_body_size": -1}, "max_body_size must be a whole number of bytes or None"),
        ({"background_limit": 1.0}, "background_limit must be a whole number, not 1.0"),
    ],
)
def test_app_options_of_the_wrong_type_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentType) as info:
        App(**options)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"debug": 1},
            "debug must be True or False, not 1; pass App(debug=True) or App(debug=False)",
        ),
        (
            {"redirect_slashes": "no"},
            "redirect_slashes must be True or False, not 'no'; "
            "pass App(redirect_slashes=True) or App(redirect_slashes=False)",
        ),
        (
            {"background_limit": 1.0},
            "background_limit must be a whole number, not 1.0; "
            "pass an int, e.g. App(background_limit=100), the default",
        ),
        (
            {"background_queue": "10"},
            "background_queue must be a whole number, not '10'; "
            "pass an int, e.g. App(background_queue=1000), the default",
        ),
    ],
)
def test_option_errors_name_the_option_and_the_fix(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentType) as info:
        App(**options)
    assert str(info.value) == message
    # One asgilab error to catch them all, and still the TypeError Python code expects.
    assert isinstance(info.value, AsgilabError) and isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    "options", [{"max_body_size": 5e6}, {"extras": {"max_body_size": 5e6}}, {"max_body_size": True}]
)
def test_a_route_body_limit_that_is_no_whole_number_is_refused_before_the_route_is_added(
    options: dict[str, Any],
) -> None:
    app = App()
    refused = r"max_body_size of route '/upload' must be a whole number"
    with pytest.raises(TypeError, match=refused):

        @app.post("/upload", **options)
        async def upload(request: Request) -> bytes:
            return await request.body()

    assert app.router.routes == []


def test_a_refused_handler_leaves_no_route_so_the_fixed_one_can_be_registered() -> None:
    app = App()
    with pytest.raises(InvalidHandler):

        @app.get("/x")
        async def broken(request: Request, nope: int) -> str:
            return "never"

    @app.get("/x")  # as when a notebook cell is fixed and run again
    async def fixed(request: Request) -> str:
        return "ok"

    assert call(app, "GET", "/x").text == "ok"


def test_a_refused_include_leaves_the_app_unchanged() -> None:
    app = make_app()
    before = list(app.router.routes)
    group = Router()

    async def fine(request: Request) -> str:
        return "fine"

    async def broken(request: Request, nope: int) -> str:
        return "never"

    group.add("/a", fine)
    group.add("/b", broken)
    with pytest.raises(InvalidHandler):
        app.include(group, prefix="/g")
    assert app.router.routes == before
    assert call(app, "GET", "/g/a").status_code == 404


def test_methods_may_be_any_iterable_of_names() -> None:
    app = App()

    @app.route("/both", methods=("GET", "POST"))
    async def both(request: Request) -> str:
        return request.method

    assert call(app, "POST", "/both").text == "POST"


def test_path_params_passed_by_name_and_in_request() -> None:
    reply = call(APP, "GET", "/users/42")
    assert reply.status_code == 200
    assert reply.json() == {"id": 42, "params": {"user_id": 42}}


def test_a_parameter_named_in_any_python_identifier_reaches_the_handler() -> None:
    app = App()

    @app.get("/cafés/{café}")
    async def cafe(request: Request, café: str) -> str:
        return café

    assert call(app, "GET", "/cafés/flore").text == "flore"


def test_handler_may_declare_some_params_or_none() -> None:
    app = App()

    @app.get("/a/{x}/{y:int}")
    async def some(request: Request, y: int) -> dict[str, Any]:
        return {"y": y, "all": request.path_params}

    @app.get("/b/{x}")
    async def kw(request: Request, **params: Any) -> dict[str, Any]:
        return params

    @app.get("/health")
    async def bare() -> str:
        return "ok"

    assert call(app, "GET", "/a/s/3").json() == {"y": 3, "all": {"x": "s", "y": 3}}
    assert call(app, "GET", "/b/z").json() == {"x": "z"}
    assert call(app, "GET", "/health").text == "ok"


def test_handler_requiring_an_unknown_param_fails_at_registration() -> None:
    app = App()
    with pytest.raises(InvalidHandler) as info:

        @app.get("/users/{user_id:int}")
        async def user(request: Request, uid: int) -> None: ...

    assert str(info.value) == (
        "handler test_handler_requiring_an_unknown_param_fails_at_registration.<locals>.user"
        "(request: asgilab.request.Request, uid: int) -> None requires uid, which route "
        "'/users/{user_id:int}' does not provide (its parameters: user_id); rename the "
        "parameter or give it a default"
    )


def test_handler_whose_first_parameter_is_a_route_param_fails_at_registration() -> None:
    app = App()
    with pytest.raises(InvalidHandler) as info:

        @app.get("/users/{user_id:int}")
        async def user(user_id: int) -> None: ...

    assert str(info.value) == (
        "handler test_handler_whose_first_parameter_is_a_route_param_fails_at_registration."
        "<locals>.user(user_id: int) -> None: its first parameter 'user_id' receives the "
        "Request, yet it is a parameter of route '/users/{user_id:int}'; add a `request` "
        "parameter before it"
    )


def test_a_positional_only_path_parameter_is_refused_at_registration() -> None:
    # Path parameters are passed by name: `uid, /` would fail on every request.
    app = App()
    with pytest.raises(InvalidHandler, match="is positional-only; path parameters are passed"):

        @app.get("/u/{uid}")
        async def u(request: Request, uid: str, /) -> str:
            return uid

    @app.get("/v/{uid}")
    async def v(request: Request, /, uid: str) -> str:  # only the request positional-only
        return uid

    assert call(app, "GET", "/v/7").text == "7"


def test_sync_handlers_run_in_a_thread() -> None:
    app = App()
    loop_thread = threading.get_ident()

    @app.get("/")
    def blocking(request: Request) -> dict[str, bool]:
        return {"off_loop": threading.get_ident() != loop_thread}

    assert call(app, "GET", "/").json() == {"off_loop": True}


def test_sync_exception_handlers_run_in_a_thread() -> None:
    app = App()
    loop_thread = threading.get_ident()

    @app.exception_handler(404)
    def not_found(request: Request, exc: Exception) -> dict[str, bool]:
        return {"off_loop": threading.get_ident() != loop_thread}

    assert call(app, "GET", "/nowhere").json() == {"off_loop": True}


def test_url_for() -> None:
    assert APP.url_for("user", user_id=7) == "/users/7"


def test_include_router_with_prefix() -> None:
    app = App()
    api = Router()

    @api.get("/ping/{n:int}")
    async def ping(request: Request, n: int) -> dict[str, int]:
        return {"pong": n}

    app.include(api, prefix="/api")
    reply = call(app, "GET", "/api/ping/3")
    assert (reply.status_code, reply.json()) == (200, {"pong": 3})


# -- the outcome order ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "status", "headers", "body"),
    [
        ("GET", "/users/1", 200, {}, None),
        ("GET", "/docs", 308, {"location": "/docs/"}, b""),
        ("GET", "/docs?x=1&y=%20", 308, {"location": "/docs/?x=1&y=%20"}, b""),
        ("GET", "/items/", 308, {"location": "/items"}, b""),
        ("POST", "/items/", 308, {"location": "/items"}, b""),
        ("DELETE", "/items/", 404, {}, b"Not Found"),  # no DELETE on either form
        ("POST", "/users/1", 405, {"allow": "GET, HEAD, OPTIONS"}, b"Method Not Allowed"),
        ("OPTIONS", "/users/1", 204, {"allow": "GET, HEAD, OPTIONS"}, b""),
        ("OPTIONS", "/items", 204, {"allow": "GET, HEAD, OPTIONS, POST"}, b""),
        ("GET", "/users/abc", 404, {}, b"Not Found"),
        ("GET", "/nothing", 404, {}, b"Not Found"),
        ("OPTIONS", "/nothing", 404, {}, b"Not Found"),
        ("GET", "/", 200, {}, b"home"),
    ],
)
def test_outcome_order(
    method: str, url: str, status: int, headers: dict[str, str], body: bytes | None
) -> None:
    reply = call(APP, method, url)
    assert reply.status_code == status
    for name, value in headers.items():
        assert reply.headers[name] == value
    if body is not None:
        assert reply.content == body


def test_redirect_keeps_the_raw_encoding() -> None:
    app = App()

    @app.get("/files/{name}/")
    async def files(request: Request, name: str) -> str:
        return name

    reply = call(app, "GET", "/files/a%2Fb%20c")
    assert reply.status_code == 308
    assert reply.headers["location"] == "/files/a%2Fb%20c/"
    assert call(app, "GET", "/files/a%2Fb%20c/").text == "a/b c"


class SlashyRouter(Router):
    """A router whose slash rule proposes a given path, to test the App's guard alone."""

    def __init__(self, proposal: str) -> None:
        super().__init__()
        self.proposal = proposal

    def redirect_slash(self, method: str, path: str) -> str | None:
        return self.proposal


def test_redirect_never_to_another_host() -> None:
    # "//evil.example" in a Location is a URL on another host (an open redirect).
    reply = call(App(router=SlashyRouter("//evil.example")), "GET", "/x")
    assert reply.status_code == 404
    assert "location" not in reply.headers


def test_redirect_escapes_a_backslash() -> None:
    # Browsers read "/\\host" like "//host"; percent-encoded it is a plain path segment.
    reply = call(App(router=SlashyRouter("/\\evil.example")), "GET", "/x")
    assert reply.status_code == 308
    assert reply.headers["location"] == "/%5Cevil.example"


def test_redirect_can_be_switched_off() -> None:
    reply = call(make_app(redirect_slashes=False), "GET", "/docs")
    assert reply.status_code == 404


def test_head_is_get_without_body() -> None:
    get = call(APP, "GET", "/users/5")
    head = call(APP, "HEAD", "/users/5")
    assert head.status_code == get.status_code == 200
    assert head.headers == get.headers
    assert head.content == b""


def test_head_of_a_response_object() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Response:
        return JSONResponse({"a": 1}, headers={"x-a": "1"})

    head = call(app, "HEAD", "/")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "7", b"")


def test_invalid_percent_encoding_is_400() -> None:
    reply = call(APP, "GET", "/users/%ZZ")
    assert reply.status_code == 400
    assert reply.text.startswith("invalid path: ")


def test_an_int_segment_too_long_to_convert_is_404() -> None:
    # int() refuses more than 4,300 digits; that is no match, not an error for the server.
    assert call(APP, "GET", "/users/" + "1" * 5000).status_code == 404


def call_by_hand(app: App, scope: dict[str, Any], first: Any = None) -> list[Any]:
    """Call ``app`` as a server would, with a scope no client could build; return what it sent.

    ``receive`` answers ``first`` (default: an empty request body) and nothing else.
    """
    sent: list[Any] = []
    message = first or {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Any:
        return message

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_path_not_utf8_is_400() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/\udcff",
        "raw_path": b"/\xff",
        "query_string": b"",
        "headers": [],
    }
    start, body = call_by_hand(APP, scope)
    assert start["status"] == 400
    assert body["body"] == b"path is not valid UTF-8"


@pytest.mark.parametrize(
    ("root_path", "url", "status"),
    [
        ("/api", "/api/users/9", 200),
        ("/api", "/users/9", 200),
        ("/ap", "/api/users/9", 404),
        # root_path is decoded; the raw path may carry it percent-encoded.
        ("/my api", "/my%20api/users/9", 200),
        ("/café", "/caf%C3%A9/users/9", 200),
        ("/my api", "/my%20apix/users/9", 404),
    ],
)
def test_root_path_is_stripped_only_at_a_segment_boundary(
    root_path: str, url: str, status: int
) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": url,
        "raw_path": url.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [],
    }
    assert call_by_hand(make_app(), scope)[0]["status"] == status


def test_root_path_is_stripped_for_routing() -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/api/users/9")

    reply = asyncio.run(go())
    assert reply.status_code == 200
    assert reply.json()["id"] == 9


# -- errors --------------------------------------------------------------------------------


def test_http_exception_with_headers() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> None:
        raise HTTPException(401, "log in first", headers={"www-authenticate": "Bearer"})

    reply = call(app, "GET", "/")
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.text == "log in first"


def test_unexpected_error_is_plain_500_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> None:
        raise ValueError("secret detail")

    with caplog.at_level(logging.ERROR, "asgilab.app"):
        reply = call(app, "GET", "/")
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.text == "Internal Server Error"
    assert caplog.records[0].getMessage() == "GET /: unhandled ValueError"


def test_debug_shows_the_traceback() -> None:
    app = App(debug=True)

    @app.get("/")
    async def handler(request: Request) -> None:
        raise ValueError("secret detail")

    reply = call(app, "GET", "/")
    assert reply.status_code == 500
    assert reply.text.startswith("500 Internal Server Error\n\nTraceback (most recent call last):")
    assert reply.text.endswith("ValueError: secret detail\n")


def test_an_exception_handler_may_be_an_object_with_an_async_call() -> None:
    app = make_app()

    class Apologise:
        async def __call__(self, request: Request, exc: Exception) -> Response:
            return PlainTextResponse(f"sorry: {exc}", 409)

    @app.get("/conflict")
    async def conflict(request: Request) -> str:
        raise ValueError("taken")

    app.add_exception_handler(ValueError, Apologise())
    reply = call(app, "GET", "/conflict")
    assert (reply.status_code, reply.text) == (409, "sorry: taken")


def test_exception_handlers_by_class_and_by_status() -> None:
    app = App()

    class OutOfStock(Exception):
        pass

    @app.exception_handler(OutOfStock)
    async def out_of_stock(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "out of stock"}, status_code=409)

    @app.exception_handler(404)
    def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"no {request.path}"}, status_code=404)

    @app.exception_handler(Exception)
    async def anything(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"oops: {exc}", 500)

    @app.get("/buy")
    async def buy(request: Request) -> None:
        raise OutOfStock

    @app.get("/fail")
    async def fail(request: Request) -> None:
        raise RuntimeError("bad")

    @app.get("/gone")
    async def gone(request: Request) -> None:
        raise HTTPException(404)

    assert (r := call(app, "GET", "/buy")).status_code == 409 and r.json() == {
        "error": "out of stock"
    }
    assert (r := call(app, "GET", "/nowhere")).status_code == 404 and r.json() == {
        "error": "no /nowhere"
    }
    assert (r := call(app, "GET", "/gone")).status_code == 404 and r.json() == {"error": "no /gone"}
    assert (r := call(app, "GET", "/fail")).status_code == 500 and r.text == "oops: bad"


def test_failing_exception_handler_gives_plain_500() -> None:
    app = App()

    @app.exception_handler(ValueError)
    async def broken(request: Request, exc: Exception) -> Response:
        raise RuntimeError("handler bug")

    @app.get("/")
    async def handler(request: Request) -> None:
        raise ValueError("x")

    reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (500, "Internal Server Error")


def test_header_injection_in_a_handler_is_500_not_a_split_response() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Response:
        return PlainTextResponse("x", headers={"x-next": request.query["next"]})

    reply = call(app, "GET", "/", params={"next": "a\r\nSet-Cookie: evil=1"})
    assert reply.status_code == 500
    assert "set-cookie" not in reply.headers
    assert reply.text == "Internal Server Error"


def test_missing_and_bad_query_parameters_are_400() -> None:
    app = App()

    @app.get("/search")
    async def search(request: Request) -> dict[str, Any]:
        return {"q": request.query["q"], "page": request.query.get("page", 1, type=int)}

    assert call(app, "GET", "/search?q=x").json() == {"q": "x", "page": 1}
    assert (r := call(app, "GET", "/search")).status_code == 400
    assert r.text == "missing query parameter 'q'"
    assert (r := call(app, "GET", "/search?q=x&page=two")).status_code == 400
    assert r.text == "query parameter 'page' must be int (ASCII digits, such as 42), got 'two'"


def test_error_while_streaming_is_raised_to_the_server() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Response:
        async def broken() -> Any:
            yield b"start"
            raise RuntimeError("mid-stream")

        return StreamingResponse(broken())

    with pytest.raises(RuntimeError, match="mid-stream"):
        call(app, "GET", "/")


# -- bodies ---------------------------------------------------------------------------------


def test_json_in_and_out() -> None:
    reply = call(APP, "POST", "/echo", json={"name": "Zoë", "n": [1, 2]})
    assert reply.status_code == 200
    assert reply.json() == {"name": "Zoë", "n": [1, 2]}


def test_invalid_json_is_400() -> None:
    reply = call(APP, "POST", "/echo", content=b"{nope")
    assert reply.status_code == 400
    assert reply.text == (
        "invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"NaN", "NaN is not a JSON value"),
        (b'{"x": [-Infinity]}', "-Infinity is not a JSON value"),
        (b"1" * 5000, "a number has too many digits"),
        (b"[1e309]", "1e309 is too large for a float"),  # found by the fuzzer
    ],
)
def test_json_python_reads_but_json_lacks_is_400(body: bytes, reason: str) -> None:
    reply = call(APP, "POST", "/echo", content=body)
    assert (reply.status_code, reply.text) == (400, f"invalid JSON: {reason}")


def test_body_limit_per_app_and_per_route() -> None:
    app = App(max_body_size=10)

    @app.post("/small")
    async def small(request: Request) -> str:
        return str(len(await request.body()))

    @app.post("/big", max_body_size=100)
    async def big(request: Request) -> str:
        return str(len(await request.body()))

    reply = call(app, "POST", "/small", content=b"x" * 11)
    assert reply.status_code == 413
    assert reply.headers["connection"] == "close"
    assert reply.text == "request body larger than the limit of 10 bytes"
    assert call(app, "POST", "/big", content=b"x" * 50).text == "50"
    assert call(app, "POST", "/big", content=b"x" * 101).status_code == 413


def test_streamed_body_past_the_limit_is_413() -> None:
    app = App(max_body_size=10)

    @app.post("/")
    async def upload(request: Request) -> str:
        return str(len(await request.body()))

    async def chunks() -> Any:
        for _ in range(5):
            yield b"xxxx"

    reply = call(app, "POST", "/", content=chunks())
    assert (reply.status_code, reply.text) == (
        413,
        "request body larger than the limit of 10 bytes",
    )


def test_form_upload() -> None:
    app = App()

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        form = await request.form()
        file = form["file"]
        return {"title": form["title"], "name": file.filename, "data": (await file.read()).decode()}  # type: ignore[union-attr]

    reply = call(app, "POST", "/upload", data={"title": "t"}, files={"file": ("a.txt", b"abc")})
    assert reply.json() == {"title": "t", "name": "a.txt", "data": "abc"}


# -- background tasks -------------------------------------------------------------------


def test_background_tasks_run_after_the_response() -> None:
    app = App()
    events: list[str] = []

    async def later(tag: str) -> None:
        events.append(tag)

    @app.post("/signup")
    async def signup(request: Request) -> dict[str, str]:
        request.background.add(later, "welcome mail")
        return {"status": "ok"}

    @app.get("/report")
    async def report(request: Request) -> Response:
        from asgilab.background import BackgroundTask

        return PlainTextResponse("queued", background=BackgroundTask(later, "report"))

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/signup")).json() == {"status": "ok"}
            assert (await client.get("/report")).text == "queued"
        await app.background.drain(5)

    asyncio.run(go())
    assert sorted(events) == ["report", "welcome mail"]


def test_background_tasks_of_a_handler_that_raised_do_not_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    events: list[str] = []

    @app.post("/signup")
    async def signup(request: Request) -> None:
        request.background.add(events.append, "welcome mail")
        raise HTTPException(409, "email already registered")

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reply = await client.post("/signup")
        await app.background.drain(5)
        return reply

    with caplog.at_level(logging.INFO, logger="asgilab"):
        reply = asyncio.run(go())
    assert (reply.status_code, reply.text) == (409, "email already registered")
    assert events == []
    assert "signup raised, so its 1 background task(s) will not run" in caplog.text


# -- middleware ---------------------------------------------------------------------------


def test_middleware_order_last_added_is_outermost() -> None:
    app = App()
    log: list[str] = []

    @app.get("/")
    async def index(request: Request) -> str:
        log.append("handler")
        return "ok"

    def tracer(name: str) -> Any:
        async def mw(request: Request, call_next: Any) -> Response:
            log.append(f"{name} in")
            response = await call_next(request)
            log.append(f"{name} out")
            response.headers.append("x-trace", name)
            return response  # type: ignore[no-any-return]

        return mw

    app.middleware(tracer("first"))
    app.middleware(tracer("second"))
    reply = call(app, "GET", "/")
    assert reply.text == "ok"
    assert log == ["second in", "first in", "handler", "first out", "second out"]
    assert reply.headers.get_list("x-trace") == ["first", "second"]


def test_pure_asgi_middleware_with_options() -> None:
    app = make_app()

    class AddHeader:
        def __init__(self, app: ASGIApp, name: str, value: str) -> None:
            self.app, self.name, self.value = app, name.encode(), value.encode()

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def send_with_header(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (self.name, self.value)]
                await send(message)

            await self.app(scope, receive, send_with_header)

    app.add_middleware(AddHeader, name="x-served-by", value="asgilab")
    reply = call(app, "GET", "/")
    assert (reply.text, reply.headers["x-served-by"]) == ("home", "asgilab")


def test_starlette_cors_middleware() -> None:
    from starlette.middleware.cors import CORSMiddleware

    app = make_app()
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"])
    reply = call(app, "GET", "/", headers={"origin": "https://a.example"})
    assert reply.headers["access-control-allow-origin"] == "https://a.example"


def test_error_in_middleware_is_500(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()

    @app.middleware
    async def broken(request: Request, call_next: Any) -> Response:
        raise KeyError("mw")

    with caplog.at_level(logging.ERROR, "asgilab.app"):
        reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (500, "Internal Server Error")


def test_http_exception_in_middleware_uses_its_status() -> None:
    app = make_app()

    @app.middleware
    async def auth(request: Request, call_next: Any) -> Response:
        if "authorization" not in request.headers:
            raise HTTPException(401, "who are you?")
        return await call_next(request)  # type: ignore[no-any-return]

    reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (401, "who are you?")
    assert call(app, "GET", "/", headers={"authorization": "x"}).text == "home"


def test_a_body_streamed_by_middleware_fails_the_handler_clearly_not_by_hanging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()

    @app.middleware
    async def read_form(request: Request, call_next: Any) -> Response:
        await request.form()  # multipart: parsed as it streams in, not kept
        return await call_next(request)  # type: ignore[no-any-return]

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, list[str]]:
        return {"fields": sorted(await request.form())}

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            post = client.post("/upload", data={"a": "1"}, files={"f": ("x.txt", b"hi")})
            return await asyncio.wait_for(post, 5)

    reply = asyncio.run(go())
    assert (reply.status_code, reply.text) == (500, "Internal Server Error")
    assert "BodyConsumed: a function middleware read the body as a stream" in caplog.text


def test_a_client_gone_mid_body_behind_middleware_is_no_server_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()

    @app.middleware
    async def passing(request: Request, call_next: Any) -> Response:
        return await call_next(request)  # type: ignore[no-any-return]

    @app.post("/echo")
    async def echo(request: Request) -> bytes:
        return await request.body()

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "headers": [],
    }
    with caplog.at_level(logging.INFO, logger="asgilab"):
        sent = call_by_hand(app, scope, first={"type": "http.disconnect"})
    assert sent == []  # nobody to answer: no 500
    assert "the client disconnected mid-body" in caplog.text
    assert "ERROR" not in caplog.text


class Tag:
    """Pure ASGI middleware that appends ``x-tag: value`` to the response."""

    def __init__(self, app: ASGIApp, value: str) -> None:
        self.app, self.value = app, value.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-tag", self.value)]
            await send(message)

        await self.app(scope, receive, tagged)


def test_middleware_added_after_a_request_runs_from_the_next_request() -> None:
    app = make_app()
    assert call(app, "GET", "/").headers.get_list("x-tag") == []
    app.add_middleware(Tag, value="a")
    assert call(app, "GET", "/").headers.get_list("x-tag") == ["a"]
    app.add_middleware(Tag, value="b")
    reply = call(app, "GET", "/")
    assert (reply.text, reply.headers.get_list("x-tag")) == ("home", ["a", "b"])


class Counted:
    """Pure ASGI middleware that counts how often it is built, and refuses ``value="bad"``."""

    built = 0

    def __init__(self, app: ASGIApp, value: str = "ok") -> None:
        if value == "bad":
            raise ValueError("Counted takes no value 'bad'")
        type(self).built += 1
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def test_the_stack_is_built_when_middleware_is_added_not_by_a_request() -> None:
    app = make_app()
    Counted.built = 0
    app.add_middleware(Counted)
    assert Counted.built == 1  # before any request
    for _ in range(3):
        assert call(app, "GET", "/").text == "home"
    assert Counted.built == 1  # requests build nothing
    app.add_middleware(Tag, value="a")
    assert Counted.built == 2  # the stack is built anew, every layer in it


def test_a_layer_that_refuses_its_options_fails_at_add_middleware_and_changes_nothing() -> None:
    app = make_app()
    app.add_middleware(Tag, value="a")
    with pytest.raises(ValueError, match="Counted takes no value 'bad'"):
        app.add_middleware(Counted, value="bad")
    assert repr(app.user_middleware) == "[Middleware(Tag, value='a')]"
    assert call(app, "GET", "/").headers.get_list("x-tag") == ["a"]


def test_a_request_enters_the_app_once_with_or_without_middleware() -> None:
    # No re-entry: the innermost layer is the App's routing, not the App again.
    entered: list[str] = []

    class Watched(App):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            entered.append(scope["path"])
            await super().__call__(scope, receive, send)

    app = Watched()

    @app.get("/")
    async def index(request: Request) -> str:
        return "home"

    assert call(app, "GET", "/").text == "home"
    app.add_middleware(Tag, value="a")
    app.add_middleware(Tag, value="b")
    reply = call(app, "GET", "/")
    assert (reply.text, reply.headers.get_list("x-tag")) == ("home", ["a", "b"])
    assert entered == ["/", "/"]


def test_a_request_in_flight_keeps_the_stack_it_started_with() -> None:
    app = App()
    app.add_middleware(Tag, value="old")
    started, release = asyncio.Event(), asyncio.Event()

    @app.get("/slow")
    async def slow(request: Request) -> str:
        started.set()
        await release.wait()
        return "done"

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            in_flight = asyncio.create_task(client.get("/slow"))
            await started.wait()
            app.add_middleware(Tag, value="new")  # as a notebook cell does, mid-request
            release.set()
            return await in_flight, await client.get("/slow")

    first, second = asyncio.run(go())
    assert first.headers.get_list("x-tag") == ["old"]
    assert second.headers.get_list("x-tag") == ["old", "new"]


def test_middleware_runs_for_every_call_even_with_a_reused_scope() -> None:
    # A server (or a test) may hand the App one scope dict for two requests: each goes
    # through the middleware, and the App leaves no mark of its own in the scope.
    app = make_app()
    seen: list[str] = []

    @app.middleware
    async def count(request: Request, call_next: Any) -> Response:
        seen.append(request.path)
        return await call_next(request)  # type: ignore[no-any-return]

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    for _ in range(2):
        sent = call_by_hand(app, scope)
        assert (sent[0]["status"], sent[1]["body"]) == (200, b"home")
    assert seen == ["/", "/"]
    assert scope["app"] is app and not any(key.startswith("asgilab.") for key in scope)


def test_an_app_called_from_another_apps_handler_runs_its_own_middleware() -> None:
    inner, outer = make_app(), App()
    seen: list[str] = []

    @inner.middleware
    async def inner_mw(request: Request, call_next: Any) -> Response:
        seen.append("inner")
        return await call_next(request)  # type: ignore[no-any-return]

    @outer.middleware
    async def outer_mw(request: Request, call_next: Any) -> Response:
        seen.append("outer")
        return await call_next(request)  # type: ignore[no-any-return]

    @outer.get("/")
    async def forward(request: Request) -> Response:
        captured: list[Any] = []

        async def send(message: Any) -> None:
            captured.append(message)

        await inner(request.scope, request.receive, send)
        return Response(captured[1]["body"], captured[0]["status"])

    reply = call(outer, "GET", "/")
    assert (reply.status_code, reply.text) == (200, "home")
    assert seen == ["outer", "inner"]


def test_repr() -> None:
    app = make_app()
    app.add_middleware(Tag, value="a")
    assert repr(app) == "App(routes=5, middleware=[Middleware(Tag, value='a')], debug=False)"


def test_request_url_for_includes_the_root_path() -> None:
    app = App()

    @app.get("/users/{user_id:int}", name="user")
    async def user(request: Request, user_id: int) -> str:
        return request.url_for("user", user_id=user_id + 1)

    async def go(root_path: str, path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    assert asyncio.run(go("/api", "/api/users/1")).text == "/api/users/2"
    # root_path is decoded, a URL path is not: the space goes out as %20.
    assert asyncio.run(go("/my api", "/my%20api/users/1")).text == "/my%20api/users/2"


def test_websocket_is_closed_politely() -> None:
    scope = {"type": "websocket", "path": "/", "headers": []}
    sent = call_by_hand(App(), scope, first={"type": "websocket.connect"})
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": "no websocket routes"}]


def test_status_500_handler_catches_unexpected_errors() -> None:
    app = App()

    @app.exception_handler(500)
    async def server_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": type(exc).__name__}, status_code=500)

    @app.get("/")
    async def handler(request: Request) -> None:
        raise ZeroDivisionError

    reply = call(app, "GET", "/")
    assert (reply.status_code, reply.json()) == (500, {"error": "ZeroDivisionError"})


@pytest.mark.parametrize("status", [204, 304])
def test_http_exception_without_body_statuses(status: int) -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> None:
        raise HTTPException(status)

    reply = call(app, "GET", "/")
    assert (reply.status_code, reply.content) == (status, b"")
    assert "content-length" not in reply.headers


@pytest.mark.parametrize("error", [Exception, KeyError])
def test_an_exception_handler_for_an_error_class_leaves_http_errors_alone(
    error: type[Exception],
) -> None:
    # Exception, like 500, stands for the unexpected: a 404, 405 or 400 keeps its status,
    # and so does a missing query parameter, though that one is also a KeyError.
    app = make_app()

    @app.exception_handler(error)
    async def oops(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "internal"}, status_code=500)

    @app.get("/search")
    async def search(request: Request) -> str:
        return request.query["q"]

    @app.get("/page")
    async def page(request: Request) -> dict[str, int]:
        return {"n": request.query.get("n", 1, type=int)}

    @app.get("/crash")
    async def crash(request: Request) -> None:
        raise RuntimeError("boom")

    assert call(app, "GET", "/nope").status_code == 404
    refused = call(app, "DELETE", "/items")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, OPTIONS, POST")
    assert call(app, "GET", "/page?n=x").status_code == 400
    assert (r := call(app, "GET", "/search")).text == "missing query parameter 'q'"
    assert r.status_code == 400
    failed = call(app, "GET", "/crash")
    if error is Exception:
        assert (failed.status_code, failed.json()) == (500, {"error": "internal"})
    else:
        assert (failed.status_code, failed.text) == (500, "Internal Server Error")


def test_an_exception_handler_for_http_exception_shapes_every_http_error() -> None:
    app = make_app()

    @app.exception_handler(HTTPException)
    async def as_json(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.get("/search")
    async def search(request: Request) -> str:
        return request.query["q"]

    assert (r := call(app, "GET", "/nope")).json() == {"error": "Not Found"}
    assert r.status_code == 404
    assert (r := call(app, "GET", "/search")).json() == {"error": "missing query parameter 'q'"}
    assert r.status_code == 400


def test_http_exception_with_a_code_without_a_phrase() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> None:
        raise HTTPException(499)

    reply = call(app, "GET", "/")
    assert (reply.status_code, reply.text) == (499, "Client Error")
    with pytest.raises(ValueError, match="HTTP status codes run from 100 to 599, not 42"):
        HTTPException(42)


# -- re-running notebook cells ----------------------------------------------------------------


def endpoint_returning(text: str) -> Callable[..., Any]:
    async def endpoint(request: Request) -> str:
        return text

    return endpoint


def run_cell(kernel: dict[str, Any], source: str) -> None:
    """Run ``source`` as a notebook cell: compiled anew each time, in the kernel's globals."""
    exec(compile(textwrap.dedent(source), "<cell>", "exec"), kernel)


def kernel_with(app: App) -> dict[str, Any]:
    """A notebook's globals after ``from asgilab import *; app = App()``."""
    return {
        "__name__": "__main__",
        "app": app,
        "Request": Request,
        "Response": Response,
        "PlainTextResponse": PlainTextResponse,
        "Router": Router,
    }


@pytest.mark.parametrize(
    ("first", "again", "requests"),
    [
        (
            """
            @app.get("/hello")
            async def hello(request):
                return "v1"
            """,
            """
            @app.get("/hello")
            async def hello(request):
                return "v2"
            """,
            [("GET", "/hello", b"", 200, "v2"), ("HEAD", "/hello", b"", 200, "")],
        ),
        (
            """
            @app.get("/users/{id:int}", name="user")
            async def user(request, id: int):
                return {"v": 1, "id": id}
            """,
            """
            @app.get("/users/{user_id:int}", name="user")
            async def user(request, user_id: int):
                return {"v": 2, "id": user_id, "url": request.url_for("user", user_id=9)}
            """,
            [("GET", "/users/3", b"", 200, '{"v":2,"id":3,"url":"/users/9"}')],
        ),
        (  # fewer methods: POST goes with the old route
            """
            @app.route("/items", methods=["GET", "POST"])
            async def items(request):
                return "v1"
            """,
            """
            @app.route("/items", methods=["GET"])
            async def items(request):
                return "v2"
            """,
            [("GET", "/items", b"", 200, "v2"), ("POST", "/items", b"", 405, "Method Not Allowed")],
        ),
        (  # the new body limit: the route's handler is built again
            """
            @app.post("/upload", max_body_size=10)
            async def upload(request):
                return str(len(await request.body()))
            """,
            """
            @app.post("/upload", max_body_size=100)
            async def upload(request):
                return str(len(await request.body()))
            """,
            [("POST", "/upload", b"x" * 50, 200, "50")],
        ),
        (  # a route group defined and included in one cell
            """
            api = Router()

            @api.get("/ping")
            async def ping(request):
                return "v1"

            app.include(api, prefix="/api")
            """,
            """
            api = Router()

            @api.get("/ping")
            async def ping(request):
                return "v2"

            app.include(api, prefix="/api")
            """,
            [("GET", "/api/ping", b"", 200, "v2")],
        ),
    ],
    ids=["get", "renamed-parameter", "fewer-methods", "body-limit", "include"],
)
def test_a_rerun_cell_replaces_its_route(
    first: str, again: str, requests: list[tuple[str, str, bytes, int, str]]
) -> None:
    app = App()
    app.get("/")(endpoint_returning("home"))
    kernel = kernel_with(app)
    run_cell(kernel, first)
    call(app, "GET", "/")  # served in between: nothing is frozen by it
    paths = [route.path.split("{")[0] for route in app.router.routes]
    run_cell(kernel, again)
    assert [route.path.split("{")[0] for route in app.router.routes] == paths
    for method, path, body, status, text in requests:
        reply = call(app, method, path, content=body)
        assert (reply.status_code, reply.text) == (status, text), (method, path)
    # Each route holds the handler the App built for it, once, at registration.
    assert all(route.handler is not None for route in app.router.routes)


def test_another_function_on_a_rerun_route_is_still_a_conflict() -> None:
    app = App()
    kernel = kernel_with(app)
    hello = """
    @app.get("/hello")
    async def hello(request):
        return "hello"
    """
    run_cell(kernel, hello)
    with pytest.raises(RouteConflict) as info:
        run_cell(kernel, hello.replace("def hello", "def greet"))
    assert str(info.value) == (
        "GET /hello conflicts with GET /hello (both match /hello); hello serves it,"
        " greet is another function"
    )
    assert call(app, "GET", "/hello").text == "hello"


def test_a_rerun_cell_with_a_broken_handler_keeps_the_old_route() -> None:
    app = App()
    kernel = kernel_with(app)
    run_cell(kernel, '@app.get("/x")\nasync def x(request):\n    return "old"\n')
    with pytest.raises(InvalidHandler):
        run_cell(kernel, '@app.get("/x")\nasync def x(request, nope):\n    return "new"\n')
    assert call(app, "GET", "/x").text == "old"


@pytest.mark.parametrize(
    ("cells", "layers", "tags"),
    [
        (  # function middleware run again: replaced, in its place, the new one runs
            [
                """
                @app.middleware
                async def tag(request, call_next):
                    response = await call_next(request)
                    response.headers.append("x-tag", "v1")
                    return response
                """,
                "app.add_middleware(Tag, value='outer')",
                """
                @app.middleware
                async def tag(request, call_next):
                    response = await call_next(request)
                    response.headers.append("x-tag", "v2")
                    return response
                """,
            ],
            ["Middleware(FunctionMiddleware, dispatch=tag)", "Middleware(Tag, value='outer')"],
            ["v2", "outer"],
        ),
        (  # a class defined in the cell, its options edited: replaced in its place
            [
                """
                class Stamp(Tag):
                    pass

                app.add_middleware(Stamp, value="v1")
                """,
                "app.add_middleware(Tag, value='outer')",
                """
                class Stamp(Tag):
                    pass

                app.add_middleware(Stamp, value="v2")
                """,
            ],
            ["Middleware(Stamp, value='v2')", "Middleware(Tag, value='outer')"],
            ["v2", "outer"],
        ),
        (  # the same class with the same options: replaced
            ["app.add_middleware(Tag, value='a')", "app.add_middleware(Tag, value='a')"],
            ["Middleware(Tag, value='a')"],
            ["a"],
        ),
        (  # the same class with other options: a second layer (one class stacked twice)
            ["app.add_middleware(Tag, value='a')", "app.add_middleware(Tag, value='b')"],
            ["Middleware(Tag, value='a')", "Middleware(Tag, value='b')"],
            ["a", "b"],
        ),
        (  # a cell that stacks one class twice, run again: still two layers
            [
                """
                class Stamp(Tag):
                    pass

                app.add_middleware(Stamp, value="a")
                app.add_middleware(Stamp, value="b")
                """
            ]
            * 2,
            ["Middleware(Stamp, value='a')", "Middleware(Stamp, value='b')"],
            ["a", "b"],
        ),
    ],
    ids=["function", "class-options-edited", "same-options", "other-options", "stacked-cell"],
)
def test_a_rerun_middleware_cell_replaces_its_layer(
    cells: list[str], layers: list[str], tags: list[str]
) -> None:
    app = make_app()
    kernel = {**kernel_with(app), "Tag": Tag}
    for source in cells:
        run_cell(kernel, source)
        call(app, "GET", "/")  # served between cells: adding more is still fine
    assert [repr(layer) for layer in app.user_middleware] == layers
    assert call(app, "GET", "/").headers.get_list("x-tag") == tags


@pytest.mark.parametrize(
    "cell",
    [
        """
        @app.exception_handler(404)
        async def not_found(request, exc):
            return PlainTextResponse("{version}", 404)
        """,
        """
        class Gone(Exception):
            pass

        @app.exception_handler(Gone)
        async def gone(request, exc):
            return PlainTextResponse("{version}", 410)

        @app.get("/gone")
        async def raise_gone(request):
            raise Gone
        """,
    ],
    ids=["by-status", "by-class-defined-in-the-cell"],
)
def test_a_rerun_exception_handler_cell_replaces_its_handler(cell: str) -> None:
    app = App()
    kernel = kernel_with(app)
    for version in ["v1", "v2"]:
        run_cell(kernel, cell.replace("{version}", version))
        reply = call(app, "GET", "/gone")
        assert reply.text == version
    assert len(app.exception_handlers) == 1


# -- the other slash form, and a route at a group's prefix (issue 18) -------------------------


def test_options_for_the_other_slash_form_answers_as_for_the_route() -> None:
    app = make_app()
    for url in ["/items/", "/docs"]:
        response = call(app, "OPTIONS", url)
        assert response.status_code == 204, url
    assert call(app, "OPTIONS", "/items/").headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert call(app, "OPTIONS", "/docs").headers["allow"] == "GET, HEAD, OPTIONS"
    response = call(app, "POST", "/items/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (308, "/items")
    assert call(app, "OPTIONS", "/nowhere/").status_code == 404


def test_an_empty_path_on_the_app_is_refused() -> None:
    from asgilab.errors import InvalidPattern

    app = App()
    with pytest.raises(InvalidPattern) as info:
        app.get("")
    assert str(info.value) == (
        "route '' serves a group's prefix: register it on a Router and include it under a"
        " prefix (app.include(router, prefix='/api/articles')), or use '/' for the root"
    )
