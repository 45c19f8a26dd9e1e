"""The in-process client, against three-line raw ASGI apps (never asgilab's own App).

A bug in the App cannot hide a bug in the client this way, and each app below
shows exactly what the client must do for it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import httpx
import pytest

from asgilab import App, HTTPException, RedirectResponse, Request, Response
from asgilab.background import BackgroundRunner, BackgroundTask
from asgilab.client import (
    ASGIError,
    AsyncClient,
    Client,
    EventLoopError,
    LifespanError,
    _run_nested,
)
from asgilab.types import Message, Receive, Scope, Send


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers every HTTP request with 200 'hello'; ignores the lifespan."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the method, the body it read, and the scope's path fields, as JSON."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = {
        "method": scope["method"],
        "body": body.decode(),
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query_string": scope["query_string"].decode(),
        "server": list(scope["server"]),
        "state": sorted(scope["state"]),
    }
    data = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class LifespanApp:
    """Counts its startups and shutdowns, stores a value in the lifespan state."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["db"] = "connected"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await echo(scope, receive, send)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- sync ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head", "options", "delete"])
def test_sync_methods_without_body(method: str) -> None:
    with Client(echo) as client:
        response = getattr(client, method)("/x")
    assert response.status_code == 200
    assert client.trace is not None
    assert client.trace.scope["method"] == method.upper()
    if method != "head":  # a server sends no body to HEAD
        assert response.json()["method"] == method.upper()
    else:
        assert response.content == b""
        # The headers the app sent, body announced but not sent.
        assert response.headers["content-length"] == str(len(client.trace.body))


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_sync_methods_with_body(method: str) -> None:
    with Client(echo) as client:
        response = getattr(client, method)("/x", content=b"payload")
    assert response.json()["method"] == method.upper()
    assert response.json()["body"] == "payload"


def test_request_takes_httpx_keyword_arguments() -> None:
    client = Client(echo)
    response = client.request("POST", "/search", params={"q": "a b"}, json={"n": 1})
    assert response.json()["query_string"] == "q=a+b"
    assert response.json()["body"] == '{"n":1}'
    assert client.trace is not None
    assert (b"content-type", b"application/json") in client.trace.scope["headers"]


def test_without_with_block_no_lifespan_runs() -> None:
    app = LifespanApp()
    response = Client(app).get("/")
    assert response.json()["state"] == []
    assert app.events == []


class WithBackground:
    """Answers 200 and queues one task on its runner, as an App's handler can."""

    def __init__(self) -> None:
        self.background = BackgroundRunner()
        self.done: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return

        async def later() -> None:
            await asyncio.sleep(0.01)
            self.done.append(scope["path"])

        self.background.submit(BackgroundTask(later))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"queued"})


def test_background_work_finishes_before_the_client_ends_its_loop() -> None:
    # Outside `with`, and with the lifespan off, no shutdown drains the app's runner;
    # the client does, instead of letting the end of its loop cancel the work.
    app = WithBackground()
    assert Client(app).get("/outside").text == "queued"
    with Client(app, lifespan="off") as client:
        client.get("/lifespan-off")
    assert app.done == ["/outside", "/lifespan-off"]


def test_scope_is_what_a_server_sends() -> None:
    """raw_path keeps the encoding, path is decoded once, the server port is real."""
    response = Client(echo).get("/files/a%2Fb/caf%C3%A9?x=%20")
    assert response.json() == {
        "method": "GET",
        "body": "",
        "path": "/files/a/b/café",
        "raw_path": "/files/a%2Fb/caf%C3%A9",
        "query_string": "x=%20",
        "server": ["testserver", 80],
        "state": [],
    }


# --- lifespan --------------------------------------------------------------------------


def test_lifespan_runs_once_per_with_block_and_state_reaches_requests() -> None:
    app = LifespanApp()
    client = Client(app)
    with client:
        assert client.get("/").json()["state"] == ["db"]
        assert client.get("/").json()["state"] == ["db"]
        assert app.events == ["lifespan.startup"]
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]
    with client:
        client.get("/")
    assert app.events == ["lifespan.startup", "lifespan.shutdown"] * 2


def test_each_request_gets_a_copy_of_the_state() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await LifespanApp()(scope, receive, send)
            return
        seen = sorted(scope["state"])
        scope["state"]["leak"] = True
        body = json.dumps(seen).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with Client(app) as client:
        assert client.get("/").json() == ["db"]
        assert client.get("/").json() == ["db"]
        assert client.state == {"db": "connected"}


