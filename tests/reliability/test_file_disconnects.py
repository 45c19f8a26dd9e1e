"""Clients that hang up on a big file or an endless stream, against a real uvicorn.

Issue 22 measured that uvicorn's ``send`` neither fails nor waits once the client is
gone (with h11 and httptools alike, it returns at once and drops the message), so a
response that does not listen for ``http.disconnect`` keeps going for nobody: twenty
clients hanging up on a 200 MB file cost 4 GB of reads, and a generator that never
awaits ran to its end with the loop blocked. Here the clients are raw sockets that
read the first 64 KiB and close, and what the server read is counted by the kernel:
uvicorn runs in a thread of this process, so ``rchar`` in ``/proc/self/io`` is every
byte its ``read()`` calls returned.

The same server answers issue 22's traversal URLs, sent byte for byte, with 404.
"""

from __future__ import annotations

import importlib.util
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from asgilab import App, FileResponse, Request, StreamingResponse
from asgilab.server import serve

from .support import REPORT_LINES, parse_replies, raw_http, wait_until

PARSERS = ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])

FILE_SIZE = 200 * 1024 * 1024
HANGUPS = 10
STREAM_CHUNKS = 1_000_000
SECRET = b"the secret beside the public folder"


@dataclass
class Files:
    """A uvicorn serving a big file, a stream that never awaits, and a public folder."""

    url: str
    parser: str
    public: Path
    stats: Counter[str]


@pytest.fixture(scope="module", params=PARSERS)
def files(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Files]:
    folder = tmp_path_factory.mktemp("files")
    public = folder / "public"
    public.mkdir()
    (public / "hello.txt").write_text("hello")
    (folder / "secret.txt").write_bytes(SECRET)
    with (public / "big.bin").open("wb") as file:
        file.truncate(FILE_SIZE)  # sparse: 200 MiB to read, none on disk
    stats: Counter[str] = Counter()
    app = App()

    @app.get("/files/{name:path}")
    async def files(request: Request, name: str) -> FileResponse:
        return FileResponse(name, root=public)

    @app.get("/f/{name}")
    async def one_segment(request: Request, name: str) -> FileResponse:
        return FileResponse(name, root=public)

    @app.get("/spin")
    async def spin(request: Request) -> StreamingResponse:
        async def kilobytes() -> AsyncIterator[bytes]:
            try:
                for _ in range(STREAM_CHUNKS):
                    stats["produced"] += 1
                    yield b"x" * 1024  # never awaits
            finally:
                stats["cleaned"] += 1

        return StreamingResponse(kilobytes())

    @app.get("/ping")
    async def ping(request: Request) -> str:
        return "pong"

    with serve(app, http=request.param) as server:
        yield Files(server.url, request.param, public, stats)


def rchar() -> int:
    """Bytes this process's read() calls returned so far (files and sockets alike)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar line in /proc/self/io")


def hang_up(url: str, path: str) -> None:
    """GET ``path``, read the first 64 KiB of the answer, and close the socket."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        received = 0
        while received < 65536:
            chunk = sock.recv(65536)
            assert chunk, "the server closed before sending 64 KiB"
            received += len(chunk)
    # Closed with most of the answer unread: the kernel resets the connection.


@pytest.mark.server
def test_clients_hanging_up_on_a_big_file_stop_its_reading(files: Files) -> None:
    before = rchar()
    for _ in range(HANGUPS):
        hang_up(files.url, "/files/big.bin")
    hung_up = time.monotonic()

    # Wait until reading stops: less than 1 MiB read in 0.3 s (bounded).
    last = rchar()
    while time.monotonic() - hung_up < 30:
        time.sleep(0.3)
        now = rchar()
        if now - last < 1024 * 1024:
            break
        last = now
    settled = time.monotonic() - hung_up
    read_mib = (rchar() - before) / 2**20
    REPORT_LINES.append(
        f"file hang-ups ({files.parser}): {HANGUPS} clients x {FILE_SIZE >> 20} MiB read "
        f"{read_mib:.1f} MiB, settled {settled:.1f} s after the last hang-up"
    )
    # Before issue 22's fix: 2000 MiB, the whole file for each client.
    assert read_mib < 32, f"{read_mib:.0f} MiB read for {HANGUPS} clients that hung up"
    assert httpx.get(files.url + "/ping", timeout=10).text == "pong"


@pytest.mark.server
def test_a_stream_that_never_awaits_stops_when_the_client_hangs_up(files: Files) -> None:
    stats = files.stats
    stats.clear()
    hang_up(files.url, "/spin")
    # The loop is free: another request is answered at once, not after a million chunks.
    started = time.monotonic()
    assert httpx.get(files.url + "/ping", timeout=30).text == "pong"
    assert time.monotonic() - started < 2
    assert wait_until(lambda: stats["cleaned"] == 1, timeout=30), stats
    # Before the fix: all of them, 1 GiB sent to nobody.
    assert stats["produced"] < STREAM_CHUNKS // 10, stats


def traversals(public: Path) -> list[bytes]:
    secret = str(public.parent / "secret.txt").encode()
    return [
        b"/files/..%2Fsecret.txt",
        b"/files/%2e%2e/secret.txt",
        b"/files//" + secret.lstrip(b"/"),
        b"/files/" + secret.replace(b"/", b"%2F"),
        b"/f/" + secret.replace(b"/", b"%2F"),
        b"/f/..%2Fsecret.txt",
        b"/files/hello.txt%00",
    ]


@pytest.mark.server
def test_issue_22_traversals_over_the_wire_are_404(files: Files) -> None:
    for target in [*traversals(files.public), b"/files/../secret.txt"]:
        request = b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        (reply,) = parse_replies(raw_http(files.url, request))
        assert (reply.status, reply.body) == (404, b"Not Found"), target
    reply = httpx.get(files.url + "/files/hello.txt", timeout=10)
    assert (reply.status_code, reply.text) == (200, "hello")
