"""What the reliability tests share: a hostile app, raw HTTP over a socket, an ASGI driver.

Three ways to reach an app, from the most polite to the most raw:

* ``asgilab.Client`` (in-process, through httpx) for every request httpx can express;
* :func:`asgi_request`, a uvicorn-shaped scope handed straight to the app, for the
  bytes httpx would normalise away (``..`` segments, non-UTF-8 paths) and for a
  body that stops half way (a client disconnect);
* :func:`raw_http` against a real uvicorn: the exact bytes on a loopback socket, so
  a ``%zz``, a lying ``Content-Length`` or five thousand headers reach the server
  as written.

This module imports nothing from the test package (no relative imports) so that a
uvicorn subprocess can load it as ``support:make_server_app`` with ``--app-dir``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from processes import free_port, stop_process, wait_for_http, wait_until

from asgilab.app import App
from asgilab.client import Client
from asgilab.datastructures import UploadFile
from asgilab.request import Request
from asgilab.responses import PlainTextResponse, Response, StreamingResponse
from asgilab.types import Message, Receive, Scope, Send

__all__ = [
    "HERE",
    "REPORT_LINES",
    "SECRET",
    "Hostile",
    "Reply",
    "asgi_request",
    "assert_clean_error",
    "assert_still_serving",
    "failing_app",
    "free_port",
    "hostile_app",
    "inprocess",
    "make_server_app",
    "over_the_wire",
    "parse_replies",
    "raw_http",
    "rss_kib",
    "start_uvicorn",
    "stop_process",
    "wait_for_http",
    "wait_until",
    "whoami",
]

HERE = Path(__file__).resolve().parent

#: Lines the terminal summary prints after the run (the load test's figures), so they
#: show without ``-s``; see ``pytest_terminal_summary`` in conftest.py.
REPORT_LINES: list[str] = []

SECRET = "hunter2"  # in an exception message: must never reach a client


# -- the hostile app ---------------------------------------------------------------------


@dataclass
class Hostile:
    """An App with routes that misbehave on purpose, wrapped to count what it reads.

    The wrapper sits *outside* the App and counts the body bytes each ``receive()``
    delivered, per path: that is how a test proves a 413 stopped reading early.
    """

    app: App = field(default_factory=lambda: App(max_body_size=64 * 1024))
    received: Counter[str] = field(default_factory=Counter)
    stats: Counter[str] = field(default_factory=Counter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received[path] += len(message.get("body", b""))
            return message

        await self.app(scope, counting_receive, send)


def hostile_app() -> Hostile:
    """A fresh hostile app: valid routes, strict parsers, and handlers that fail."""
    hostile = Hostile()
    app, stats = hostile.app, hostile.stats

    @app.get("/")
    async def index(request: Request) -> str:
        return "ok"

    @app.get("/pid")
    async def pid(request: Request) -> dict[str, int]:
        return {"pid": os.getpid()}

    @app.get("/items/{item_id:int}")
    async def item(request: Request, item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/files/{rest:path}")
    async def files(request: Request, rest: str) -> dict[str, str]:
        return {"rest": rest}

    @app.get("/search")
    async def search(request: Request) -> dict[str, Any]:
        query = request.query
        return {
            "page": query.get("page", 1, type=int),
            "tags": query.getlist("tag"),
            "params": len(query.multi_items()),
        }

    @app.post("/json")
    async def json_body(request: Request) -> dict[str, str]:
        return {"type": type(await request.json()).__name__}

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"fields": len(await request.form())}

    @app.post("/upload", max_body_size=1024)
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/upload-form", max_body_size=50 * 1024 * 1024)
    async def upload_form(request: Request) -> dict[str, int]:
        items = (await request.form()).multi_items()
        files = sum(isinstance(value, UploadFile) for _, value in items)
        return {"files": files, "fields": len(items) - files}

    @app.post("/slurp")
    async def slurp(request: Request) -> dict[str, int]:
        stats["slurp_started"] += 1
        try:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
            return {"size": size}
        finally:
            stats["slurp_finished"] += 1

    @app.get("/headers")
    async def headers(request: Request) -> dict[str, Any]:
        return {"count": len(request.headers.items()), "x-name": request.headers.get("x-name")}

    @app.get("/crlf")
    async def crlf(request: Request) -> Response:
        return PlainTextResponse("x", headers={"x-evil": "a\r\nset-cookie: pwned=1"})

    @app.get("/crlf-later")
    async def crlf_later(request: Request) -> Response:
        response = PlainTextResponse("x")
        response.headers["x-evil"] = "a\nset-cookie: pwned=1"
        return response

    @app.get("/raise")
    async def boom(request: Request) -> str:
        raise RuntimeError(f"database password is {SECRET}")

    @app.get("/raise-sync")
    def boom_sync(request: Request) -> str:
        raise KeyError(SECRET)

    @app.get("/unsupported")
    async def unsupported(request: Request) -> Any:
        return {SECRET}  # a set: not JSON, not a Response

    @app.get("/unencodable")
    async def unencodable(request: Request) -> Any:
        return {"value": float("nan"), "secret": SECRET}  # NaN is refused by the encoder

    @app.get("/timeout")
    async def timeout(request: Request) -> str:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(10)
        return "never"

    @app.get("/stream")
    async def stream(request: Request) -> Response:
        count = request.query.get("n", 10, type=int)

        async def chunks() -> AsyncIterator[bytes]:
            for n in range(min(count, 1000)):
                yield b"%d\n" % n

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/forever")
    async def forever(request: Request) -> Response:
        stats["forever_started"] += 1

        async def ticks() -> AsyncIterator[bytes]:
            try:
                for _ in range(100_000):  # bounded even if nobody hangs up
                    yield b"tick\n" * 200
                    await asyncio.sleep(0.001)
            finally:
                stats["forever_cleaned"] += 1

        return StreamingResponse(ticks())

    @app.get("/slow")
    async def slow(request: Request) -> str:
        stats["slow_started"] += 1
        await asyncio.sleep(min(request.query.get("ms", 100, type=int), 10_000) / 1000)
        stats["slow_finished"] += 1
        return "slow done"

    @app.get("/background")
    async def background(request: Request) -> str:
        async def job() -> None:
            await asyncio.sleep(0.3)
            stats["background_done"] += 1

        request.background.add(job)
        return "queued"

    @app.get("/tasks")
    async def tasks(request: Request) -> dict[str, int]:
        return {"tasks": len(asyncio.all_tasks())}

    return hostile


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app that answers who the server says the client is: ``127.0.0.1 http``."""
    if scope["type"] != "http":
        return
    body = f"{scope['client'][0]} {scope['scheme']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def make_server_app() -> Hostile:
    """The factory a uvicorn subprocess loads (``support:make_server_app --factory``)."""
    return hostile_app()


