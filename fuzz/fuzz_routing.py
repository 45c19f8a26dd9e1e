"""Coverage-guided fuzzing of everything a client controls, with atheris (libFuzzer).

One input is a small HTTP-like text, so seeds and crashes are readable::

    <method byte><request target>\\n<header line>\\n...\\n\\n<body>

The first byte picks the method; the target is split at the first ``?`` into path and
query, as a server does. Each input goes through

1. the router directly: ``match``, ``allowed_methods`` and ``redirect_slash`` may
   raise :class:`~asgilab.errors.InvalidPath` and nothing else;
2. the parsers: ``QueryParams`` and ``Headers`` never raise on any bytes;
3. the whole App, with a uvicorn-shaped scope, for every request an HTTP/1.1 server
   would deliver (a target of visible ASCII, token header names, header values
   without control characters: what h11 and httptools let through): exactly one
   ``http.response.start``, a status below 500, no CR/LF/NUL in any response
   header, a complete body.

Any other exception or a broken invariant is a crash: libFuzzer prints the input and
writes it to ``crash-<sha1>`` (``-artifact_prefix=DIR/`` to put it elsewhere).

Run it (from the repository root)::

    .venv/bin/python fuzz/fuzz_routing.py -max_total_time=600 -dict=fuzz/routing.dict fuzz/seeds

``tests/reliability/test_fuzz.py`` runs it for 20 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any
from urllib.parse import unquote

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports(include=["asgilab"]):
    from asgilab.app import App
    from asgilab.datastructures import Headers, QueryParams
    from asgilab.errors import InvalidPath
    from asgilab.request import Request
    from asgilab.responses import PlainTextResponse, Response
    from asgilab.router import Router
    from asgilab.types import Message

__all__ = ["build_app", "check_one", "main", "server_would_deliver"]

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW", ""]
FORBIDDEN_IN_HEADERS = (b"\r", b"\n", b"\0")
TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def server_would_deliver(target: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an HTTP/1.1 server passes this request on (RFC 9112 request-target and fields).

    The App's input is what a server already parsed: a request line with a NUL or a
    raw space never reaches it under uvicorn, so an App failure on one is not a
    finding about what clients can do.
    """
    if not target.startswith(b"/") or any(b < 0x21 or b > 0x7E for b in target):
        return False
    for name, value in headers:
        if not name or any(b not in TOKEN for b in name):
            return False
        if any((b < 0x20 and b != 0x09) or b == 0x7F for b in value):
            return False
    return True


def build_app() -> App:
    """Routes of every node kind, and handlers that read what the client sent."""
    app = App(max_body_size=4096)

    @app.get("/")
    async def index(request: Request) -> str:
        return "home"

    @app.get("/users/{user_id:int}")
    async def user(request: Request, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "page": request.query.get("page", 1, type=int)}

    @app.route("/users/{user_id:int}/posts/{slug}", methods=["GET", "PUT"])
    async def post(request: Request, user_id: int, slug: str) -> dict[str, Any]:
        return {"user": user_id, "slug": slug, "tags": request.query.getlist("tag")}

    @app.get("/files/{name}.{ext}")
    async def file(request: Request, name: str, ext: str) -> str:
        return f"{name}.{ext}"

    @app.get("/static/{rest:path}")
    async def static(request: Request, rest: str) -> Response:
        return PlainTextResponse(rest, headers={"x-rest-length": str(len(rest))})

    @app.get("/price/{amount:float}")
    async def price(request: Request, amount: float) -> dict[str, float]:
        return {"amount": amount}

    @app.get("/things/{thing_id:uuid}")
    async def thing(request: Request, thing_id: Any) -> str:
        return str(thing_id)

    @app.get("/docs/")
    async def docs(request: Request) -> str:
        return "docs"

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {"echo": await request.json()}

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"fields": len(await request.form())}

    @app.get("/headers")
    async def headers(request: Request) -> dict[str, Any]:
        return {"n": len(request.headers), "cookies": request.cookies, "url": str(request.url)}

    return app


# python-multipart warns about every malformed part: the fuzzer makes thousands.
logging.getLogger("python_multipart").setLevel(logging.ERROR)

APP = build_app()
ROUTER: Router = APP.router
LOOP = asyncio.new_event_loop()


def parse_input(data: bytes) -> tuple[str, bytes, bytes, list[tuple[bytes, bytes]], bytes]:
    """Method, raw path, query, headers and body from one fuzz input."""
    if not data:
        return "GET", b"/", b"", [], b""
    method = METHODS[data[0] % len(METHODS)]
    head, _, body = data[1:].partition(b"\n\n")
    target, *lines = head.split(b"\n")
    raw_path, _, query = target.partition(b"?")
    headers = []
    for line in lines:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return method, raw_path, query, headers, body


async def call_app(scope: dict[str, Any], body: bytes) -> list[Message]:
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await APP(scope, receive, send)
    return sent


def check_one(data: bytes) -> None:
    """Run one input through router, parsers and App; raise on a broken invariant."""
    method, raw_path, query, headers, body = parse_input(data)

    # 1. The router: InvalidPath is the only error it may raise.
    try:
        path = raw_path.decode("utf-8")
    except UnicodeDecodeError:
        path = None
    if path is not None:
        for probe in (
            lambda: ROUTER.match(method, path),
            lambda: ROUTER.allowed_methods(path),
            lambda: ROUTER.redirect_slash(method, path),
        ):
            with contextlib.suppress(InvalidPath):
                probe()

    # 2. The parsers take any bytes.
    params = QueryParams(query)
    params.getlist("tag")
    parsed = Headers(headers)
    parsed.get("content-type")
    parsed.getlist("cookie")

    # 3. The whole App.
    if not method or not server_would_deliver(raw_path + b"?" + query, headers):
        return
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": headers,
        "state": {},
    }
    sent = LOOP.run_until_complete(call_app(scope, body))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    if len(starts) != 1:
        raise AssertionError(f"{len(starts)} http.response.start messages: {sent!r}")
    status = starts[0]["status"]
    if status >= 500:
        bodies = b"".join(m.get("body", b"") for m in sent[1:])
        raise AssertionError(f"{method} {raw_path!r}?{query!r} answered {status}: {bodies[:200]!r}")
    for name, value in starts[0]["headers"]:
        if any(c in name or c in value for c in FORBIDDEN_IN_HEADERS):
            raise AssertionError(f"response header {name!r}: {value!r} would split the response")
    if sent[-1]["type"] != "http.response.body" or sent[-1].get("more_body", False):
        raise AssertionError(f"the response never finished: {sent[-1]!r}")


def main() -> None:
    """Hand libFuzzer the command line (``-max_total_time=...``, corpus dirs) and fuzz."""
    atheris.Setup(sys.argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
