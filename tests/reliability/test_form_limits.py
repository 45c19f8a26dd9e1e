"""Issue 22's multipart bodies, against the App and a real uvicorn: thousands of empty files
within the body limit, a 50 MB route, the route options that raise the limits, and what a
refused body costs the server."""

import contextlib
import os
import select
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from asgilab.app import App
from asgilab.client import Client
from asgilab.request import Request
from asgilab.router import Router

from .conftest import Live
from .support import (
    REPORT_LINES,
    assert_still_serving,
    free_port,
    parse_replies,
    rss_kib,
    start_uvicorn,
    stop_process,
    wait_for_http,
)

# 72 bytes a part: 14,563 empty files in 1 MiB, as in the review.
PART = b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="ab"\r\n\r\n\r\n'
END = b"--XyZ--\r\n"
REVIEWED = PART * ((1024 * 1024 - len(END)) // len(PART)) + END
MULTIPART = "multipart/form-data; boundary=XyZ"
TOO_MANY = (
    b"multipart form with more than 1000 files; the limit is max_files=1000 (raise it on the "
    b"route, @app.post(..., max_files=N), or per call, request.form(max_files=N))"
)


def empty_files(count: int) -> bytes:
    return PART * count + END


def form_app() -> App:
    app = App()

    async def count(request: Request) -> dict[str, int]:
        return {"items": len((await request.form()).multi_items())}

    app.post("/form")(count)
    app.post("/import", max_files=2000)(count)
    app.post("/few", max_files=1, max_fields=1, max_part_size=4)(count)

    @app.post("/batches/{batch:int}", max_files=2000)
    async def batch(request: Request, batch: int) -> dict[str, int]:
        return {"batch": batch, "items": len((await request.form()).multi_items())}

    router = Router()
    router.post("/routed", extras={"max_files": 2000})(count)
    app.include(router)
    return app


@pytest.mark.parametrize(
    ("path", "body", "status", "content"),
    [
        ("/form", empty_files(1500), 400, TOO_MANY),
        ("/import", empty_files(1500), 200, b'{"items":1500}'),
        ("/batches/7", empty_files(1500), 200, b'{"batch":7,"items":1500}'),
        ("/routed", empty_files(1500), 200, b'{"items":1500}'),
        ("/import", empty_files(2001), 400, TOO_MANY.replace(b"1000", b"2000")),
        (
            "/few",
            empty_files(2),
            400,
            b"multipart form with more than 1 file; the limit is max_files=1 (raise it on the "
            b"route, @app.post(..., max_files=N), or per call, request.form(max_files=N))",
        ),
        (
            "/few",
            b'--XyZ\r\nContent-Disposition: form-data; name="bio"\r\n\r\n12345\r\n' + END,
            413,
            b"form field 'bio' is larger than 4 bytes; the limit is max_part_size=4 (raise it on "
            b"the route, @app.post(..., max_part_size=N), or per call, "
            b"request.form(max_part_size=N))",
        ),
    ],
)
def test_a_route_raises_or_lowers_its_form_limits(
    path: str, body: bytes, status: int, content: bytes
) -> None:
    with Client(form_app()) as client:
        reply = client.post(path, content=body, headers={"content-type": MULTIPART})
    assert (reply.status_code, reply.content) == (status, content)


def test_a_route_form_limit_that_is_no_whole_number_is_refused_at_registration() -> None:
    app = App()
    with pytest.raises(TypeError) as info:
        app.post("/import", max_files=1e4)(lambda request: None)
    # The compiled App checks the argument's declared type itself, at the call.
    assert str(info.value) in [
        "max_files of route '/import' must be a whole number, 0 or more, not 10000.0",
        "int or None object expected; got float",
    ]
    assert app.router.routes == []


def send_until_answered(
    url: str, head: bytes, body: bytes, seconds: float = 5
) -> tuple[list[Any], int, float]:
    """Send ``head`` then ``body`` in 16 KiB pieces until the server answers, for
    ``seconds`` at most; return its replies, the body bytes sent and the time it took."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    start = time.perf_counter()
    end = start + seconds
    sent = 0
    data = b""
    with socket.create_connection((host, int(port)), timeout=seconds) as sock:
        sock.sendall(head)
        while sent < len(body) and time.perf_counter() < end:
            readable, writable, _ = select.select([sock], [sock], [], seconds)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(body[sent : sent + 16384])
                except (BrokenPipeError, ConnectionResetError):
                    break
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while part := sock.recv(65536):
                data += part
    return parse_replies(data), sent, time.perf_counter() - start


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {MULTIPART}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.mark.server
def test_the_reviewed_body_is_refused_at_once_over_the_wire(live: Live) -> None:
    # Issue 22: 14,563 empty files within the default 1 MiB were all accepted.
    assert REVIEWED.count(b"filename=") == 14_563
    replies, _, elapsed = send_until_answered(
        live.url, post_head("/upload-form", len(REVIEWED)), REVIEWED
    )
    assert [(r.status, r.body, r.header("connection")) for r in replies] == [
        (400, TOO_MANY, "close")
    ]
    assert elapsed < 2, f"answered after {elapsed:.2f} s"
    assert_still_serving(live.url, [])


@pytest.mark.server
def test_a_50_mb_route_stops_reading_at_the_1001st_file(live: Live) -> None:
    # Issue 22: under a 50 MB limit, 693,055 empty files took 38 s and 600 MiB.
    body = empty_files(50 * 1024 * 1024 // len(PART))
    replies, sent, elapsed = send_until_answered(
        live.url, post_head("/upload-form", len(body)), body
    )
    assert [(r.status, r.body) for r in replies] == [(400, TOO_MANY)]
    assert elapsed < 5, f"answered after {elapsed:.2f} s"
    # The server stopped reading near file 1,001 (72 KiB in), plus what the sockets buffered.
    assert sent < 8 * 1024 * 1024, f"the client got {sent} bytes out before the answer"
    assert_still_serving(live.url, [])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process ``pid`` has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.server
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc/<pid>/stat")
def test_a_refused_body_costs_the_server_little() -> None:
    # Issue 22: four clients repeating the reviewed body pushed a GET from ~1 ms to ~1.7 s,
    # each body holding the event loop while its 14,563 files were made. CPU time, unlike
    # latency, does not depend on what else this shared machine runs.
    port = free_port()
    server = start_uvicorn("--factory", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    request = post_head("/upload-form", len(REVIEWED)) + REVIEWED
    try:
        wait_for_http(url + "/", server)
        statuses = []
        for n in range(9):
            if n == 1:  # the first one pays for importing python-multipart
                start, rss_before = cpu_seconds(server.pid), rss_kib(server.pid)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    sock.sendall(request)
                data = b""
                with contextlib.suppress(ConnectionResetError):
                    while part := sock.recv(65536):
                        data += part
            statuses.append(parse_replies(data)[0].status)
        per_body = (cpu_seconds(server.pid) - start) / 8
        rss_after = rss_kib(server.pid)
    finally:
        stop_process(server)
    REPORT_LINES.append(
        f"14,563 empty files in 1 MiB, refused: {per_body * 1000:.0f} ms of server CPU a body "
        f"(~330 ms to accept them before the limits); RSS {rss_before / 1024:.1f} MiB -> "
        f"{rss_after / 1024:.1f} MiB over 8 bodies"
    )
    assert statuses == [400] * 9  # before the limits: all 200
    assert per_body < 0.1, f"{per_body:.3f} s of server CPU a body"
    assert rss_after - rss_before < 4 * 1024