def failing_app() -> App:
    """An App whose lifespan startup fails: uvicorn must refuse to serve it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        raise ConnectionError("database unreachable at db.internal:5432")
        yield

    return App(lifespan=lifespan)


# -- checking an error answer -------------------------------------------------------------


def assert_clean_error(status: int, body: bytes, expected_status: int | tuple[int, ...]) -> None:
    """A client error as it should be: the status, a short message, nothing internal."""
    allowed = expected_status if isinstance(expected_status, tuple) else (expected_status,)
    assert status in allowed, (status, body[:200])
    assert len(body) <= 300, f"error body of {len(body)} bytes: {body[:120]!r}..."
    assert b"Traceback" not in body
    assert SECRET.encode() not in body


# -- in-process: a uvicorn-shaped scope, straight to the app -------------------------------


@dataclass
class Reply:
    """One HTTP response: status, headers (names lower-cased, repeats kept) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The last value of header ``name``, or None."""
        values = [v for k, v in self.headers if k == name]
        return values[-1] if values else None


async def asgi_request(
    app: Any,
    method: str,
    target: bytes,
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    chunks: Iterable[bytes] = (b"",),
    disconnect: bool = False,
) -> Reply:
    """Call ``app`` as uvicorn would for the request line ``method target``.

    ``chunks`` arrive as ``http.request`` messages; with ``disconnect=True`` the
    last chunk still says ``more_body`` and the next receive is ``http.disconnect``
    (a client that hung up mid-body). An app error propagates, as under a server.
    """
    raw_path, _, query = target.partition(b"?")
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(b"host", b"testserver"), *headers],
        "state": {},
    }
    pending = list(chunks)
    status = 0
    response_headers: list[tuple[str, str]] = []
    body: list[bytes] = []
    done = asyncio.Event()

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            more = bool(pending) or disconnect
            return {"type": "http.request", "body": chunk, "more_body": more}
        if not disconnect:
            await done.wait()  # a real client stays until it has the answer
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            assert status == 0, "http.response.start sent twice"
            status = message["status"]
            for name, value in message.get("headers", []):
                response_headers.append((name.decode("latin-1"), value.decode("latin-1")))
        elif message["type"] == "http.response.body":
            assert status, "body before http.response.start"
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return Reply(status, response_headers, b"".join(body))


def inprocess(
    app: Any,
    method: str,
    target: bytes,
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    body: bytes = b"",
) -> Reply:
    """One request in-process: through ``asgilab.Client`` when httpx can carry ``target``
    byte for byte, else (``..`` segments, non-ASCII bytes) through :func:`asgi_request`."""
    try:
        url = "http://testserver" + target.decode("ascii")
        exact = httpx.URL(url).raw_path == target
    except (UnicodeDecodeError, httpx.InvalidURL):
        exact = False
    if not exact:
        return asyncio.run(asgi_request(app, method, target, headers=headers, chunks=[body]))
    with Client(app) as client:
        reply = client.request(method, url, headers=list(headers), content=body)
    pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in reply.headers.raw]
    return Reply(reply.status_code, pairs, reply.content)


# -- over the wire: exact bytes on a loopback socket ------------------------------------


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def raw_http(url: str, data: bytes, *, half_close: bool = False, timeout: float = 10.0) -> bytes:
    """Send ``data`` to the server at ``url`` and read until it closes the connection.

    ``half_close`` shuts our sending side after ``data``: the server sees the end of
    the stream, as when a client dies mid-body. Every read is bounded by ``timeout``.
    """
    with socket.create_connection(_address(url), timeout=timeout) as sock:
        # The server may answer and close before taking everything: read the answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return bytes(received)


def parse_replies(data: bytes) -> list[Reply]:
    """Split the bytes of one connection into its HTTP/1.1 responses."""
    replies: list[Reply] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError(f"incomplete response head: {data[:200]!r}")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        names = {name: value for name, value in headers}
        if "content-length" in names:
            size = int(names["content-length"])
            body, data = rest[:size], rest[size:]
        elif names.get("transfer-encoding") == "chunked":
            body_parts = []
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line, 16)
                body_parts.append(rest[:size])
                rest = rest[size + 2 :]
                if size == 0:
                    break
            body, data = b"".join(body_parts), rest
        else:
            body, data = rest, b""
        replies.append(Reply(status, headers, body))
    return replies


GOOD_REQUEST = b"GET /items/7 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def over_the_wire(url: str, request: bytes) -> list[Reply]:
    """Send ``request`` (exact bytes) and, on the same connection, a good request.

    Returns every response the connection carried: the bad request's, then the good
    one's when the server kept the connection open (it closes it after refusing a
    request it could not parse, or after a 413 whose body it did not read).
    """
    return parse_replies(raw_http(url, request + GOOD_REQUEST))


def assert_still_serving(url: str, replies: list[Reply]) -> None:
    """The connection's follow-up (if any) and a fresh connection both get a good answer."""
    for reply in replies[1:]:
        assert (reply.status, reply.body) == (200, b'{"id":7}')
    fresh = httpx.get(url + "/items/7", timeout=10)
    assert (fresh.status_code, fresh.content) == (200, b'{"id":7}')


# -- subprocess servers ----------------------------------------------------------------


def start_uvicorn(*options: str, app: str = "support:make_server_app") -> subprocess.Popen[str]:
    """Start ``python -m uvicorn app`` from this directory on loopback (``--factory`` apps)."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--log-level",
        "warning",
        *options,
    ]
    # The child imports this module too, and with it tests/processes.py.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE, env=env
    )


def rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS line for pid {pid}")