@pytest.mark.anyio
async def test_async_client_runs_lifespan() -> None:
    app = LifespanApp()
    async with AsyncClient(app) as client:
        response = await client.get("/")
    assert response.json()["state"] == ["db"]
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]


async def failing_startup(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no database"})


async def failing_shutdown(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.failed", "message": "could not flush"})


async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
    """A typical raw app: it answers every scope as HTTP, lifespan included."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def raises_at_once(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise RuntimeError("only HTTP here")
    await http_only(scope, receive, send)


@pytest.mark.parametrize(
    ("app", "mode", "message"),
    [
        (failing_startup, "auto", "lifespan startup failed: no database"),
        (failing_startup, "on", "lifespan startup failed: no database"),
        (
            raises_at_once,
            "on",
            "the app's lifespan raised RuntimeError('only HTTP here') before startup "
            "completed (pass lifespan='off' to skip it)",
        ),
        (
            http_only,
            "on",
            "the app's lifespan raised LifespanError(\"unexpected lifespan message "
            "'http.response.start' (expected one of lifespan.shutdown.complete, "
            'lifespan.shutdown.failed, lifespan.startup.complete, lifespan.startup.failed)") '
            "before startup completed (pass lifespan='off' to skip it)",
        ),
        (
            hello,
            "on",
            "the app's lifespan returned before startup completed (pass lifespan='off' to skip it)",
        ),
    ],
)
def test_lifespan_startup_errors(app: Any, mode: Any, message: str) -> None:
    with pytest.raises(LifespanError) as error, Client(app, lifespan=mode):
        pass
    assert str(error.value) == message


@pytest.mark.parametrize("app", [http_only, raises_at_once, hello])
def test_lifespan_auto_carries_on_without_one(app: Any) -> None:
    with Client(app) as client:
        assert client.get("/").status_code == 200


def test_lifespan_off_never_calls_the_app() -> None:
    app = LifespanApp()
    with Client(app, lifespan="off") as client:
        client.get("/")
    assert app.events == []


def test_lifespan_shutdown_failure() -> None:
    with pytest.raises(LifespanError) as error, Client(failing_shutdown):
        pass
    assert str(error.value) == "lifespan shutdown failed: could not flush"


def test_lifespan_trace() -> None:
    with Client(LifespanApp()) as client:
        pass
    assert client.lifespan_trace is not None
    assert [(e.call, e.message) for e in client.lifespan_trace.events] == [
        ("receive", {"type": "lifespan.startup"}),
        ("send", {"type": "lifespan.startup.complete"}),
        ("receive", {"type": "lifespan.shutdown"}),
        ("send", {"type": "lifespan.shutdown.complete"}),
    ]
    # The trace keeps the scope as sent; what the startup filled in is the client's state.
    assert client.lifespan_trace.scope["state"] == {}
    assert client.state == {"db": "connected"}


# --- app errors and protocol mistakes -------------------------------------------------


async def boom(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("boom")


def test_app_exception_propagates_and_is_traced() -> None:
    client = Client(boom)
    with pytest.raises(ValueError, match="boom"):
        client.get("/")
    assert client.trace is not None
    assert client.trace.error == "ValueError('boom')"


def test_app_exception_becomes_500_when_asked() -> None:
    response = Client(boom, raise_app_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


async def no_response(scope: Scope, receive: Receive, send: Send) -> None:
    pass


async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.body", "body": b"x"})


async def start_twice(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200})
    await send({"type": "http.response.start", "status": 200})


async def unfinished(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200})
    await send({"type": "http.response.body", "body": b"x", "more_body": True})


async def websocket_message(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "websocket.accept"})


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (no_response, "the app returned without sending a response"),
        (body_first, "the app sent http.response.body before http.response.start"),
        (start_twice, "the app sent http.response.start twice"),
        (
            unfinished,
            "the app returned before finishing its response "
            "(no http.response.body with more_body=False)",
        ),
        (
            websocket_message,
            "unexpected message 'websocket.accept' from the app "
            "(expected 'http.response.start' or 'http.response.body')",
        ),
    ],
)
def test_protocol_mistakes(app: Any, message: str) -> None:
    with pytest.raises(ASGIError) as error:
        Client(app).get("/")
    assert str(error.value) == message


# --- bodies ----------------------------------------------------------------------------


def test_sync_iterator_content_is_streamed() -> None:
    client = Client(echo)
    response = client.post("/", content=iter([b"a", b"", b"bc"]))
    assert response.json()["body"] == "abc"
    assert client.trace is not None
    assert [e.message for e in client.trace.events if e.call == "receive"] == [
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.request", "body": b"bc", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]


@pytest.mark.anyio
async def test_async_iterator_content_is_streamed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x"
        yield b"y"

    response = await AsyncClient(echo).post("/", content=chunks())
    assert response.json()["body"] == "xy"


@pytest.mark.anyio
async def test_disconnect_comes_after_the_response() -> None:
    """An app that listens for the disconnect gets it once its response is complete."""
    received: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

        async def listen() -> None:
            received.append(await receive())

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0)
        assert not received
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})
        await listener

    response = await AsyncClient(app).get("/")
    assert response.status_code == 204
    assert received == [{"type": "http.disconnect"}]


# --- event loops -----------------------------------------------------------------------


def run_script(code: str) -> str:
    """Run ``code`` in a fresh interpreter: patching a running loop must not leak into pytest."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sync_client_inside_a_running_loop() -> None:
    output = run_script(
        """
        import asyncio
        from asgilab.client import Client

        async def slow(scope, receive, send):
            if scope["type"] == "lifespan":
                await receive(); await send({"type": "lifespan.startup.complete"})
                await receive(); await send({"type": "lifespan.shutdown.complete"})
                return
            await asyncio.sleep(0.05)  # a nested run that takes a moment
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"nested"})

        async def cell():
            print(Client(slow).get("/").text)
            with Client(slow) as client:
                print(client.get("/").text, client.lifespan_trace.events[-1].message["type"])
            print(client.lifespan_trace.events[-1].message["type"])

        asyncio.run(cell())
        """
    )
    assert output == "nested\nnested lifespan.startup.complete\nlifespan.shutdown.complete\n"


def test_no_patching_on_import_or_without_a_running_loop() -> None:
    output = run_script(
        """
        import asyncio
        import sys
        from asgilab.client import Client

        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200})
            await send({"type": "http.response.body", "body": b"ok"})

        print(Client(app, lifespan="off").get("/").text)
        print("nest_asyncio2" in sys.modules, hasattr(asyncio, "_nest_patched"))
        """
    )
    assert output == "ok\nFalse False\n"


def test_uvloop_like_loop_gives_a_clear_error() -> None:
    class Loop(asyncio.AbstractEventLoop):  # not a BaseEventLoop, like uvloop.Loop
        pass

    Loop.__module__, Loop.__qualname__ = "uvloop", "Loop"

    async def nothing() -> None:
        pass

    coro = nothing()
    with pytest.raises(EventLoopError) as error:
        _run_nested(Loop(), coro)
    assert str(error.value) == (
        "cannot make a blocking request inside the running uvloop.Loop event loop: "
        "nest_asyncio2 can only re-enter asyncio's own loops (uvloop's cannot be patched); "
        "use `await asgilab.AsyncClient(app).get(...)` instead"
    )


def test_real_uvloop_gives_a_clear_error() -> None:
    pytest.importorskip("uvloop")
    output = run_script(
        """
        import uvloop
        from asgilab.client import Client, EventLoopError

        async def cell():
            try:
                Client(lambda scope, receive, send: None).get("/")
            except EventLoopError as error:
                print("EventLoopError")

        uvloop.run(cell())
        """
    )
    assert output == "EventLoopError\n"


def test_with_block_entered_outside_a_loop_cannot_be_used_inside_one() -> None:
    async def cell(client: Client) -> None:
        client.get("/")

    with Client(hello) as client, pytest.raises(EventLoopError) as error:
        asyncio.run(cell(client))
    assert str(error.value) == (
        "this Client's `with` block started with no event loop running, so its lifespan "
        "lives on its own loop; it cannot be used from inside a running loop: enter the "
        "`with` block there instead, or use AsyncClient"
    )


def test_responses_are_httpx_responses() -> None:
    with Client(hello) as client:
        response = client.get("/")
    assert isinstance(response, httpx.Response)
    assert repr(client) == f"Client({hello!r}, base_url='http://testserver')"


async def slash_redirect(scope: Scope, receive: Receive, send: Send) -> None:
    """Sends ``/x/`` to ``/x`` with a 308 (method and body kept), then acts as ``echo``."""
    if scope["type"] == "http" and scope["path"].endswith("/"):
        location = scope["path"].rstrip("/").encode()
        await send(
            {"type": "http.response.start", "status": 308, "headers": [(b"location", location)]}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await echo(scope, receive, send)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_follow_redirects_resends_the_request(method: str) -> None:
    # httpx rebuilds the request for the next hop with a stream nobody has read yet.
    response = Client(slash_redirect).request(method, "/x/", content=b"kept", follow_redirects=True)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [308]
    assert (response.json()["method"], response.json()["body"]) == (method, "kept")


# --- cookies -------------------------------------------------------------------------


async def cookie_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the Cookie header it got; sets the cookie its query spells out.

    ``GET /a/b?a=1;%20Path=/a`` answers ``Set-Cookie: a=1; Path=/a``.
    """
    if scope["type"] != "http":
        return
    sent = b"; ".join(value for name, value in scope["headers"] if name == b"cookie")
    set_cookie = unquote_to_bytes(scope["query_string"])
    headers = [(b"set-cookie", set_cookie)] if set_cookie else []
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": sent})


def set_url(path: str, set_cookie: str) -> str:
    """The URL at which ``cookie_echo`` answers with ``Set-Cookie: set_cookie``."""
    return f"{path}?{quote(set_cookie)}"


@pytest.mark.parametrize(
    ("set_at", "set_cookie", "then", "sent"),
    [
        ("/", "a=1", "/", "a=1"),
        ("/", "a=1; Path=/", "/deep/er", "a=1"),
        ("/", 'a="x y"; HttpOnly; SameSite=Lax', "/", 'a="x y"'),
        # Path scoping: the path and below, at a "/" boundary.
        ("/", "a=1; Path=/admin", "/", ""),
        ("/", "a=1; Path=/admin", "/admin", "a=1"),
        ("/", "a=1; Path=/admin", "/admin/users", "a=1"),
        ("/", "a=1; Path=/admin", "/administrator", ""),
        # No Path: the default is the request's path up to its last "/" (RFC 6265 5.1.4).
        ("/account/login", "a=1", "/account/me", "a=1"),
        ("/account/login", "a=1", "/", ""),
        # Already expired: never stored.
        ("/", "a=1; Max-Age=0", "/", ""),
        ("/", "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/", ""),
        # Secure: only over https, and the base URL is http://testserver.
        ("/", "a=1; Secure", "/", ""),
        # Another site's cookie is refused.
        ("/", "a=1; Domain=example.com", "/", ""),
    ],
)
def test_a_cookie_the_app_sets_is_sent_back_where_it_applies(
    set_at: str, set_cookie: str, then: str, sent: str
) -> None:
    with Client(cookie_echo) as client:
        client.get(set_url(set_at, set_cookie))
        assert client.get(then).text == sent


@pytest.mark.parametrize(
    ("base_url", "set_cookie", "sent"),
    [
        ("http://example.com", "a=1; Domain=example.com", "a=1"),
        ("http://www.example.com", "a=1; Domain=example.com", "a=1"),
        ("https://testserver", "a=1; Secure", "a=1"),
        # NOTE: a limitation of Python's cookie jar (httpx's): a host name without a dot
        # is matched as "testserver.local", so a Domain naming it is kept, never sent.
        ("http://testserver", "a=1; Domain=testserver", ""),
    ],
)
def test_domain_and_secure_cookies(base_url: str, set_cookie: str, sent: str) -> None:
    with Client(cookie_echo, base_url=base_url) as client:
        client.get(set_url("/", set_cookie))
        assert client.get("/").text == sent


def test_cookies_are_kept_updated_and_deleted() -> None:
    with Client(cookie_echo) as client:
        assert client.get(set_url("/", "a=1")).text == ""
        assert client.get(set_url("/", "b=2")).text == "a=1"
        assert client.get(set_url("/", "a=3")).text == "a=1; b=2"
        # Replaced, not added, and first still: a replaced cookie keeps its creation time,
        # which orders cookies of one path (RFC 6265 5.3, 5.4).
        assert client.get(set_url("/", "a=; Max-Age=0")).text == "a=3; b=2"
        assert client.get(set_url("/", "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT")).text == "b=2"
        assert client.get("/").text == ""
        assert dict(client.cookies) == {}


def test_the_jar_is_the_clients_cookies() -> None:
    with Client(cookie_echo) as client:
        client.get(set_url("/", "a=1"))
        assert isinstance(client.cookies, httpx.Cookies)
        assert dict(client.cookies) == {"a": "1"}
        client.cookies.set("b", "2")  # a cookie of one's own, as on an httpx.Client
        assert client.get("/").text == "a=1; b=2"
        client.cookies.clear()
        assert client.get("/").text == ""
        client.cookies = {"c": "3"}  # a new jar
        assert client.get("/").text == "c=3"


def test_constructor_cookies_start_the_jar() -> None:
    with Client(cookie_echo, cookies={"theme": "dark"}) as client:
        assert client.get(set_url("/", "a=1")).text == "theme=dark"
        assert client.get("/").text == "theme=dark; a=1"


def test_per_request_cookies_join_the_jar_for_that_request_only() -> None:
    # httpx 0.28 deprecates them (set client.cookies instead) but still sends them.
    with Client(cookie_echo, cookies={"a": "1"}) as client:
        with pytest.warns(DeprecationWarning, match="per-request cookies"):
            assert client.get("/", cookies={"b": "2"}).text == "a=1; b=2"
        assert client.get("/").text == "a=1"


def test_two_clients_never_share_a_jar() -> None:
    start = {"theme": "dark"}
    with Client(cookie_echo, cookies=start) as one, Client(cookie_echo, cookies=start) as two:
        one.get(set_url("/", "session=1"))
        assert one.get("/").text == "theme=dark; session=1"
        assert two.get("/").text == "theme=dark"
        two.cookies.clear()
        assert one.get("/").text == "theme=dark; session=1"
    assert start == {"theme": "dark"}


def test_cookies_are_kept_outside_and_across_with_blocks() -> None:
    # The client is the browser: a new `with` block restarts the app's lifespan, as a
    # server restart does, and the browser keeps its cookies.
    client = Client(cookie_echo)
    client.get(set_url("/", "a=1"))  # no `with`: each call has its own event loop
    assert client.get("/").text == "a=1"
    with client:
        assert client.get("/").text == "a=1"
    with client:
        assert client.get("/").text == "a=1"


def test_sent_cookies_are_in_the_trace() -> None:
    with Client(cookie_echo, cookies={"a": "1"}) as client:
        client.get("/")
    assert client.trace is not None
    assert (b"cookie", b"a=1") in client.trace.scope["headers"]


@pytest.mark.anyio
async def test_async_client_keeps_cookies() -> None:
    async with AsyncClient(cookie_echo, cookies={"theme": "dark"}) as client:
        await client.get(set_url("/", "a=1; Path=/a"))
        assert (await client.get("/a/b")).text == "a=1; theme=dark"  # longer path first
        assert (await client.get("/")).text == "theme=dark"
        await client.get(set_url("/a", "a=; Path=/a; Max-Age=0"))
        assert (await client.get("/a/b")).text == "theme=dark"
        assert dict(client.cookies) == {"theme": "dark"}
        client.cookies.clear()
        assert (await client.get("/a/b")).text == ""


async def login_redirect(scope: Scope, receive: Receive, send: Send) -> None:
    """``/login`` sets a session and sends the client to ``/me``; every other path echoes."""
    if scope["type"] == "http" and scope["path"] == "/login":
        headers = [(b"set-cookie", b"session=s1; Path=/; HttpOnly"), (b"location", b"/me")]
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await cookie_echo(scope, receive, send)


def test_a_cookie_set_by_a_redirect_reaches_the_next_hop() -> None:
    with Client(login_redirect) as client:
        response = client.post("/login", follow_redirects=True)
    assert [r.status_code for r in response.history] == [303]
    assert response.text == "session=s1"


def test_login_flow_through_an_asgilab_app() -> None:
    # One test through the App: its set_cookie and delete_cookie, and request.cookies.
    app = App()

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        if form.get("password") != "sesame":
            raise HTTPException(401, "wrong password")
        response = RedirectResponse("/me", status_code=303)
        response.set_cookie("session", f"user:{form['user']}", httponly=True)
        return response

    @app.get("/me")
    async def me(request: Request) -> dict[str, str]:
        session = request.cookies.get("session")
        if session is None:
            raise HTTPException(401, "log in first")
        return {"user": session.removeprefix("user:")}

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        response = Response("bye")
        response.delete_cookie("session")
        return response

    with Client(app) as client:
        assert client.get("/me").status_code == 401
        assert client.post("/login", data={"user": "ada", "password": "no"}).status_code == 401
        assert dict(client.cookies) == {}
        response = client.post(
            "/login", data={"user": "ada", "password": "sesame"}, follow_redirects=True
        )
        assert (response.status_code, response.json()) == (200, {"user": "ada"})
        assert client.get("/me").json() == {"user": "ada"}
        assert client.post("/logout").text == "bye"
        assert dict(client.cookies) == {}
        assert client.get("/me").status_code == 401
