"""Hostile bodies: invalid JSON, the wrong content-type, a body over the limit (413, and
proof that the app stopped reading), a body that ends early (the client hung up) and
a Content-Length that lies in either direction."""

import asyncio
import logging
import select
import socket
from collections.abc import Iterator

import pytest

from asgilab.client import Client

from .conftest import Live
from .support import (
    Hostile,
    asgi_request,
    assert_clean_error,
    assert_still_serving,
    inprocess,
    over_the_wire,
    parse_replies,
    raw_http,
    wait_until,
)

JSON = (b"content-type", b"application/json")
FORM = (b"content-type", b"application/x-www-form-urlencoded")
MULTIPART = (b"content-type", b"multipart/form-data; boundary=XyZ")
NAMELESS_PART = b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--XyZ--\r\n"  # no name=
TOO_LARGE = b"request body larger than the limit of 1024 bytes"

# id, path, content-type header, body, status, response body
BODIES = [
    (
        "truncated-json",
        "/json",
        JSON,
        b'{"a":',
        400,
        b"invalid JSON: Expecting value (line 1, column 6)",
    ),
    ("empty-json", "/json", JSON, b"", 400, b"invalid JSON: Expecting value (line 1, column 1)"),
    ("json-not-utf8", "/json", JSON, b'"\xff\xfe"', 400, b"invalid JSON: the body is not UTF-8"),
    (
        "json-trailing-garbage",
        "/json",
        JSON,
        b"[1] x",
        400,
        b"invalid JSON: Extra data (line 1, column 5)",
    ),
    ("valid-json", "/json", JSON, b'{"a":[1,2]}', 200, b'{"type":"dict"}'),
    (
        "form-as-json",
        "/form",
        JSON,
        b"a=1",
        415,
        b"cannot read a form from content-type 'application/json'; "
        b"send application/x-www-form-urlencoded or multipart/form-data",
    ),
    (
        "multipart-without-boundary",
        "/form",
        (b"content-type", b"multipart/form-data"),
        b"--x\r\n",
        400,
        b"multipart form without a boundary in its content-type",
    ),
    (
        "multipart-part-without-name",
        "/form",
        MULTIPART,
        NAMELESS_PART,
        400,
        b"multipart part without a name in its content-disposition",
    ),
    ("form-not-utf8", "/form", FORM, b"a=\xff&b", 200, b'{"fields":2}'),
    ("declared-over-limit", "/upload", FORM, b"x" * 2000, 413, TOO_LARGE),
]
IDS = [case[0] for case in BODIES]


@pytest.mark.parametrize(("name", "path", "ctype", "body", "status", "answer"), BODIES, ids=IDS)
def test_bad_body_in_process(
    hostile: Hostile,
    name: str,
    path: str,
    ctype: tuple[bytes, bytes],
    body: bytes,
    status: int,
    answer: bytes,
) -> None:
    reply = inprocess(hostile, "POST", path.encode(), headers=[ctype], body=body)
    assert (reply.status, reply.body) == (status, answer)
    if status >= 400:
        assert_clean_error(reply.status, reply.body, status)
    if status == 413:
        assert hostile.received[path] == 0  # refused on the declared length: nothing read


@pytest.mark.server
@pytest.mark.parametrize(("name", "path", "ctype", "body", "status", "answer"), BODIES, ids=IDS)
def test_bad_body_over_the_wire(
    live: Live,
    name: str,
    path: str,
    ctype: tuple[bytes, bytes],
    body: bytes,
    status: int,
    answer: bytes,
) -> None:
    before = live.hostile.received[path]
    head = b"POST %s HTTP/1.1\r\nHost: t\r\n%s: %s\r\nContent-Length: %d\r\n\r\n" % (
        path.encode(),
        *ctype,
        len(body),
    )
    replies = over_the_wire(live.url, head + body)
    assert (replies[0].status, replies[0].body) == (status, answer)
    if status == 413:
        assert replies[0].header("connection") == "close"
        assert live.hostile.received[path] == before  # nothing read
    assert_still_serving(live.url, replies)


def test_deeply_nested_json_is_a_400(hostile: Hostile) -> None:
    reply = inprocess(hostile, "POST", b"/json", headers=[JSON], body=b"[" * 50_000)
    assert_clean_error(reply.status, reply.body, 400)


def test_streamed_body_over_the_limit_stops_reading_in_process(hostile: Hostile) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):  # 100 x 512 = 51,200 bytes offered, the limit is 1,024
            sent.append(512)
            yield b"x" * 512

    with Client(hostile) as client:
        reply = client.post("/upload", content=chunks())
    assert (reply.status_code, reply.content) == (413, TOO_LARGE)
    # It read the chunk that crossed the limit and not one more.
    assert hostile.received["/upload"] == 1536
    assert sum(sent) == 1536


