"""The recorded ASGI exchange: what it holds, and how it reads as text and HTML."""

from __future__ import annotations

import asyncio
import re

import pytest

from asgilab.client import Client
from asgilab.trace import Trace, TraceEvent, shorten, shorten_bytes
from asgilab.types import Receive, Scope, Send


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, answers it back in two chunks."""
    if scope["type"] != "http":
        return
    body = b""
    more_body = True
    while more_body:
        message = await receive()
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"got:", "more_body": True})
    await send({"type": "http.response.body", "body": body})


def calls(trace: Trace) -> list[tuple[str, dict[str, object]]]:
    return [(event.call, dict(event.message)) for event in trace.events]


def test_trace_of_a_get() -> None:
    client = Client(echo)
    client.get("/items?id=1", headers={"X-Debug": "1"})
    trace = client.trace
    assert trace is not None
    assert trace.scope == {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 123),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": "/items",
        "raw_path": b"/items",
        "query_string": b"id=1",
        "headers": [
            (b"host", b"testserver"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"connection", b"keep-alive"),
            (b"user-agent", trace.scope["headers"][4][1]),  # the httpx version
            (b"x-debug", b"1"),
        ],
        "state": {},
    }
    assert calls(trace) == [
        ("receive", {"type": "http.request", "body": b"", "more_body": False}),
        (
            "send",
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            },
        ),
        ("send", {"type": "http.response.body", "body": b"got:", "more_body": True}),
        ("send", {"type": "http.response.body", "body": b""}),
    ]
    offsets = [event.offset for event in trace.events]
    assert offsets == sorted(offsets)
    assert trace.duration is not None and trace.duration >= offsets[-1]
    assert (trace.status, trace.body, trace.error) == (200, b"got:", None)
    assert repr(trace) == "<Trace GET /items?id=1 -> 200, 4 messages>"


def test_trace_of_a_streamed_post() -> None:
    client = Client(echo)
    response = client.post("/upload", content=iter([b"part1-", b"part2"]))
    assert response.text == "got:part1-part2"
    assert client.trace is not None
    assert client.trace.scope["method"] == "POST"
    assert (b"transfer-encoding", b"chunked") in client.trace.scope["headers"]
    assert calls(client.trace) == [
        ("receive", {"type": "http.request", "body": b"part1-", "more_body": True}),
        ("receive", {"type": "http.request", "body": b"part2", "more_body": True}),
        ("receive", {"type": "http.request", "body": b"", "more_body": False}),
        (
            "send",
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            },
        ),
        ("send", {"type": "http.response.body", "body": b"got:", "more_body": True}),
        ("send", {"type": "http.response.body", "body": b"part1-part2"}),
    ]


def test_the_scope_is_kept_as_the_server_sent_it() -> None:
    # An app may append to the headers list and fill the state in place.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["headers"].append((b"x-added-by-app", b"1"))
        scope["state"]["user"] = "ada"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = Client(app, lifespan="off")
    client.get("/")
    assert client.trace is not None
    assert (b"x-added-by-app", b"1") not in client.trace.scope["headers"]
    assert client.trace.scope["state"] == {}


def test_messages_are_copied_so_the_app_cannot_rewrite_history() -> None:
    async def reuse(scope: Scope, receive: Receive, send: Send) -> None:
        message = {"type": "http.response.start", "status": 200, "headers": []}
        await send(message)
        message.clear()
        message.update(type="http.response.body", body=b"x")
        await send(message)

    client = Client(reuse)
    client.get("/")
    assert client.trace is not None
    assert [event.message["type"] for event in client.trace.events] == [
        "http.response.start",
        "http.response.body",
    ]


def fixed_trace() -> Trace:
    """A trace with known times, so its text can be pinned whole."""
    trace = Trace(
        {
            "type": "http",
            "method": "POST",
            "path": "/echo",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"content-length", b"300")],
        }
    )
    trace.events += [
        TraceEvent(0.000012, "receive", {"type": "http.request", "body": b"a" * 300}),
        TraceEvent(
            0.00025,
            "send",
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"text/plain"), (b"x-a", b"<b>")],
            },
        ),
        TraceEvent(0.0012345, "send", {"type": "http.response.body", "body": b"done"}),
    ]
    trace.duration = 0.0015
    return trace


def test_text_table() -> None:
    assert str(fixed_trace()) == "\n".join(
        [
            "POST /echo -> 201 Created in 1.500 ms",
            "scope:",
            "  type          'http'",
            "  method        'POST'",
            "  path          '/echo'",
            "  query_string  b''",
            "  headers       [(b'host', b'testserver'),",
            "                 (b'content-length', b'300')]",
            "messages:",
            "     ms  call              type                 fields",
            "  0.012  app <- receive()  http.request         body=b'"
            + "a" * 64
            + "'... (300 bytes)",
            "  0.250  app -> send()     http.response.start  status=201",
            " " * 48 + "headers=[(b'content-type', b'text/plain'),",
            " " * 48 + "         (b'x-a', b'<b>')]",
            "  1.234  app -> send()     http.response.body   body=b'done'",
        ]
    )


def test_html_table_escapes_and_shortens() -> None:
    page = fixed_trace()._repr_html_()
    assert page.startswith(
        '<div class="asgilab-trace"><p><b>POST /echo -&gt; 201 Created in 1.500 ms'
    )
    assert "(b&#x27;x-a&#x27;, b&#x27;&lt;b&gt;&#x27;)" in page
    assert "<b>'" not in page
    assert "... (300 bytes)" in page
    text = re.sub(r"<[^>]+>", " ", page)
    assert text.count("http.response.") == 2
    assert "0.012" in text and "1.234" in text


def test_error_and_no_response_are_shown() -> None:
    async def boom(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("missing")

    async def run() -> Trace:
        trace = Trace({"type": "http", "method": "GET", "path": "/"})

        async def receive() -> dict[str, object]:
            return {}

        async def send(message: object) -> None:
            pass

        with pytest.raises(KeyError):
            await trace.run(boom, receive, send)
        return trace

    trace = asyncio.run(run())
    assert repr(trace) == "<Trace GET / -> no response, 0 messages, raised KeyError('missing')>"
    assert str(trace).splitlines()[-2:] == ["messages: none", "the app raised KeyError('missing')"]
    assert "the app raised <code>KeyError(&#x27;missing&#x27;)</code>" in trace._repr_html_()


def test_lifespan_summary() -> None:
    assert repr(Trace({"type": "lifespan"})) == "<Trace lifespan, 0 messages>"


@pytest.mark.parametrize(
    ("data", "limit", "shown"),
    [
        (b"", 4, "b''"),
        (b"abcd", 4, "b'abcd'"),
        (b"abcde", 4, "b'abcd'... (5 bytes)"),
        (b"\x00" * 2000, 2, "b'\\x00\\x00'... (2,000 bytes)"),
    ],
)
def test_shorten_bytes(data: bytes, limit: int, shown: str) -> None:
    assert shorten_bytes(data, limit) == shown


def test_shorten() -> None:
    assert shorten("x" * 10, limit=10) == "x" * 10
    assert shorten("x" * 11, limit=10) == "x" * 7 + "..."
