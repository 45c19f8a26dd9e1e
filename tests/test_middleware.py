"""Middleware against three-line raw ASGI apps: the order, function middleware's call_next
(headers editable, body streamed, request body replayed), and Starlette's own classes."""

import asyncio
from typing import Any

import httpx
import pytest

from asgilab.errors import AsgilabError
from asgilab.middleware import FunctionMiddleware, Middleware, build_stack
from asgilab.request import Request
from asgilab.responses import PlainTextResponse, Response
from asgilab.types import ASGIApp, Receive, Scope, Send


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": b"hello"})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def chunks(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for part in (b"a", b"b", b"c"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def request(app: ASGIApp, method: str = "GET", content: bytes = b"") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, "/", content=content)

    return asyncio.run(go())


class Trace:
    """Pure ASGI middleware that records when it sees the request and the response."""

    def __init__(self, app: ASGIApp, name: str, log: list[str]) -> None:
        self.app, self.name, self.log = app, name, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.log.append(f"{self.name} in")

        async def traced(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.log.append(f"{self.name} out")
            await send(message)

        await self.app(scope, receive, traced)


def test_last_added_is_outermost() -> None:
    log: list[str] = []
    app = build_stack(
        hello,
        [
            Middleware(Trace, {"name": "A", "log": log}),
            Middleware(Trace, {"name": "B", "log": log}),
        ],
    )
    assert request(app).text == "hello"
    assert log == ["B in", "A in", "A out", "B out"]


def test_middleware_repr() -> None:
    assert repr(Middleware(Trace, {"name": "A"})) == "Middleware(Trace, name='A')"


def test_function_middleware_repr_names_the_function() -> None:
    async def authenticate(req: Request, call_next: Any) -> Response:
        return await call_next(req)  # type: ignore[no-any-return]

    layer = Middleware(FunctionMiddleware, {"dispatch": authenticate})
    assert repr(layer) == (
        "Middleware(FunctionMiddleware, "
        "dispatch=test_function_middleware_repr_names_the_function.<locals>.authenticate)"
    )


def test_function_middleware_edits_headers_of_the_inner_response() -> None:
    async def add_header(req: Request, call_next: Any) -> Response:
        response: Response = await call_next(req)
        response.headers["x-mw"] = "yes"
        return response

    reply = request(FunctionMiddleware(hello, add_header))
    assert reply.status_code == 200
    assert reply.headers["x-app"] == "1"
    assert reply.headers["x-mw"] == "yes"
    assert reply.text == "hello"


def test_function_middleware_streams_the_body_through() -> None:
    async def passthrough(req: Request, call_next: Any) -> Response:
        return await call_next(req)  # type: ignore[no-any-return]

    assert request(FunctionMiddleware(chunks, passthrough)).content == b"abc"


def test_function_middleware_can_answer_itself() -> None:
    async def deny(req: Request, call_next: Any) -> Response:
        return PlainTextResponse("denied", 403)

    reply = request(FunctionMiddleware(hello, deny))
    assert (reply.status_code, reply.text) == (403, "denied")


def test_body_read_in_middleware_is_replayed_to_the_app() -> None:
    seen: list[bytes] = []

    async def peek(req: Request, call_next: Any) -> Response:
        seen.append(await req.body())
        return await call_next(req)  # type: ignore[no-any-return]

    reply = request(FunctionMiddleware(echo, peek), "POST", b"payload")
    assert seen == [b"payload"]
    assert reply.content == b"payload"


def test_state_set_in_middleware_reaches_the_app() -> None:
    async def show_state(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(Request(scope).state.user)(scope, receive, send)

    async def login(req: Request, call_next: Any) -> Response:
        req.state.user = "ada"
        return await call_next(req)  # type: ignore[no-any-return]

    assert request(FunctionMiddleware(show_state, login)).text == "ada"


def test_inner_exception_before_the_response_reaches_the_middleware() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("inner")

    async def catch(req: Request, call_next: Any) -> Response:
        try:
            return await call_next(req)  # type: ignore[no-any-return]
        except ValueError as exc:
            return PlainTextResponse(f"caught {exc}", 502)

    reply = request(FunctionMiddleware(broken, catch))
    assert (reply.status_code, reply.text) == (502, "caught inner")


def test_middleware_must_return_a_response() -> None:
    async def wrong(req: Request, call_next: Any) -> Any:
        return "not a response"

    with pytest.raises(AsgilabError) as info:
        request(FunctionMiddleware(hello, wrong))
    assert str(info.value) == (
        "middleware test_middleware_must_return_a_response.<locals>.wrong returned str, "
        "not a Response; return the result of `await call_next(request)` or a Response"
    )


def test_starlette_middleware_works_as_is() -> None:
    from starlette.middleware.gzip import GZipMiddleware

    async def big(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("x" * 1000)(scope, receive, send)

    app = build_stack(big, [Middleware(GZipMiddleware, {"minimum_size": 10})])
    reply = request(app)
    assert reply.headers["content-encoding"] == "gzip"
    assert reply.text == "x" * 1000


def cell(source: str, name: str) -> Any:
    """What a notebook cell defining ``name`` makes: compiled anew on every run."""
    namespace: dict[str, Any] = {"__name__": "__main__", "Trace": Trace}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace[name]


STAMP = "class Stamp(Trace):\n    pass\n"
TIMING = "async def timing(request, call_next):\n    return await call_next(request)\n"
STAMP_V1, STAMP_V2 = cell(STAMP, "Stamp"), cell(STAMP, "Stamp")
TIMING_V1, TIMING_V2 = cell(TIMING, "timing"), cell(TIMING, "timing")


def tracer() -> Any:
    async def mw(req: Request, call_next: Any) -> Response:
        return await call_next(req)  # type: ignore[no-any-return]

    return mw


TRACER_A, TRACER_B = tracer(), tracer()


@pytest.mark.parametrize(
    ("old", "new", "replaces"),
    [
        # Class middleware: the same class with the same options (the cell run again).
        (Middleware(Trace, {"name": "A"}), Middleware(Trace, {"name": "A"}), True),
        # ... with other options: another layer (one class stacked twice).
        (Middleware(Trace, {"name": "A"}), Middleware(Trace, {"name": "B"}), False),
        (Middleware(Trace, {"name": "A"}), Middleware(Trace, {"name": "A", "log": []}), False),
        # A class the re-run cell defined again: its layer, whatever the options now.
        (Middleware(STAMP_V1, {"name": "A"}), Middleware(STAMP_V2, {"name": "B"}), True),
        (Middleware(Trace, {"name": "A"}), Middleware(STAMP_V1, {"name": "A"}), False),
        # Options holding a function the re-run defined again are the same options.
        (Middleware(Trace, {"name": TIMING_V1}), Middleware(Trace, {"name": TIMING_V2}), True),
        # Function middleware: the function tells layers apart.
        (
            Middleware(FunctionMiddleware, {"dispatch": TIMING_V1}),
            Middleware(FunctionMiddleware, {"dispatch": TIMING_V1}),
            True,
        ),
        (
            Middleware(FunctionMiddleware, {"dispatch": TIMING_V1}),
            Middleware(FunctionMiddleware, {"dispatch": TIMING_V2}),
            True,
        ),
        # One def run twice (a factory): two functions, two layers.
        (
            Middleware(FunctionMiddleware, {"dispatch": TRACER_A}),
            Middleware(FunctionMiddleware, {"dispatch": TRACER_B}),
            False,
        ),
        (
            Middleware(FunctionMiddleware, {"dispatch": TIMING_V1}),
            Middleware(FunctionMiddleware, {"dispatch": TRACER_A}),
            False,
        ),
    ],
)
def test_a_layer_added_again_replaces_the_old_one(
    old: Middleware, new: Middleware, replaces: bool
) -> None:
    assert new.replaces(old) is replaces


# -- routing before middleware (issue 18) ---------------------------------------------------


def test_middleware_sees_the_matched_route_before_and_after_call_next() -> None:
    from asgilab import App, Request

    app = App()
    seen: list[Any] = []

    @app.get("/users/{user_id:int}", name="user")
    async def user(request: Request, user_id: int) -> str:
        seen.append(("handler", request.scope["route"].name))
        return "ok"

    @app.middleware
    async def look(request: Request, call_next: Any) -> Response:
        seen.append(("before", getattr(request.scope.get("route"), "name", None)))
        response = await call_next(request)
        seen.append(("after", getattr(request.scope.get("route"), "name", None)))
        return response

    assert request(app, "GET").status_code == 404  # "/" has no route
    assert seen == [("before", None), ("after", None)]
    seen.clear()
    response = httpx_get(app, "/users/7")
    assert response.status_code == 200
    assert seen == [("before", "user"), ("handler", "user"), ("after", "user")]


def test_the_route_is_looked_up_once_per_request() -> None:
    from asgilab import App, Request

    app = App()

    @app.get("/a")
    async def a(request: Request) -> str:
        return "a"

    app.add_middleware(Passthrough)
    calls: list[str] = []
    lookup = app.router.lookup

    def counting(method: str, path: str, trace: Any = None) -> Any:
        calls.append(path)
        return lookup(method, path, trace)

    app.router.lookup = counting  # type: ignore[method-assign]
    assert httpx_get(app, "/a").text == "a"
    assert calls == ["/a"]


def test_function_middleware_reads_the_body_within_the_routes_limit() -> None:
    from asgilab import App, Request

    app = App(max_body_size=4)

    @app.post("/upload", max_body_size=100)
    async def upload(request: Request) -> bytes:
        return await request.body()

    @app.post("/small")
    async def small(request: Request) -> bytes:
        return await request.body()

    @app.middleware
    async def reads(request: Request, call_next: Any) -> Response:
        await request.body()
        return await call_next(request)

    assert httpx_post(app, "/upload", b"0123456789").content == b"0123456789"
    assert httpx_post(app, "/small", b"0123456789").status_code == 413


@pytest.mark.parametrize("spelling", ["http"])
def test_fastapi_spelling_of_function_middleware(spelling: str) -> None:
    from asgilab import App, Request

    app = App()

    @app.get("/")
    async def index(request: Request) -> str:
        return "home"

    @app.middleware(spelling)
    async def tag(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers["x-tag"] = "1"
        return response

    response = httpx_get(app, "/")
    assert (response.status_code, response.headers["x-tag"]) == (200, "1")
    assert tag.__name__ == "tag"


@pytest.mark.parametrize(
    ("register", "message"),
    [
        (
            lambda app: app.middleware("websocket"),
            "app.middleware('websocket'): only 'http' middleware exists; write "
            "@app.middleware or @app.middleware('http') above async def mw(request, call_next)",
        ),
        (
            lambda app: app.middleware(42),
            "app.middleware(42): expected async def mw(request, call_next); write "
            "@app.middleware or @app.middleware('http') above it",
        ),
        (
            lambda app: app.add_middleware("CORSMiddleware"),
            "add_middleware('CORSMiddleware'): expected a middleware class (or a callable "
            "taking the app), e.g. app.add_middleware(CORSMiddleware, allow_origins=[...])",
        ),
    ],
)
def test_middleware_traps_are_refused_at_registration(register: Any, message: str) -> None:
    from asgilab import App
    from asgilab.errors import InvalidArgument, InvalidArgumentType

    app = App()
    with pytest.raises((InvalidArgument, InvalidArgumentType)) as info:
        register(app)
    assert str(info.value) == message
    assert app.user_middleware == []


class Passthrough:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def httpx_get(app: ASGIApp, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(url)

    return asyncio.run(go())


def httpx_post(app: ASGIApp, url: str, content: bytes) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(url, content=content)

    return asyncio.run(go())
