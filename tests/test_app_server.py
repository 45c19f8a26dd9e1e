"""What only a real server shows: the App under uvicorn on a loopback port (streaming,
client disconnects, lifespan, large bodies, keep-alive)."""

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from asgilab.app import App
from asgilab.request import Request
from asgilab.responses import Response, StreamingResponse
from asgilab.server import serve

pytestmark = pytest.mark.server


def test_streaming_response_arrives_chunked() -> None:
    app = App()

    @app.get("/numbers")
    async def numbers(request: Request) -> Response:
        async def count() -> AsyncIterator[str]:
            for n in range(5):
                yield f"{n}\n"

        return StreamingResponse(count(), media_type="text/plain")

    with serve(app) as server, httpx.stream("GET", server.url + "/numbers") as reply:
        assert reply.status_code == 200
        assert reply.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in reply.headers
        assert "".join(reply.iter_text()) == "0\n1\n2\n3\n4\n"


def test_client_disconnect_stops_the_stream_and_runs_cleanup() -> None:
    app = App()
    cleaned = threading.Event()
    produced: list[int] = []

    @app.get("/forever")
    async def forever(request: Request) -> Response:
        async def ticks() -> AsyncIterator[bytes]:
            import asyncio

            try:
                n = 0
                while True:
                    n += 1
                    produced.append(n)
                    yield b"tick\n" * 1000
                    await asyncio.sleep(0.001)
            finally:
                cleaned.set()

        return StreamingResponse(ticks())

    with serve(app) as server:
        with httpx.stream("GET", server.url + "/forever") as reply:
            assert next(reply.iter_bytes())  # got some data, then hang up
        assert cleaned.wait(10), "the generator's finally block never ran"


def test_lifespan_state_reaches_requests_under_uvicorn() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello from the lifespan"}
        events.append("shutdown")

    app = App(lifespan=lifespan)

    @app.get("/")
    async def index(request: Request) -> str:
        return request.state.greeting  # type: ignore[no-any-return]

    with serve(app, lifespan="on") as server:
        assert httpx.get(server.url).text == "hello from the lifespan"
    assert events == ["startup", "shutdown"]


# uvicorn ends its thread with SystemExit(3) on a failed startup; pytest reports that.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_lifespan_startup_failure_stops_the_server() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        raise ConnectionError("database unreachable")
        yield

    server = serve(App(lifespan=lifespan), lifespan="on")
    with pytest.raises(RuntimeError, match="uvicorn failed to start"):
        server.start()
    # No stop() or `with` exit follows a failed start: its socket is closed already.
    with socket.socket() as again:
        again.bind(("127.0.0.1", server.port))


def raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


@pytest.mark.parametrize("shaped", [False, True])
def test_declared_body_too_large_is_413_before_reading_it(shaped: bool) -> None:
    app = App(max_body_size=1000)
    read: list[int] = []
    if shaped:  # an exception handler's 413 must close the connection all the same

        @app.exception_handler(413)
        async def too_large(request: Request, exc: Exception) -> Response:
            return Response("too large", 413)

    @app.post("/upload")
    async def upload(request: Request) -> str:
        body = await request.body()
        read.append(len(body))
        return "stored"

    with serve(app) as server:
        # Declare 5 MB, send only the headers and 10 bytes: the answer must not wait
        # for the rest, and the connection closes (the body was never read).
        reply = raw_exchange(
            server.url,
            b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\n\r\n0123456789",
        )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()  # so the server stops reading
    assert body == (b"too large" if shaped else b"request body larger than the limit of 1000 bytes")
    assert read == []


def test_stop_runs_the_lifespan_shutdown_after_cancelling_a_late_request() -> None:
    cleaned: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        yield
        cleaned.append("pool closed")

    app = App(lifespan=lifespan)
    started = threading.Event()

    @app.get("/slow")
    async def slow(request: Request) -> str:
        started.set()
        await asyncio.sleep(30)
        return "late"

    server = serve(app).start()
    request = threading.Thread(target=lambda: httpx.get(f"{server.url}/slow", timeout=60))
    request.start()
    assert started.wait(10)
    server.stop(timeout=1)  # the request is cancelled at 1 s; the shutdown still runs
    request.join(10)
    assert cleaned == ["pool closed"]


def test_streamed_body_too_large_is_413() -> None:
    app = App(max_body_size=1000)

    @app.post("/upload")
    async def upload(request: Request) -> str:
        return str(len(await request.body()))

    with serve(app) as server:
        reply = raw_exchange(
            server.url,
            b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"400\r\n"
            + b"x" * 1024
            + b"\r\n"
            + b"400\r\n"
            + b"x" * 1024
            + b"\r\n",
        )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert body == b"request body larger than the limit of 1000 bytes"


def test_large_body_within_a_raised_route_limit() -> None:
    app = App()

    @app.post("/upload", max_body_size=8 * 1024 * 1024)
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    with serve(app) as server:
        reply = httpx.post(server.url + "/upload", content=b"x" * (5 * 1024 * 1024))
    assert reply.json() == {"size": 5 * 1024 * 1024}


def test_keep_alive_reuses_the_connection() -> None:
    app = App()

    @app.get("/peer")
    async def peer(request: Request) -> dict[str, Any]:
        return {"port": request.client.port if request.client else None}

    with serve(app) as server, httpx.Client(base_url=server.url) as client:
        first = client.get("/peer").json()["port"]
        second = client.get("/peer").json()["port"]
        assert first == second


def test_error_after_the_response_started_closes_the_connection() -> None:
    app = App()

    @app.get("/broken")
    async def broken(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"partial"
            raise RuntimeError("database went away")

        return StreamingResponse(chunks())

    with serve(app) as server, pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url + "/broken")


def test_head_and_redirect_over_the_wire() -> None:
    app = App()

    @app.get("/docs/")
    async def docs(request: Request) -> str:
        return "documentation"

    with serve(app) as server:
        head = httpx.head(server.url + "/docs/")
        redirect = httpx.get(server.url + "/docs?page=2")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "13", b"")
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "/docs/?page=2"


def test_streaming_through_function_middleware_and_disconnect() -> None:
    app = App()
    cleaned = threading.Event()

    @app.middleware
    async def tag(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["x-mw"] = "1"
        return response

    @app.get("/forever")
    async def forever(request: Request) -> Response:
        async def ticks() -> AsyncIterator[bytes]:
            import asyncio

            try:
                while True:
                    yield b"tick\n" * 1000
                    await asyncio.sleep(0.001)
            finally:
                cleaned.set()

        return StreamingResponse(ticks())

    with serve(app) as server:
        with httpx.stream("GET", server.url + "/forever") as reply:
            assert reply.headers["x-mw"] == "1"
            assert reply.headers["transfer-encoding"] == "chunked"
            assert next(reply.iter_bytes())
        assert cleaned.wait(10), "the generator's finally block never ran"
