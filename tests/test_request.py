"""Request: lazy attributes over a hand-made scope, and the body rules (once as a stream,
many times as bytes, 413 past the limit, 400 on bad JSON, forms)."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asgilab.app import App
from asgilab.client import AsyncClient, Client
from asgilab.datastructures import Address, UploadFile
from asgilab.errors import HTTPException
from asgilab.request import BlockingRead, BodyConsumed, Request, parse_cookies
from asgilab.routes import Route
from asgilab.types import Message


def make(
    chunks: list[bytes] = (),  # type: ignore[assignment]
    headers: list[tuple[bytes, bytes]] | None = None,
    max_body_size: int | None = 1024,
    **scope: Any,
) -> tuple[Request, list[int]]:
    """A Request whose body arrives in ``chunks``; the list counts receive() calls."""
    calls: list[int] = []
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        calls.append(1)
        if len(calls) <= len(messages):
            return messages[len(calls) - 1]
        return {"type": "http.disconnect"}

    base = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": headers or [],
    }
    base.update(scope)
    return Request(base, receive, max_body_size), calls


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


def status_and_detail(call: Callable[[], Awaitable[Any]]) -> tuple[int, str, dict[str, str]]:
    with pytest.raises(HTTPException) as info:
        run(call())
    return info.value.status_code, info.value.detail, info.value.headers


def test_attributes_from_scope() -> None:
    request, _ = make(
        method="GET",
        path="/users/a b",
        raw_path=b"/users/a%20b",
        query_string=b"tag=x&tag=y",
        headers=[(b"host", b"example.com"), (b"cookie", b"a=1; b=2"), (b"cookie", b"c=3")],
        client=("10.0.0.2", 5555),
        root_path="/api",
        path_params={"name": "a b"},
    )
    assert request.method == "GET"
    assert request.path == "/users/a b"
    assert request.url == "http://example.com/api/users/a%20b?tag=x&tag=y"
    assert request.url.scheme == "http"
    assert request.root_path == "/api"
    assert request.query.getlist("tag") == ["x", "y"]
    assert request.headers["HOST"] == "example.com"
    assert request.cookies == {"a": "1", "b": "2", "c": "3"}
    assert request.client == Address("10.0.0.2", 5555)
    assert request.path_params == {"name": "a b"}
    assert repr(request) == "Request(method='GET', path='/users/a b')"


def test_attributes_are_cached() -> None:
    request, _ = make(headers=[(b"x", b"1")])
    assert request.headers is request.headers
    assert request.query is request.query
    assert request.url is request.url


def test_state_lives_in_the_scope() -> None:
    request, _ = make()
    request.state.user = "ada"
    assert request.scope["state"] == {"user": "ada"}
    assert Request(request.scope).state.user == "ada"


def test_no_client() -> None:
    request, _ = make()
    assert request.client is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ('a="quoted value"', {"a": "quoted value"}),
        ("a=1;;b=2; ", {"a": "1", "b": "2"}),
        ("a==b", {"a": "=b"}),
        ("", {}),
    ],
)
def test_parse_cookies(header: str, expected: dict[str, str]) -> None:
    assert parse_cookies(header) == expected


def test_body_is_joined_and_readable_many_times() -> None:
    request, calls = make([b"ab", b"cd", b"ef"])

    async def twice() -> tuple[bytes, bytes]:
        return await request.body(), await request.body()

    assert run(twice()) == (b"abcdef", b"abcdef")
    assert len(calls) == 3


def test_stream_yields_chunks_once() -> None:
    request, _ = make([b"ab", b"cd"])

    async def consume() -> list[bytes]:
        return [chunk async for chunk in request.stream()]

    assert run(consume()) == [b"ab", b"cd"]
    with pytest.raises(BodyConsumed) as info:
        run(consume())
    assert str(info.value) == (
        "the request body was already consumed by stream(); "
        "call `await request.body()` first to read it more than once"
    )


def test_stream_after_body_replays_the_cache() -> None:
    request, _ = make([b"ab", b"cd"])

    async def both() -> list[bytes]:
        await request.body()
        return [chunk async for chunk in request.stream()]

    assert run(both()) == [b"abcd"]


@pytest.mark.parametrize("chunks", [[bytearray(b"abcd")], [bytearray(b"ab"), memoryview(b"cd")]])
def test_a_bytes_like_body_from_a_middleware_reads_as_bytes(chunks: list[Any]) -> None:
    request, _ = make(chunks)
    body = run(request.body())
    assert body == b"abcd" and type(body) is bytes


def test_one_stream_refuses_a_second_reader_at_once() -> None:
    gate = asyncio.Event()

    async def slow_receive() -> Message:
        await gate.wait()
        return {"type": "http.request", "body": b"ab", "more_body": False}

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []}, slow_receive)

    async def two_readers() -> BaseException:
        stream = request.stream()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError) as info:
            await anext(stream)
        gate.set()
        assert await first == b"ab"
        return info.value

    # An async generator refuses a second anext() while the first is pending.
    assert "already running" in str(run(two_readers()))


def test_a_stream_can_be_closed_with_aclosing_and_reads_no_further() -> None:
    request, calls = make([b"ab", b"cd"])

    async def first_only() -> list[bytes]:
        async with contextlib.aclosing(request.stream()) as stream:
            async for chunk in stream:
                return [chunk]
        return []

    assert run(first_only()) == [b"ab"]
    assert len(calls) == 1


def test_body_past_the_limit_is_413_without_reading_the_rest() -> None:
    request, calls = make([b"x" * 600, b"x" * 600, b"x" * 600], max_body_size=1000)
    assert status_and_detail(request.body) == (
        413,
        "request body larger than the limit of 1000 bytes",
        {"connection": "close"},
    )
    assert len(calls) == 2  # the third chunk was never received


def test_declared_content_length_past_the_limit_is_413_before_reading() -> None:
    request, calls = make([b"x"], headers=[(b"content-length", b"5000")], max_body_size=1000)
    assert status_and_detail(request.body)[:2] == (
        413,
        "request body larger than the limit of 1000 bytes",
    )
    assert calls == []


def test_bad_content_length_is_400() -> None:
    request, _ = make([b"x"], headers=[(b"content-length", b"ten")])
    assert status_and_detail(request.body)[:2] == (400, "content-length is not a number")


def test_no_limit() -> None:
    request, _ = make([b"x" * 5000], max_body_size=None)
    assert len(run(request.body())) == 5000


def test_json() -> None:
    request, _ = make([b'{"a": [1, 2]}'])
    assert run(request.json()) == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            b"{bad",
            "invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
        (b"", "invalid JSON: Expecting value (line 1, column 1)"),
        (b'{"a": 1} x', "invalid JSON: Extra data (line 1, column 10)"),
        (b'"\xff"', "invalid JSON: the body is not UTF-8"),
    ],
)
def test_invalid_json_is_400(body: bytes, detail: str) -> None:
    request, _ = make([body])
    assert status_and_detail(request.json)[:2] == (400, detail)


def test_urlencoded_form() -> None:
    request, _ = make(
        [b"name=Zo%C3%AB&lang=py&lang=c&empty="],
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    form = run(request.form())
    assert form["name"] == "Zoë"
    assert form.getlist("lang") == ["py", "c"]
    assert form["empty"] == ""


MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="title"\r\n\r\n'
    b"Hello\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"file body\r\n"
    b"--XyZ--\r\n"
)


@pytest.mark.parametrize("split", [1, 7, len(MULTIPART)])
def test_multipart_form_with_a_file(split: int) -> None:
    chunks = [MULTIPART[i : i + split] for i in range(0, len(MULTIPART), split)]
    request, _ = make(chunks, headers=[(b"content-type", b"multipart/form-data; boundary=XyZ")])

    async def parse() -> tuple[str, str | None, str, bytes]:
        form = await request.form()
        upload = form["doc"]
        assert isinstance(upload, UploadFile)
        return form["title"], upload.filename, upload.content_type, await upload.read()  # type: ignore[return-value]

    assert run(parse()) == ("Hello", "a.txt", "text/plain", b"file body")


def test_multipart_without_boundary_is_400() -> None:
    request, _ = make([b"x"], headers=[(b"content-type", b"multipart/form-data")])
    assert status_and_detail(request.form)[:2] == (
        400,
        "multipart form without a boundary in its content-type",
    )


def test_multipart_garbage_is_400() -> None:
    request, _ = make(
        [b"not a multipart body at all"],
        headers=[(b"content-type", b"multipart/form-data; boundary=XyZ")],
    )
    status, detail, _ = status_and_detail(request.form)
    assert status == 400
    assert detail.startswith("invalid multipart body: ")


@pytest.mark.parametrize("cut", [len(MULTIPART) - 8, len(MULTIPART) - 20])
def test_multipart_cut_short_is_400_and_its_files_are_closed(
    cut: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without its last boundary the part being read, a file here, would be lost silently.
    opened: list[UploadFile] = []
    original = UploadFile.__init__

    def recording(self: UploadFile, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(UploadFile, "__init__", recording)
    request, _ = make(
        [MULTIPART[:cut]], headers=[(b"content-type", b"multipart/form-data; boundary=XyZ")]
    )
    assert status_and_detail(request.form)[:2] == (
        400,
        "invalid multipart body: it ends before its last boundary",
    )
    assert [upload.file.closed for upload in opened] == [True]


def test_multipart_respects_the_body_limit() -> None:
    request, _ = make(
        [MULTIPART],
        headers=[(b"content-type", b"multipart/form-data; boundary=XyZ")],
        max_body_size=10,
    )
    assert status_and_detail(request.form)[0] == 413


def test_form_with_another_content_type_is_415() -> None:
    request, _ = make([b"{}"], headers=[(b"content-type", b"application/json")])
    assert status_and_detail(request.form)[:2] == (
        415,
        "cannot read a form from content-type 'application/json'; send "
        "application/x-www-form-urlencoded or multipart/form-data",
    )


def test_background_collector_is_lazy() -> None:
    request, _ = make()
    assert request._background is None
    request.background.add(print, "x")
    assert len(request.background) == 1


def test_a_stream_ends_at_its_error() -> None:
    """After a 413 the stream reads nothing more: the generator has ended."""
    messages = [
        {"type": "http.request", "body": b"x" * 8, "more_body": True},
        {"type": "http.request", "body": b"y" * 8, "more_body": True},
    ]
    received: list[Message] = []

    async def receive() -> Message:
        received.append(messages[len(received)])
        return received[-1]

    async def read() -> None:
        stream = Request({"type": "http", "headers": []}, receive, max_body_size=4).stream()
        with pytest.raises(HTTPException) as error:
            await anext(stream)
        assert error.value.status_code == 413
        with pytest.raises(StopAsyncIteration):
            await anext(stream)

    asyncio.run(read())
    assert len(received) == 1


def test_cookies_set_by_set_cookie_read_back_whole() -> None:
    from asgilab.responses import Response

    values = {"name": "Zoë", "prefs": '{"a":1,"b":2}', "dir": "a\\b; c", "plain": "abc"}
    response = Response()
    for key, value in values.items():
        response.set_cookie(key, value)
    # What a browser sends back: each cookie's name=value, the attributes left out.
    sent = [v.split("; ")[0] for k, v in response.headers.items() if k == "set-cookie"]
    assert parse_cookies("; ".join(sent)) == values


def test_a_chunked_body_is_not_judged_by_a_content_length_beside_it() -> None:
    # Chunked framing overrides content-length (RFC 9112, 6.3); h11 passes both on.
    request, _ = make(
        [b"abc"],
        headers=[(b"content-length", b"5000"), (b"transfer-encoding", b"chunked")],
        max_body_size=10,
    )
    assert run(request.body()) == b"abc"


# -- request.route ---------------------------------------------------------------------


def test_route_is_the_route_the_app_put_in_the_scope() -> None:
    async def user(request: Request) -> None: ...

    route = Route("/users/{user_id:int}", user, frozenset({"GET"}), "user")
    assert make(route=route)[0].route is route
    assert make()[0].route is None  # before routing, or no route matched


# -- reading the body from a plain def handler's thread ---------------------------------


def sync_app(max_body_size: int = 64) -> App:
    app = App(max_body_size=max_body_size)

    @app.post("/bytes")
    def echo_bytes(request: Request) -> bytes:
        return request.read_body()

    @app.post("/json")
    def echo_json(request: Request) -> Any:
        return {"got": request.read_json(), "again": request.read_json()}

    @app.post("/form")
    def echo_form(request: Request) -> dict[str, Any]:
        form = request.read_form()
        upload = form["file"]
        assert isinstance(upload, UploadFile)
        return {"name": form["name"], "file": upload.file.read().decode()}

    return app


@pytest.mark.parametrize(
    ("path", "send", "expected"),
    [
        ("/bytes", {"content": b"\x00raw"}, b"\x00raw"),
        (
            "/json",
            {"json": {"a": [1, "\u00e9"]}},
            b'{"got":{"a":[1,"\xc3\xa9"]},"again":{"a":[1,"\xc3\xa9"]}}',
        ),
        (
            "/form",
            {"data": {"name": "ada"}, "files": {"file": ("a.txt", b"notes")}},
            b'{"name":"ada","file":"notes"}',
        ),
    ],
)
def test_a_plain_def_handler_reads_the_body(
    path: str, send: dict[str, Any], expected: bytes
) -> None:
    reply = Client(sync_app(max_body_size=1024)).post(path, **send)
    assert (reply.status_code, reply.content) == (200, expected)


@pytest.mark.parametrize(
    ("path", "send", "status", "detail"),
    [
        ("/bytes", {"content": b"x" * 65}, 413, "request body larger than the limit of 64 bytes"),
        # Streamed, so no content-length: refused as the body grows past the limit.
        (
            "/bytes",
            {"content": iter([b"x" * 40, b"x" * 40])},
            413,
            "request body larger than the limit of 64 bytes",
        ),
        (
            "/json",
            {"content": b"{"},
            400,
            "invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
        (
            "/form",
            {"content": b"a", "headers": {"content-type": "text/csv"}},
            415,
            "cannot read a form from content-type 'text/csv'; send "
            "application/x-www-form-urlencoded or multipart/form-data",
        ),
    ],
)
def test_a_plain_def_handler_gets_the_same_limits_and_errors(
    path: str, send: dict[str, Any], status: int, detail: str
) -> None:
    reply = Client(sync_app()).post(path, **send)
    assert (reply.status_code, reply.text) == (status, detail)


def test_the_loop_serves_other_requests_while_a_plain_def_handler_waits_for_its_body() -> None:
    app = sync_app()

    @app.get("/ping")
    async def ping(request: Request) -> str:
        return "pong"

    async def main() -> tuple[str, bytes]:
        first_sent, pinged = asyncio.Event(), asyncio.Event()

        async def slow_body() -> Any:
            yield b"first "
            first_sent.set()  # the handler's thread now waits in read_body()
            await pinged.wait()  # ... and stays waiting until /ping was answered
            yield b"last"

        async with AsyncClient(app) as client:

            async def ping_meanwhile() -> str:
                await first_sent.wait()
                reply = await client.get("/ping")
                pinged.set()
                return reply.text

            upload, pong = await asyncio.wait_for(
                asyncio.gather(client.post("/bytes", content=slow_body()), ping_meanwhile()),
                timeout=10,
            )
        return pong, upload.content

    assert asyncio.run(main()) == ("pong", b"first last")


def test_a_blocking_read_on_the_loop_thread_names_the_await_to_use() -> None:
    request, calls = make([b"body"])

    async def handler() -> None:
        request.read_json()

    with pytest.raises(BlockingRead) as info:
        run(handler())
    assert str(info.value) == (
        "request.read_json() blocks until the body arrives, and this thread runs the event "
        "loop that must receive it: here, use `await request.json()`"
    )
    assert calls == []  # nothing was read, and no coroutine was left unawaited


def test_a_blocking_read_in_a_thread_asgilab_did_not_start_is_refused() -> None:
    request, calls = make([b"body"])
    with pytest.raises(BlockingRead) as info:
        request.read_body()
    assert str(info.value) == (
        "request.read_body() reads the body through the event loop that handed this thread "
        "its work, and no asgilab thread pool did: call it from a plain def handler, or use "
        "`await request.body()` on the request's loop"
    )
    assert calls == []
