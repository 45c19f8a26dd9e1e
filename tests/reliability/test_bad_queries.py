"""Hostile query strings: typed values that do not fit answer 400 naming the parameter;
everything else is parsed leniently (repeated keys kept in order, thousands of
parameters, undecodable escapes replaced) and never costs a 5xx."""

import asyncio
import json

import pytest

from .conftest import Live
from .support import (
    Hostile,
    asgi_request,
    assert_clean_error,
    assert_still_serving,
    inprocess,
    over_the_wire,
)


def search(page: int = 1, tags: list[str] | None = None, params: int = 0) -> bytes:
    """The body /search answers with."""
    body = {"page": page, "tags": tags or [], "params": params}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


THOUSANDS = "&".join(f"k{i}=v{i}" for i in range(5000)).encode()
REPEATED = b"&".join([b"tag=x"] * 5000)

# id, query, status, body
QUERIES = [
    (
        "bad-int",
        b"page=abc",
        400,
        b"query parameter 'page' must be int (ASCII digits, such as 42), got 'abc'",
    ),
    (
        "invalid-escape-as-int",
        b"page=%zz",
        400,
        b"query parameter 'page' must be int (ASCII digits, such as 42), got '%zz'",
    ),
    (
        "empty-int",
        b"page=",
        400,
        b"query parameter 'page' must be int (ASCII digits, such as 42), got ''",
    ),
    (
        "float-for-int",
        b"page=1e3",
        400,
        b"query parameter 'page' must be int (ASCII digits, such as 42), got '1e3'",
    ),
    ("last-value-wins", b"page=2&page=3", 200, search(3, params=2)),
    ("repeated-keys-kept", b"tag=a&tag=b&tag=a", 200, search(tags=["a", "b", "a"], params=3)),
    ("invalid-escape-kept", b"tag=%zz&tag=%", 200, search(tags=["%zz", "%"], params=2)),
    ("non-utf8-escape-replaced", b"tag=caf%E9", 200, search(tags=["caf\ufffd"], params=1)),
    ("plus-is-space", b"tag=a+b", 200, search(tags=["a b"], params=1)),
    ("empty-pieces", b"&&tag&=x&", 200, search(tags=[""], params=2)),
    ("5000-params", THOUSANDS, 200, search(params=5000)),
    ("5000-repeats", REPEATED, 200, search(tags=["x"] * 5000, params=5000)),
]
IDS = [case[0] for case in QUERIES]


@pytest.mark.parametrize(("name", "query", "status", "body"), QUERIES, ids=IDS)
def test_bad_query_in_process(
    hostile: Hostile, name: str, query: bytes, status: int, body: bytes
) -> None:
    reply = inprocess(hostile, "GET", b"/search?" + query)
    assert (reply.status, reply.body) == (status, body)
    if status >= 400:
        assert_clean_error(reply.status, reply.body, status)


@pytest.mark.server
@pytest.mark.parametrize(("name", "query", "status", "body"), QUERIES, ids=IDS)
def test_bad_query_over_the_wire(
    live: Live, name: str, query: bytes, status: int, body: bytes
) -> None:
    replies = over_the_wire(live.url, b"GET /search?" + query + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (replies[0].status, replies[0].body) == (status, body)
    assert_still_serving(live.url, replies)


def test_huge_bad_typed_value_gets_a_short_message(hostile: Hostile) -> None:
    reply = inprocess(hostile, "GET", b"/search?page=" + b"9" * 10_000)
    assert_clean_error(reply.status, reply.body, 400)


def test_redirect_escapes_control_characters_from_the_query(hostile: Hostile) -> None:
    reply = asyncio.run(asgi_request(hostile, "GET", b"/items/7/?a=\x00b"))
    assert (reply.status, reply.header("location")) == (308, "/items/7?a=%00b")
