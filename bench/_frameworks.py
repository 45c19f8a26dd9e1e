"""The same three endpoints in every framework, for ``apps.py`` and ``serve.py``.

- ``GET /`` answers ``Hello, world!`` as text;
- ``GET /users/{user_id:int}`` answers ``{"id": user_id}`` as JSON (the int
  conversion is part of the work);
- ``POST /echo`` parses the JSON body and sends it back as JSON.

Each factory returns a ready ASGI app, importing its framework only when called,
so a missing peer (or an asgilab part not written yet) costs one line in the
report, not the run. ``bare`` is the floor: a hand-written ASGI callable doing
only what the three endpoints need, which no framework can beat.

uvicorn loads these with ``--factory`` (``_frameworks:bare`` and so on), so
in-process and served runs measure the very same apps.
"""

# No ``from __future__ import annotations`` here: BlackSheep reads the handlers'
# annotations at startup, and strings naming local imports would not resolve.
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FRAMEWORKS",
    "PEERS",
    "REQUESTS",
    "Framework",
    "Request",
    "bare",
    "bare_factory",
    "build_all",
    "check_response",
]

from asgilab.types import Receive, Scope, Send

# Each framework types its ASGI callable its own way (Falcon and BlackSheep with
# narrower scope types than asgilab's), so the factories promise only an object.
AnyApp = Any

HELLO = "Hello, world!"
ECHO_BODY = json.dumps({"name": "asgilab", "tags": ["fast", "clear"], "stars": 42}).encode()


@dataclass(frozen=True, slots=True)
class Request:
    """One of the three benchmark requests and what a correct answer looks like."""

    label: str  # table row
    method: str
    path: str
    body: bytes
    content_type: str  # expected response media type
    expected: Any  # the text, or the JSON value


REQUESTS = [
    Request("GET /", "GET", "/", b"", "text/plain", HELLO),
    Request("GET /users/42", "GET", "/users/42", b"", "application/json", {"id": 42}),
    Request("POST /echo", "POST", "/echo", ECHO_BODY, "application/json", json.loads(ECHO_BODY)),
]


def check_response(request: Request, status: int, headers: dict[str, str], body: bytes) -> str:
    """An empty string if the answer is right, else what is wrong with it."""
    content_type = headers.get("content-type", "")
    if status != 200:
        return f"status {status}"
    if not content_type.startswith(request.content_type):
        return f"content-type {content_type!r}"
    got = body.decode() if request.content_type == "text/plain" else json.loads(body)
    return "" if got == request.expected else f"body {body[:60]!r}"


# --------------------------------------------------------------------------- the floor

# Built once, as a careful hand-written app would: json.dumps() with any option
# builds a new JSONEncoder per call, and json.loads() on bytes sniffs the encoding.
encode_json = json.JSONEncoder(separators=(",", ":")).encode
decode_json = json.JSONDecoder().decode
TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"13")]
HELLO_BYTES = HELLO.encode()


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: routes by hand, converts, parses and serialises, nothing else."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].rpartition(".")[2]  # "startup" or "shutdown"
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    path, method = scope["path"], scope["method"]
    if method == "GET" and path == "/":
        await send({"type": "http.response.start", "status": 200, "headers": TEXT_HEADERS})
        await send({"type": "http.response.body", "body": HELLO_BYTES})
        return
    if method == "GET" and path.startswith("/users/") and path[7:].isdigit():
        await send_json(send, {"id": int(path[7:])})
        return
    if method == "POST" and path == "/echo":
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send_json(send, decode_json(body.decode()))
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def send_json(send: Send, value: Any) -> None:
    body = encode_json(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- the frameworks


def asgilab() -> AnyApp:
    """asgilab's App, written the way its README teaches."""
    try:
        from asgilab import App  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # written but not exported yet
        from asgilab.app import App  # type: ignore[import-not-found,no-redef,unused-ignore]

    app = App()

    @app.get("/")  # type: ignore[untyped-decorator,unused-ignore]
    async def home(request: Any) -> str:
        return HELLO

    @app.get("/users/{user_id:int}")  # type: ignore[untyped-decorator,unused-ignore]
    async def user(request: Any, user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.post("/echo")  # type: ignore[untyped-decorator,unused-ignore]
    async def echo(request: Any) -> Any:
        return await request.json()

    return app


def starlette() -> AnyApp:
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def home(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse(HELLO)

    async def user(request: StarletteRequest) -> JSONResponse:
        return JSONResponse({"id": request.path_params["user_id"]})

    async def echo(request: StarletteRequest) -> JSONResponse:
        return JSONResponse(await request.json())

    return Starlette(
        routes=[
            Route("/", home),
            Route("/users/{user_id:int}", user),
            Route("/echo", echo, methods=["POST"]),
        ]
    )


def falcon() -> AnyApp:
    import falcon.asgi

    class Home:
        async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = HELLO

    class User:
        async def on_get(
            self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: int
        ) -> None:
            resp.media = {"id": user_id}

    class Echo:
        async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
            resp.media = await req.get_media()

    app = falcon.asgi.App()
    app.add_route("/", Home())
    app.add_route("/users/{user_id:int}", User())
    app.add_route("/echo", Echo())
    return app


def blacksheep() -> AnyApp:
    from blacksheep import Application, Response, json, text
    from blacksheep import Request as BlackSheepRequest

    app = Application()

    @app.router.get("/")
    async def home() -> Response:
        return text(HELLO)

    @app.router.get("/users/{int:user_id}")
    async def user(user_id: int) -> Response:
        return json({"id": user_id})

    @app.router.post("/echo")
    async def echo(request: BlackSheepRequest) -> Response:
        return json(await request.json())

    return app


def bare_factory() -> AnyApp:
    """``bare`` through a factory, like the others, for uvicorn ``--factory``."""
    return bare


@dataclass(frozen=True, slots=True)
class Framework:
    name: str  # column label
    distribution: str  # whose version is printed
    factory: Callable[[], AnyApp]
    factory_path: str  # for uvicorn --factory


FRAMEWORKS = {
    f.name: f
    for f in [
        Framework("asgilab", "asgilab", asgilab, "_frameworks:asgilab"),
        Framework("bare", "python", bare_factory, "_frameworks:bare_factory"),
        Framework("starlette", "starlette", starlette, "_frameworks:starlette"),
        Framework("falcon", "falcon", falcon, "_frameworks:falcon"),
        Framework("blacksheep", "blacksheep", blacksheep, "_frameworks:blacksheep"),
    ]
}

# The frameworks asgilab races ("bare" is the floor, not a peer).
PEERS = ["starlette", "falcon", "blacksheep"]


def build_all() -> tuple[dict[str, AnyApp], dict[str, str]]:
    """Every app that can be built here, by name, and why each other one cannot."""
    apps: dict[str, AnyApp] = {}
    missing: dict[str, str] = {}
    for name, framework in FRAMEWORKS.items():
        try:
            apps[name] = framework.factory()
        except ImportError as error:
            missing[name] = (
                f"asgilab.App not available yet ({error})"
                if name == "asgilab"
                else f"{framework.distribution} is not installed: pip install -e '.[bench]'"
            )
    return apps, missing
