"""Each response class, sent through httpx's ASGI transport as a three-line ASGI app."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asgilab.datastructures import InvalidHeader
from asgilab.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from asgilab.types import Receive, Scope, Send


def fetch(
    response: Response, method: str = "GET", headers: dict[str, str] | None = None
) -> httpx.Response:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, send)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, "/", headers=headers)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("response", "content_type", "body"),
    [
        (Response(b"\x00\x01"), None, b"\x00\x01"),
        (Response("hé", media_type="text/plain"), "text/plain; charset=utf-8", "hé".encode()),
        (PlainTextResponse("hi"), "text/plain; charset=utf-8", b"hi"),
        (HTMLResponse("<p>hi</p>"), "text/html; charset=utf-8", b"<p>hi</p>"),
        (JSONResponse({"a": [1, "é"]}), "application/json", '{"a":[1,"é"]}'.encode()),
        (JSONResponse(None), "application/json", b"null"),
    ],
)
def test_body_content_type_and_length(
    response: Response, content_type: str | None, body: bytes
) -> None:
    reply = fetch(response)
    assert reply.status_code == 200
    assert reply.headers.get("content-type") == content_type
    assert reply.headers["content-length"] == str(len(body))
    assert reply.content == body


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_length_where_http_forbids_a_body(status: int) -> None:
    reply = fetch(Response(status_code=status))
    assert reply.status_code == status
    assert "content-length" not in reply.headers
    assert reply.content == b""


@pytest.mark.parametrize("status", [101, 204, 304])
def test_a_body_for_a_status_without_one_is_refused(status: int) -> None:
    # Sent anyway, the bytes would break the connection (uvicorn: "Response content
    # longer than Content-Length"); refused where the handler builds the response.
    with pytest.raises(ValueError) as info:
        Response("gone", status_code=status)
    assert str(info.value) == f"a {status} response has no body, yet 4 bytes were given"


def test_a_content_length_given_must_match_the_body() -> None:
    with pytest.raises(ValueError) as info:
        Response("hello", headers={"Content-Length": "100"})
    assert str(info.value) == "content-length 100 does not match the 5-byte body"
    assert fetch(Response("hello", headers={"Content-Length": "5"})).content == b"hello"
    # An empty body may declare another length: a HEAD handler describing the GET's body.
    head = fetch(Response(headers={"Content-Length": "100"}), method="HEAD")
    assert (head.headers["content-length"], head.content) == ("100", b"")


def test_head_gets_headers_without_body() -> None:
    reply = fetch(PlainTextResponse("hello"), method="HEAD")
    assert reply.status_code == 200
    assert reply.headers["content-length"] == "5"
    assert reply.content == b""


def test_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        JSONResponse({"x": float("nan")})


def test_response_refuses_non_bytes_content() -> None:
    with pytest.raises(TypeError) as info:
        Response({"a": 1})
    assert str(info.value) == (
        "Response content must be bytes, str or None, not dict; use JSONResponse for data"
    )


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "1\r\nSet-Cookie: x=1"}, {"X-A": "1\nX-B: 2"}, {"X-A\r\n": "1"}],
)
def test_header_injection_is_refused_when_building(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidHeader):
        PlainTextResponse("x", headers=headers)


def test_header_injection_is_refused_when_mutating() -> None:
    response = PlainTextResponse("x")
    with pytest.raises(InvalidHeader):
        response.headers["x-a"] = "1\r\n\r\n<html>"


def test_custom_headers_are_sent_and_content_length_not_duplicated() -> None:
    reply = fetch(PlainTextResponse("abc", headers={"X-Id": "7"}))
    assert reply.headers["x-id"] == "7"
    assert reply.headers.get_list("content-length") == ["3"]


def test_set_and_delete_cookie() -> None:
    response = Response()
    response.set_cookie("session", "a b", max_age=60, secure=True, httponly=True)
    response.delete_cookie("old")
    reply = fetch(response)
    assert reply.headers.get_list("set-cookie") == [
        'session="a b"; HttpOnly; Max-Age=60; Path=/; SameSite=lax; Secure',
        'old=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=lax',
    ]


def test_set_cookie_refuses_a_bad_name() -> None:
    with pytest.raises(InvalidHeader, match="invalid cookie name 'a;b'"):
        Response().set_cookie("a;b", "1")


@pytest.mark.parametrize(
    ("url", "status", "location"),
    [
        ("/login", 307, "/login"),
        ("/café?q=ü", 307, "/caf%C3%A9?q=%C3%BC"),
        ("https://example.com/a%20b", 307, "https://example.com/a%20b"),
    ],
)
def test_redirect(url: str, status: int, location: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await RedirectResponse(url)(scope, receive, send)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/")

    reply = asyncio.run(go())
    assert reply.status_code == status
    assert reply.headers["location"] == location
    assert reply.headers["content-length"] == "0"


def test_redirect_refuses_crlf() -> None:
    with pytest.raises(InvalidHeader):
        RedirectResponse("/a\r\nSet-Cookie: x=1")


def test_streaming_from_async_iterator_uses_chunked_encoding() -> None:
    async def numbers() -> AsyncIterator[str]:
        for n in range(3):
            yield f"{n},"

    reply = fetch(StreamingResponse(numbers(), media_type="text/csv"))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in reply.headers
    assert reply.content == b"0,1,2,"


def test_streaming_keeps_a_content_length_the_caller_gives_in_any_case() -> None:
    reply = fetch(StreamingResponse(iter([b"abc"]), headers={"Content-Length": "3"}))
    assert (reply.headers["content-length"], reply.content) == ("3", b"abc")
    assert "transfer-encoding" not in reply.headers


def test_streaming_from_sync_iterator_runs_its_cleanup() -> None:
    closed: list[bool] = []

    def lines() -> Iterator[bytes]:
        try:
            yield b"a\n"
            yield b"b\n"
        finally:
            closed.append(True)

    reply = fetch(StreamingResponse(lines()))
    assert reply.content == b"a\nb\n"
    assert closed == [True]


def test_streaming_head_sends_no_body_and_closes_the_iterator() -> None:
    closed: list[bool] = []

    async def never_read() -> AsyncIterator[bytes]:
        try:
            yield b"x"
        finally:
            closed.append(True)

    iterator = never_read()
    reply = fetch(StreamingResponse(iterator), method="HEAD")
    assert reply.status_code == 200
    assert reply.content == b""
    assert closed == []  # never started, so there was nothing to clean up
    assert iterator.ag_frame is None  # type: ignore[attr-defined]  # closed: it cannot run


def test_streaming_stops_on_disconnect_and_runs_cleanup() -> None:
    cleaned: list[str] = []
    sent: list[bytes] = []

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
                await asyncio.sleep(0)
        finally:
            cleaned.append("done")

    async def go() -> None:
        disconnect = asyncio.Event()

        async def receive() -> dict[str, object]:
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                sent.append(message["body"])  # type: ignore[arg-type]
                if len(sent) == 3:
                    disconnect.set()

        scope = {"type": "http", "method": "GET", "headers": []}
        await StreamingResponse(forever())(scope, receive, send)  # type: ignore[arg-type]

    asyncio.run(asyncio.wait_for(go(), 5))
    assert cleaned == ["done"]
    assert sent[:3] == [b"tick"] * 3


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line\n" * 30_000)  # 150,000 bytes: three chunks of 64 KiB
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return path


def test_file_response_streams_with_metadata(text_file: Path) -> None:
    reply = fetch(FileResponse(text_file))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["content-length"] == "150000"
    assert reply.headers["last-modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert reply.headers["etag"].startswith('"') and len(reply.headers["etag"]) == 34
    assert reply.content == b"line\n" * 30_000


def test_file_response_head(text_file: Path) -> None:
    reply = fetch(FileResponse(text_file), method="HEAD")
    assert reply.status_code == 200
    assert reply.headers["content-length"] == "150000"
    assert reply.content == b""


def test_file_response_if_none_match_gives_304(text_file: Path) -> None:
    etag = fetch(FileResponse(text_file)).headers["etag"]
    reply = fetch(FileResponse(text_file), headers={"if-none-match": etag})
    assert reply.status_code == 304
    assert reply.headers["etag"] == etag
    assert "content-length" not in reply.headers
    assert reply.content == b""


@pytest.mark.parametrize("form", ["W/{etag}", '"other", {etag}', "*"])
def test_file_response_if_none_match_compares_weakly_and_takes_a_star(
    text_file: Path, form: str
) -> None:
    etag = fetch(FileResponse(text_file)).headers["etag"]
    reply = fetch(FileResponse(text_file), headers={"if-none-match": form.format(etag=etag)})
    assert (reply.status_code, reply.content) == (304, b"")


def test_file_response_if_none_match_of_another_version_sends_the_file(text_file: Path) -> None:
    reply = fetch(FileResponse(text_file), headers={"if-none-match": 'W/"other", "again"'})
    assert (reply.status_code, len(reply.content)) == (200, text_file.stat().st_size)


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ("résumé.txt", "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt"),
        ("report 2024.pdf", 'attachment; filename="report 2024.pdf"'),
        # RFC 8187: '/' is no attr-char, so it is escaped; so is a quote.
        ('a/"b".txt', "attachment; filename*=utf-8''a%2F%22b%22.txt"),
    ],
)
def test_file_response_download_name(text_file: Path, filename: str, disposition: str) -> None:
    reply = fetch(FileResponse(text_file, filename=filename))
    assert reply.headers["content-disposition"] == disposition


@pytest.mark.parametrize(
    ("range_", "content_range", "body"),
    [
        ("bytes=0-9", "bytes 0-9/150000", b"line\n" * 2),
        ("bytes=149995-", "bytes 149995-149999/150000", b"line\n"),
        ("bytes=-10", "bytes 149990-149999/150000", b"line\n" * 2),
        ("bytes=149998-999999", "bytes 149998-149999/150000", b"e\n"),
        ("bytes=70000-200000", "bytes 70000-149999/150000", b"line\n" * 16_000),
    ],
)
def test_file_response_range_gives_206_with_those_bytes(
    text_file: Path, range_: str, content_range: str, body: bytes
) -> None:
    reply = fetch(FileResponse(text_file), headers={"range": range_})
    assert reply.status_code == 206
    assert reply.headers["content-range"] == content_range
    assert reply.headers["content-length"] == str(len(body))
    assert reply.content == body


@pytest.mark.parametrize(
    "range_", ["bytes=0-1,5-6", "items=0-9", "bytes=9-0", "bytes=x-", "bytes=-", "bytes=1-2-3"]
)
def test_file_response_ignores_a_range_it_does_not_serve(text_file: Path, range_: str) -> None:
    reply = fetch(FileResponse(text_file), headers={"range": range_})
    assert reply.status_code == 200
    assert reply.headers["accept-ranges"] == "bytes"
    assert len(reply.content) == 150_000


@pytest.mark.parametrize("range_", ["bytes=150000-", "bytes=-0", "bytes=999999-1000000"])
def test_file_response_range_past_the_end_is_416(text_file: Path, range_: str) -> None:
    reply = fetch(FileResponse(text_file), headers={"range": range_})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == "bytes */150000"
    assert reply.text == "Range Not Satisfiable"


def test_file_response_if_range_sends_the_range_only_for_the_same_version(
    text_file: Path,
) -> None:
    full = fetch(FileResponse(text_file))
    for version in (full.headers["etag"], full.headers["last-modified"]):
        reply = fetch(FileResponse(text_file), headers={"range": "bytes=0-4", "if-range": version})
        assert (reply.status_code, reply.content) == (206, b"line\n")
    stale = fetch(FileResponse(text_file), headers={"range": "bytes=0-4", "if-range": '"old"'})
    assert (stale.status_code, len(stale.content)) == (200, 150_000)


def test_file_response_head_with_a_range_sends_its_headers_only(text_file: Path) -> None:
    reply = fetch(FileResponse(text_file), method="HEAD", headers={"range": "bytes=0-9"})
    assert (reply.status_code, reply.headers["content-length"], reply.content) == (206, "10", b"")


def test_file_response_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    reply = fetch(FileResponse(empty))
    assert (reply.status_code, reply.headers["content-length"], reply.content) == (200, "0", b"")
    assert fetch(FileResponse(empty), headers={"range": "bytes=0-"}).status_code == 416


def test_file_response_missing_file_is_404(tmp_path: Path) -> None:
    reply = fetch(FileResponse(tmp_path / "missing.txt"))
    assert reply.status_code == 404
    assert reply.content == b"Not Found"


@pytest.mark.parametrize("name", ["data.txt/x", "n" * 300])
def test_file_response_path_no_file_can_have_is_404(text_file: Path, name: str) -> None:
    # data.txt/x: NotADirectoryError; 300 characters: ENAMETOOLONG. Not a 500 either way.
    path = text_file.parent / name.replace("data.txt", text_file.name)
    assert fetch(FileResponse(path)).status_code == 404


def test_file_response_range_too_long_to_read_sends_the_whole_file(text_file: Path) -> None:
    reply = fetch(FileResponse(text_file), headers={"range": "bytes=0-" + "9" * 5000})
    assert (reply.status_code, len(reply.content)) == (200, text_file.stat().st_size)


def test_file_response_ranges_only_for_get_and_head(text_file: Path) -> None:
    reply = fetch(FileResponse(text_file), method="POST", headers={"range": "bytes=0-9"})
    assert (reply.status_code, len(reply.content)) == (200, text_file.stat().st_size)


def test_file_response_of_a_file_that_shrinks_while_sent_raises(tmp_path: Path) -> None:
    # Its content-length is sent first: ending early would be a silent short body.
    path = tmp_path / "log.txt"
    path.write_bytes(b"x" * 200_000)
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)
        if message.get("more_body"):
            path.write_bytes(b"x" * 10)  # truncated under the sender's feet

    async def receive() -> Any:
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "headers": []}
    with pytest.raises(OSError, match="bytes short of its content-length"):
        asyncio.run(FileResponse(path)(scope, receive, send))


def test_redirect_has_one_location_its_url() -> None:
    response = RedirectResponse("/new", headers={"Location": "/old"})
    assert response.headers.getlist("location") == ["/new"]


def test_media_type_is_validated_like_any_header() -> None:
    with pytest.raises(InvalidHeader):
        Response("x", media_type="text/html\r\nSet-Cookie: a=b")


def test_response_background_runs_after_body_without_an_app() -> None:
    from asgilab.background import BackgroundTask

    ran: list[str] = []
    reply = fetch(PlainTextResponse("ok", background=BackgroundTask(ran.append, "task")))
    assert reply.content == b"ok"
    assert ran == ["task"]
