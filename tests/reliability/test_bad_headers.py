"""Hostile headers: non-ASCII request values and thousands of headers are read, never a
5xx; a handler that puts CR or LF in a response header gets a 500, never a split
response (no injected header or second response reaches the client)."""

import json

import httpx
import pytest

from .conftest import Live
from .support import (
    Hostile,
    assert_clean_error,
    assert_still_serving,
    inprocess,
    over_the_wire,
    parse_replies,
    raw_http,
)

# id, extra request headers, expected x-name as the handler reads it (latin-1, as in ASGI)
HEADERS = [
    ("utf8-value", [(b"x-name", "café".encode())], "cafÃ©"),
    ("latin1-byte", [(b"x-name", b"caf\xe9")], "café"),
    ("high-bytes", [(b"x-name", b"\x80\xff\xfe")], "\x80ÿþ"),
    ("8-KiB-value", [(b"x-name", b"v" * 8192)], "v" * 8192),
    ("5000-headers", [(b"x-h%d" % i, b"v") for i in range(5000)], None),
    ("repeated-header", [(b"x-name", b"a"), (b"x-name", b"b")], "b"),
]
IDS = [case[0] for case in HEADERS]


@pytest.mark.parametrize(("name", "headers", "seen"), HEADERS, ids=IDS)
def test_odd_request_headers_in_process(
    hostile: Hostile, name: str, headers: list[tuple[bytes, bytes]], seen: str | None
) -> None:
    reply = inprocess(hostile, "GET", b"/headers", headers=headers)
    assert reply.status == 200
    answer = json.loads(reply.body)
    assert answer["x-name"] == seen
    assert answer["count"] >= len(headers)


@pytest.mark.server
@pytest.mark.parametrize(("name", "headers", "seen"), HEADERS, ids=IDS)
def test_odd_request_headers_over_the_wire(
    live: Live, name: str, headers: list[tuple[bytes, bytes]], seen: str | None
) -> None:
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    replies = over_the_wire(live.url, b"GET /headers HTTP/1.1\r\nHost: t\r\n" + lines + b"\r\n")
    assert replies[0].status == 200
    answer = json.loads(replies[0].body)
    assert answer["x-name"] == seen
    assert answer["count"] == len(headers) + 1  # and Host
    assert_still_serving(live.url, replies)


# Request headers no HTTP/1.1 parser may accept: uvicorn refuses them before the app runs.
MALFORMED = [
    ("space-in-name", b"X Name: v\r\n"),
    ("no-colon", b"X-Name\r\n"),
    ("nul-in-value", b"X-Name: a\x00b\r\n"),
    ("bare-cr-in-value", b"X-Name: a\rb\r\n"),
]


@pytest.mark.server
@pytest.mark.parametrize("line", [case[1] for case in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_request_header_is_refused_by_the_server(live: Live, line: bytes) -> None:
    replies = over_the_wire(live.url, b"GET /headers HTTP/1.1\r\nHost: t\r\n" + line + b"\r\n")
    assert (replies[0].status, replies[0].body) == (400, b"Invalid HTTP request received.")
    assert_still_serving(live.url, replies)


CRLF_ROUTES = ["/crlf", "/crlf-later"]


@pytest.mark.parametrize("path", CRLF_ROUTES)
def test_crlf_in_a_response_header_is_500_in_process(hostile: Hostile, path: str) -> None:
    reply = inprocess(hostile, "GET", path.encode())
    assert (reply.status, reply.body) == (500, b"Internal Server Error")
    assert_clean_error(reply.status, reply.body, 500)
    assert [name for name, _ in reply.headers if name in ("x-evil", "set-cookie")] == []


@pytest.mark.server
@pytest.mark.parametrize("path", CRLF_ROUTES)
def test_crlf_in_a_response_header_never_splits_the_response(live: Live, path: str) -> None:
    data = raw_http(
        live.url,
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    assert b"pwned" not in data
    replies = parse_replies(data)
    assert [(r.status, r.body) for r in replies] == [(500, b"Internal Server Error")]
    assert httpx.get(live.url + "/items/7").json() == {"id": 7}
