"""Property tests: whatever request target, method and query a client makes up, the App
answers with a status it means (never a 5xx for input the client controls), a short
error message and no traceback; and query values survive the trip through httpx,
uvicorn-style decoding and QueryParams unchanged."""

import asyncio
import json
from urllib.parse import unquote

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from asgilab.client import Client
from asgilab.converters import INT

from .support import asgi_request, hostile_app

APP = hostile_app()

# Routes that fail on purpose, or stream/sleep for long: not what this property is about.
DELIBERATE = {
    "/raise",
    "/raise-sync",
    "/unsupported",
    "/unencodable",
    "/timeout",
    "/crlf",
    "/crlf-later",
    "/forever",
    "/slow",
    "/background",
}
MEANT = {200, 204, 308, 400, 404, 405, 413, 415}

TRICKY = [
    "", ".", "..", "items", "files", "search", "json", "upload", "headers", "stream", "7",
    "-1", "1e3", "9" * 40, "%zz", "%4", "%", "%00", "%2F", "%2e%2e", "%C3%A9", "%E9",
    "%C0%AF", "%F0%9F%90%8D", "é", "\u202e", "\x7f", "~", "+", " ", "%20", "*", "\\",
]  # fmt: skip

segment_text = st.one_of(
    st.sampled_from(TRICKY),
    st.from_regex(r"(%[0-9A-Fa-f]{0,2}|[a-zA-Z0-9._~!$&'()*+,;=:@-]){0,10}", fullmatch=True),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=8),
)
segment = st.one_of(
    segment_text.map(lambda s: s.encode()),
    st.binary(max_size=4).filter(lambda b: b"/" not in b and b"?" not in b),
)
query_piece = st.one_of(
    st.sampled_from([b"page=2", b"page=x", b"page=", b"tag=a", b"tag=%zz", b"n=5", b"&", b"="]),
    st.from_regex(rb"[a-z%0-9=&+;]{0,16}", fullmatch=True),
)
targets = st.builds(
    lambda segments, query: (
        b"/" + b"/".join(segments) + (b"?" + b"&".join(query) if query else b"")
    ),
    st.lists(segment, max_size=6),
    st.lists(query_piece, max_size=5),
)
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
bodies = st.one_of(st.just(b""), st.binary(max_size=64), st.sampled_from([b"{}", b"[1]", b'{"a":']))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, target=targets, body=bodies)
def test_client_controlled_input_never_gets_a_5xx(method: str, target: bytes, body: bytes) -> None:
    path = unquote(target.partition(b"?")[0].decode("latin-1"))
    assume(path.rstrip("/") not in DELIBERATE)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    reply = asyncio.run(asgi_request(APP, method, target, headers=headers, chunks=[body]))
    assert reply.status in MEANT, (reply.status, reply.body[:200])
    if reply.status >= 400:
        assert len(reply.body) <= 300, reply.body[:200]
        assert b"Traceback" not in reply.body


keys = st.sampled_from(["tag", "page", "other", "TAG", "tag[]"])
values = st.text(st.characters(codec="utf-8"), max_size=12)


def _query_int(text: str) -> int | None:
    """A query int as typed access reads it: the {x:int} converter's digits, maybe negative."""
    digits = text[1:] if text.startswith("-") else text
    value = INT.accept(digits)
    return None if value is None else (-value if text.startswith("-") else value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.lists(st.tuples(keys, values), max_size=8))
def test_query_values_survive_the_round_trip(params: list[tuple[str, str]]) -> None:
    pages = [value for key, value in params if key == "page"]
    with Client(APP) as client:
        reply = client.get("/search", params=params)
    page = _query_int(pages[-1]) if pages else 1
    if page is None:
        assert reply.status_code == 400
        assert (
            reply.text
            == f"query parameter 'page' must be int (ASCII digits, such as 42), got {pages[-1]!r}"
        )
        return
    assert reply.status_code == 200
    assert json.loads(reply.content) == {
        "page": page,
        "tags": [value for key, value in params if key == "tag"],
        "params": len(params),
    }