@pytest.mark.server
def test_streamed_body_over_the_limit_stops_reading_over_the_wire(live: Live) -> None:
    before = live.hostile.received["/upload"]
    host, port = live.url.removeprefix("http://").rsplit(":", 1)
    chunk = b"200\r\n" + b"x" * 512 + b"\r\n"
    offered = 4 * 1024 * 1024
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        # Send until the server answers (or 4 MiB went out): a server that read everything
        # would let all of it through before answering.
        for _ in range(offered // 512):
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break
            if writable:
                try:
                    sock.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += 512
        data = b""
        try:
            while part := sock.recv(65536):
                data += part
        except ConnectionResetError:
            pass
    first = parse_replies(data)[0] if data else None
    assert first is not None, "no answer before the server closed"
    assert (first.status, first.body) == (413, TOO_LARGE)
    read = live.hostile.received["/upload"] - before
    # uvicorn hands the app everything it has buffered in one message (reading pauses at
    # its 64 KiB high-water mark, after the socket read that crossed it): a few buffers at
    # most, against the 4 MiB a server that read everything would have taken.
    assert read <= 256 * 1024, f"the app read {read} bytes"
    assert sent < offered, "the server let the client send all 4 MiB before answering"
    assert_still_serving(live.url, [])


def test_body_ending_early_in_process(hostile: Hostile) -> None:
    async def run() -> None:
        before = len(asyncio.all_tasks())
        await asgi_request(
            hostile,
            "POST",
            b"/slurp",
            headers=[(b"content-length", b"1000")],
            chunks=[b"x" * 10],
            disconnect=True,
        )
        assert len(asyncio.all_tasks()) == before

    asyncio.run(run())
    assert (hostile.stats["slurp_started"], hostile.stats["slurp_finished"]) == (1, 1)
    assert hostile.received["/slurp"] == 10


def test_body_ending_early_is_not_logged_as_a_server_error(
    hostile: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, "asgilab"):
        asyncio.run(asgi_request(hostile, "POST", b"/slurp", chunks=[b"x" * 10], disconnect=True))
    assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.server
def test_body_ending_early_over_the_wire(live: Live) -> None:
    # Content-Length promises 1000 bytes; 10 arrive, then the client stops sending.
    finished = live.hostile.stats["slurp_finished"]
    raw_http(
        live.url,
        b"POST /slurp HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10,
        half_close=True,
    )
    assert wait_until(lambda: live.hostile.stats["slurp_finished"] == finished + 1)
    assert_still_serving(live.url, [])


@pytest.mark.server
def test_content_length_shorter_than_the_body(live: Live) -> None:
    # The app gets at most the 3 bytes declared; the rest is read as the next request,
    # which is garbage: uvicorn refuses it and closes. h11 answers the first request
    # before it parses the garbage; httptools parses the whole read at once and refuses
    # the connection before dispatching anything.
    before = live.hostile.received["/json"]
    replies = over_the_wire(
        live.url,
        b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n123456789\r\n\r\n",
    )
    answers = [(r.status, r.body) for r in replies]
    assert answers[-1] == (400, b"Invalid HTTP request received.")
    assert answers[:-1] in ([], [(200, b'{"type":"int"}')])
    assert live.hostile.received["/json"] - before in (0, 3)
    assert_still_serving(live.url, [])


@pytest.mark.parametrize(
    ("declared", "sent", "answer"),
    [
        (b"3", b"123456789", b'{"type":"int"}'),  # says less: the messages rule
        (b"1000", b"[1]", b'{"type":"list"}'),  # says more: the messages rule
        (b"5000", b"[1]", TOO_LARGE),  # says more than the limit: 413, nothing read
    ],
)
def test_lying_content_length_in_process(
    hostile: Hostile, declared: bytes, sent: bytes, answer: bytes
) -> None:
    # Framing is the server's job (see the over-the-wire tests): in ASGI the body is what
    # the http.request messages carry. The App uses the declared length only to refuse
    # early, so a lie costs nothing but the lie's own 413.
    path = b"/upload" if answer == TOO_LARGE else b"/json"
    reply = asyncio.run(
        asgi_request(hostile, "POST", path, headers=[(b"content-length", declared)], chunks=[sent])
    )
    assert reply.body == answer
    if answer == TOO_LARGE:
        assert hostile.received["/upload"] == 0


def test_content_length_not_a_number_in_process(hostile: Hostile) -> None:
    reply = asyncio.run(
        asgi_request(hostile, "POST", b"/upload", headers=[(b"content-length", b"ten")])
    )
    assert (reply.status, reply.body) == (400, b"content-length is not a number")


@pytest.mark.server
@pytest.mark.parametrize("value", [b"ten", b"-1", b"1, 2", b"0x10"])
def test_content_length_not_a_number_over_the_wire(live: Live, value: bytes) -> None:
    replies = over_the_wire(
        live.url, b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + value + b"\r\n\r\n"
    )
    assert (replies[0].status, replies[0].body) == (400, b"Invalid HTTP request received.")
    assert_still_serving(live.url, replies)
