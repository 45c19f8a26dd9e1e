"""Each response class, sent through httpx's ASGI transport as a three-line ASGI app."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asgilab import App, Client, Request
from asgilab.datastructures import InvalidHeader
from asgilab.errors import BodyConsumed
from asgilab.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RangeNotSatisfiable,
    RedirectResponse,
    Response,
    StreamingResponse,
    byte_ranges,
    safe_redirect_target,
)
from asgilab.types import Receive, Scope, Send


def fetch(
    response: Response,
    method: str = "GET",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
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
        'session="a b"; HttpOnly; Max-Age=60; Path=/; SameSite=Lax; Secure',
        'old=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax',
    ]


def test_set_cookie_refuses_a_bad_name() -> None:
    with pytest.raises(InvalidHeader, match="invalid cookie name 'a;b'"):
        Response().set_cookie("a;b", "1")


def cookie(key: str = "s", value: str = "v", **options: Any) -> str:
    response = Response()
    response.set_cookie(key, value, **options)
    return response.headers["set-cookie"]


PATH_FIX = "give a plain URL path such as '/account'"
DOMAIN_FIX = (
    "is not a host name; give letters, digits, '-' and '.' only, such as 'example.com' "
    "(an international name in its ASCII xn-- form), or no domain to keep the cookie to this host"
)

# options, the whole message: issue 22 found `;` in a path or domain adding attributes.
COOKIE_REFUSALS = [
    (
        {"path": "/; Domain=evil.com; SameSite=None"},
        "cookie path '/; Domain=evil.com; SameSite=None' has ';', which would end the path "
        f"and start another attribute; {PATH_FIX}",
    ),
    (
        {"path": "/\r\nSet-Cookie: admin=1"},
        "cookie path '/\\r\\nSet-Cookie: admin=1' has '\\r', a control character "
        f"(a CR or LF would split the header); {PATH_FIX}",
    ),
    (
        {"path": "/a\x00"},
        f"cookie path '/a\\x00' has '\\x00', a control character (a CR or LF would split the "
        f"header); {PATH_FIX}",
    ),
    (
        {"path": "/café"},
        f"cookie path '/café' has 'é', which is not ASCII (percent-encode it); {PATH_FIX}",
    ),
    (
        {"path": "account"},
        "cookie path 'account' does not start with '/', and browsers ignore such a path (they "
        "use the request's directory); give one such as '/account'",
    ),
    (
        {"domain": "example.com; SameSite=None"},
        f"cookie domain 'example.com; SameSite=None' {DOMAIN_FIX}",
    ),
    ({"domain": "example.com\r\n"}, f"cookie domain 'example.com\\r\\n' {DOMAIN_FIX}"),
    ({"domain": "a.com,b.com"}, f"cookie domain 'a.com,b.com' {DOMAIN_FIX}"),
    ({"domain": "example.com:8000"}, f"cookie domain 'example.com:8000' {DOMAIN_FIX}"),
    ({"domain": "bücher.example"}, f"cookie domain 'bücher.example' {DOMAIN_FIX}"),
    ({"domain": ""}, f"cookie domain '' {DOMAIN_FIX}"),
    (
        {"expires": "Wed, 21 Oct 2026 07:28:00 GMT; Domain=evil.com"},
        "cookie expires 'Wed, 21 Oct 2026 07:28:00 GMT; Domain=ev...' has ';', which would "
        "end the expires and start another attribute; give an HTTP date",
    ),
    (
        {"expires": "tomorrow"},
        "cookie expires 'tomorrow' is not an HTTP date; give one such as "
        "'Wed, 21 Oct 2026 07:28:00 GMT', or max_age in seconds",
    ),
    (
        {"samesite": "lax; Domain=evil.com"},
        "samesite must be 'lax', 'strict' or 'none', not 'lax; Domain=evil.com'",
    ),
    (
        {"samesite": "none"},
        "cookie 's' has samesite='none' without secure=True, and browsers drop such a cookie; "
        "pass secure=True (and serve over HTTPS), or samesite='lax'",
    ),
]


@pytest.mark.parametrize(("options", "message"), COOKIE_REFUSALS)
def test_set_cookie_refuses_attributes_that_would_inject_or_be_dropped(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidHeader) as info:
        cookie(**options)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"max_age": "60; Domain=evil.com"},
            "cookie max_age is a number of seconds, not '60; Domain=evil.com'",
        ),
        ({"max_age": True}, "cookie max_age is a number of seconds, not True"),
        ({"expires": 1.5}, "cookie expires is an HTTP date or a number of seconds, not 1.5"),
    ],
)
def test_set_cookie_refuses_numbers_that_are_not(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        cookie(**options)
    assert str(info.value) == message


HOST_RULE = "needs secure=True, path='/' and no domain, as its __Host- prefix says"


@pytest.mark.parametrize(
    ("key", "options", "message"),
    [
        ("__Secure-id", {}, "cookie '__Secure-id' needs secure=True, as its __Secure- prefix says"),
        (
            "__Host-id",
            {"secure": True, "path": "/app"},
            f"cookie '__Host-id' {HOST_RULE}",
        ),
        (
            "__host-id",
            {"secure": True, "domain": "example.com"},
            f"cookie '__host-id' {HOST_RULE}",
        ),
    ],
)
def test_set_cookie_refuses_what_its_prefix_forbids(
    key: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidHeader) as info:
        cookie(key, **options)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("key", "options", "header"),
    [
        ("s", {}, "s=v; Path=/; SameSite=Lax"),
        ("s", {"samesite": "none", "secure": True}, "s=v; Path=/; SameSite=None; Secure"),
        ("s", {"samesite": "Strict", "httponly": True}, "s=v; HttpOnly; Path=/; SameSite=Strict"),
        ("s", {"samesite": None, "path": None}, "s=v"),
        ("s", {"domain": ".example.com"}, "s=v; Domain=.example.com; Path=/; SameSite=Lax"),
        (
            "s",
            {"domain": "xn--bcher-kva.example"},
            "s=v; Domain=xn--bcher-kva.example; Path=/; SameSite=Lax",
        ),
        ("s", {"path": "/a b,c%2F"}, "s=v; Path=/a b,c%2F; SameSite=Lax"),
        (
            "s",
            {"expires": "Wed, 21 Oct 2026 07:28:00 GMT"},
            "s=v; expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/; SameSite=Lax",
        ),
        ("__Host-id", {"secure": True}, "__Host-id=v; Path=/; SameSite=Lax; Secure"),
        (
            "__Secure-id",
            {"secure": True, "domain": "example.com"},
            "__Secure-id=v; Domain=example.com; Path=/; SameSite=Lax; Secure",
        ),
    ],
)
def test_set_cookie_attributes(key: str, options: dict[str, Any], header: str) -> None:
    assert cookie(key, **options) == header


@pytest.mark.parametrize(
    ("value", "header"),
    [
        ("abc", "s=abc; Path=/; SameSite=Lax"),
        # Quoted, with what cookies may not hold as octal escapes: no attribute, no header.
        ("a; Domain=evil.com", 's="a\\073 Domain=evil.com"; Path=/; SameSite=Lax'),
        ("a\r\nSet-Cookie: admin=1", 's="a\\015\\012Set-Cookie: admin=1"; Path=/; SameSite=Lax'),
        ("\x00", 's="\\000"; Path=/; SameSite=Lax'),
        ('say "hi"', 's="say \\"hi\\""; Path=/; SameSite=Lax'),
        ("é", 's="\\351"; Path=/; SameSite=Lax'),  # Python's escape, which browsers do not decode
    ],
)
def test_set_cookie_quotes_the_value(value: str, header: str) -> None:
    assert cookie(value=value) == header


def test_set_cookie_refuses_a_value_a_header_cannot_carry() -> None:
    with pytest.raises(InvalidHeader, match="is not latin-1"):
        cookie(value="€")


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


# ?next= as the app receives it (decoded once), where RedirectResponse.local sends it
LOCAL_REDIRECTS = [
    ("/account", "/account"),
    ("/notes/3?tab=2#top", "/notes/3?tab=2#top"),
    ("/search?q=100%25", "/search?q=100%25"),
    ("/café", "/caf%C3%A9"),
    ("/a//b", "/a//b"),
    # issue 22's: another host, one way or another
    ("//evil.com", "/"),
    ("///evil.com", "/"),
    ("%2F%2Fevil.com", "/"),
    ("/%2F/evil.com", "/"),
    ("/%252F/evil.com", "/"),
    ("/%25252F/evil.com", "/"),
    ("https:evil.com", "/"),
    ("/\\evil.com", "/"),
    ("/%5Cevil.com", "/"),
    ("https://evil.com/", "/"),
    ("javascript:alert(1)", "/"),
    ("evil.com", "/"),
    (" //evil.com", "/"),
    ("/\t/evil.com", "/"),
    ("/%09/evil.com", "/"),
    ("/\r\nSet-Cookie: admin=1", "/"),
    ("", "/"),
    (None, "/"),
]


@pytest.mark.parametrize(("target", "location"), LOCAL_REDIRECTS)
def test_redirect_local_stays_on_this_site(target: str | None, location: str) -> None:
    response = RedirectResponse.local(target, status_code=303)
    assert (response.status_code, response.headers["location"]) == (303, location)
    assert safe_redirect_target(target, fallback="/home") in (target, "/home")


def test_redirect_local_after_a_login() -> None:
    app = App()

    @app.post("/login")
    async def login(request: Request) -> Response:
        return RedirectResponse.local(request.query.get("next"), fallback="/home", status_code=303)

    with Client(app, follow_redirects=False) as client:
        locations = [
            client.post("/login" + query).headers["location"]
            for query in ["?next=/notes", "?next=%2F%2Fevil.com", "?next=%252F%252Fevil.com", ""]
        ]
    assert locations == ["/notes", "/home", "/home", "/home"]


def test_redirect_local_refuses_a_fallback_elsewhere() -> None:
    with pytest.raises(ValueError) as info:
        RedirectResponse.local("/x", fallback="https://example.com/")
    assert str(info.value) == (
        "fallback 'https://example.com/' is not a path on this site; give one that starts "
        "with a single '/', such as '/'"
    )


def test_redirect_itself_sends_any_url_as_given() -> None:
    # By design (a redirect to another site is a redirect): the docstring says why `local`.
    assert RedirectResponse("//evil.com").headers["location"] == "//evil.com"


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
    "range_",
    ["items=0-9", "bytes=9-0", "bytes=x-", "bytes=-", "bytes=1-2-3", "bytes=,", "bytes=0-1,x"],
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


def test_file_response_head_with_a_range_answers_as_a_get_without_one(text_file: Path) -> None:
    # RFC 9110 (14.2): range handling is defined for GET only; HEAD describes the whole.
    reply = fetch(FileResponse(text_file), method="HEAD", headers={"range": "bytes=0-9"})
    assert (reply.status_code, reply.headers["content-length"], reply.content) == (
        200,
        "150000",
        b"",
    )
    assert "content-range" not in reply.headers


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


def test_file_response_ranges_only_for_get(text_file: Path) -> None:
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


# -- issue 22: files a client names, paths no file can have ---------------------------------


@pytest.mark.parametrize("name", ["notes.txt\x00.png", "a\x00b", "\ud800"])
def test_file_response_of_a_path_no_file_can_have_is_404_not_an_error(
    text_file: Path, name: str
) -> None:
    # A NUL made os.stat raise ValueError out of the App: uvicorn answered 500, logged twice.
    reply = fetch(FileResponse(str(text_file.parent) + "/" + name))
    assert (reply.status_code, reply.content) == (404, b"Not Found")


def test_file_response_with_a_nul_from_a_route_is_404(text_file: Path) -> None:
    app = App()

    @app.get("/files/{name}")
    async def files(request: Request, name: str) -> FileResponse:
        return FileResponse(text_file.parent / name)

    with Client(app) as client:
        reply = client.get("/files/notes.txt%00.png")
    assert (reply.status_code, reply.text) == (404, "Not Found")


def test_file_response_of_what_is_not_a_regular_file_is_404(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it by name, blocking, would wait for a writer forever
    for path in [tmp_path, fifo, Path("/dev/null")]:
        reply = asyncio.run(asyncio.wait_for(asyncio.to_thread(fetch, FileResponse(path)), 5))
        assert (reply.status_code, reply.content) == (404, b"Not Found"), path


@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("notes.txt", 200, b"line\n" * 30_000),
        ("../secret.txt", 404, b"Not Found"),
        ("SECRET", 404, b"Not Found"),  # the secret's absolute path
        ("missing.txt", 404, b"Not Found"),
        ("", 404, b"Not Found"),  # the root itself: a directory
        ("link.txt", 404, b"Not Found"),  # a symlink out of the root
    ],
)
def test_file_response_with_a_root(text_file: Path, name: str, status: int, body: bytes) -> None:
    (text_file.parent.parent / "secret.txt").write_text("secret")
    (text_file.parent / "link.txt").symlink_to(text_file.parent.parent / "secret.txt")
    name = name.replace("SECRET", str(text_file.parent.parent / "secret.txt"))
    reply = fetch(FileResponse(name, root=text_file.parent))
    assert (reply.status_code, reply.content) == (status, body)
    if status == 200:
        assert reply.headers["content-type"] == "text/plain; charset=utf-8"


def test_file_response_with_a_root_follows_symlinks_out_only_when_allowed(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (tmp_path / "shared.txt").write_text("shared")
    (public / "shared.txt").symlink_to(tmp_path / "shared.txt")
    assert fetch(FileResponse("shared.txt", root=public)).status_code == 404
    reply = fetch(FileResponse("shared.txt", root=public, allow_symlink_escape=True))
    assert (reply.status_code, reply.content) == (200, b"shared")


# -- issue 22: a body that stops when the client leaves ------------------------------------


def body_messages(response: Response) -> list[tuple[int, bool]]:
    """The (size, more_body) of each body message ``response`` sends to a client that stays."""
    messages: list[tuple[int, bool]] = []

    async def receive() -> Any:
        await asyncio.Event().wait()  # a client that stays until the end

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            messages.append((len(message.get("body", b"")), message.get("more_body", False)))

    scope = {"type": "http", "method": "GET", "headers": []}
    asyncio.run(response(scope, receive, send))  # type: ignore[arg-type]
    return messages


def test_file_response_sends_a_small_file_in_one_message(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"x" * FileResponse.chunk_size)
    assert body_messages(FileResponse(small)) == [(FileResponse.chunk_size, False)]


def test_file_response_sends_a_big_file_in_chunks(text_file: Path) -> None:
    assert body_messages(FileResponse(text_file)) == [
        (65536, True),
        (65536, True),
        (150_000 - 2 * 65536, True),
        (0, False),
    ]


async def hang_up_after(response: Response, chunks: int) -> list[bytes]:
    """Send ``response`` to a client that hangs up once it has ``chunks`` body chunks.

    ``send`` behaves as uvicorn's does: it returns at once, and after the disconnect
    it drops the message. Returns every chunk the response sent.
    """
    sent: list[bytes] = []
    gone = asyncio.Event()

    async def receive() -> Any:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])
            if len(sent) == chunks:
                gone.set()

    scope = {"type": "http", "method": "GET", "headers": []}
    await asyncio.wait_for(response(scope, receive, send), 30)  # type: ignore[arg-type]
    return sent


def test_file_response_stops_reading_when_the_client_leaves(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as file:
        file.truncate(64 * 1024 * 1024)  # sparse: 64 MiB to read, none on disk
    open_files = len(os.listdir("/proc/self/fd"))
    sent = asyncio.run(hang_up_after(FileResponse(big), chunks=2))
    # It read (and sent) 64 MiB for nobody; now a chunk or two past the hang-up.
    assert len(sent) <= 4, f"{len(sent)} chunks of 64 KiB sent after the client left"
    assert len(os.listdir("/proc/self/fd")) == open_files  # and the file is closed


def test_streaming_from_a_generator_that_never_awaits_stops_on_disconnect() -> None:
    produced = 0
    cleaned: list[str] = []

    async def numbers() -> AsyncIterator[bytes]:
        nonlocal produced
        try:
            for n in range(100_000):
                produced += 1
                yield b"%d\n" % n  # never awaits: nothing else ran until it ended
        finally:
            cleaned.append("done")

    sent = asyncio.run(hang_up_after(StreamingResponse(numbers()), chunks=3))
    assert produced <= 5, f"{produced} chunks produced for a client that left after 3"
    assert (sent[:3], cleaned) == ([b"0\n", b"1\n", b"2\n"], ["done"])


def test_a_stream_that_never_awaits_leaves_the_loop_to_others() -> None:
    ticks = 0

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(1000):
            yield b"x"

    async def go() -> None:
        nonlocal ticks

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        other = asyncio.ensure_future(ticker())
        await hang_up_after(StreamingResponse(chunks()), chunks=10_000)  # it never hangs up
        other.cancel()

    asyncio.run(go())
    assert ticks >= 900, f"another task ran {ticks} times while 1000 chunks were sent"


def test_a_receive_that_fails_does_not_cut_a_stream_short() -> None:
    # Under a function middleware that streamed the request body, receive() raises
    # BodyConsumed: nobody can hear a disconnect, and the stream must still go out whole.
    sent: list[Any] = []

    async def lines() -> AsyncIterator[bytes]:
        for n in range(5):
            await asyncio.sleep(0)
            yield b"%d" % n

    async def receive() -> Any:
        raise BodyConsumed("the middleware read the body as a stream")

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": []}
    asyncio.run(StreamingResponse(lines())(scope, receive, send))  # type: ignore[arg-type]
    assert [m.get("body") for m in sent[1:]] == [b"0", b"1", b"2", b"3", b"4", b""]


# -- issue 18: If-Modified-Since, what a 304 carries, repeated fields, multiple ranges ----

LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"  # text_file's mtime


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {"if-modified-since": LAST_MODIFIED}, 304),
        ("HEAD", {"if-modified-since": LAST_MODIFIED}, 304),
        ("GET", {"if-modified-since": "Wed, 15 Nov 2023 00:00:00 GMT"}, 304),  # later
        ("GET", {"if-modified-since": "Sunday, 06-Nov-94 08:49:37 GMT"}, 200),  # RFC 850, older
        ("GET", {"if-modified-since": "Tue, 14 Nov 2023 22:13:19 GMT"}, 200),  # a second older
        ("GET", {"if-modified-since": "yesterday"}, 200),  # not a date: ignored
        ("GET", {"if-modified-since": ""}, 200),
        ("GET", {"if-modified-since": "Tue, 14 Nov 99999 22:13:20 GMT"}, 200),
        ("POST", {"if-modified-since": LAST_MODIFIED}, 200),  # GET and HEAD only
        # If-None-Match decides when present (RFC 9110, 13.2.2): the date is not looked at.
        ("GET", {"if-modified-since": LAST_MODIFIED, "if-none-match": '"other"'}, 200),
    ],
)
def test_file_response_if_modified_since(
    text_file: Path, method: str, headers: dict[str, str], status: int
) -> None:
    reply = fetch(FileResponse(text_file), method=method, headers=headers)
    assert reply.status_code == status
    assert len(reply.content) == (150_000 if status == 200 and method != "HEAD" else 0)


def test_file_response_if_modified_since_on_two_lines_is_ignored(text_file: Path) -> None:
    # RFC 9110 (13.1.3): a value with more than one member is ignored.
    lines = [("if-modified-since", LAST_MODIFIED), ("if-modified-since", LAST_MODIFIED)]
    assert fetch(FileResponse(text_file), headers=lines).status_code == 200


@pytest.mark.parametrize("condition", ["if-none-match", "if-modified-since"])
def test_a_304_carries_validators_and_caching_headers_but_no_representation(
    text_file: Path, condition: str
) -> None:
    given = {"cache-control": "max-age=60", "vary": "accept-encoding", "x-trace": "7"}
    response = FileResponse(text_file, headers=given, filename="notes.txt")
    full = fetch(response)
    value = full.headers["etag"] if condition == "if-none-match" else LAST_MODIFIED
    reply = fetch(response, headers={condition: value})
    assert reply.status_code == 304
    assert reply.content == b""
    sent = {name for name, _ in reply.headers.multi_items()}
    assert sent == {"cache-control", "vary", "x-trace", "etag", "last-modified"}
    assert reply.headers["etag"] == full.headers["etag"]


@pytest.mark.parametrize("cls", [Response, HTMLResponse, PlainTextResponse])
def test_a_304_response_has_no_content_type(cls: type[Response]) -> None:
    reply = fetch(cls(status_code=304, headers={"etag": '"v1"'}))
    assert "content-type" not in reply.headers
    assert reply.headers["etag"] == '"v1"'


def test_if_none_match_on_two_lines_is_one_list(text_file: Path) -> None:
    # RFC 9110 (5.3): repeated field lines combine, as if joined with commas.
    etag = fetch(FileResponse(text_file)).headers["etag"]
    for lines in (
        [("if-none-match", etag), ("if-none-match", '"other"')],
        [("if-none-match", '"other"'), ("if-none-match", etag)],
    ):
        assert fetch(FileResponse(text_file), headers=lines).status_code == 304


def test_conditions_are_only_for_get_and_head(text_file: Path) -> None:
    etag = fetch(FileResponse(text_file)).headers["etag"]
    reply = fetch(FileResponse(text_file), method="POST", headers={"if-none-match": etag})
    assert (reply.status_code, len(reply.content)) == (200, 150_000)


def test_conditions_are_ignored_by_an_error_page(text_file: Path) -> None:
    # RFC 9110 (13.2.1): preconditions hold for a 2xx answer only; a 404 page stays a 404.
    etag = fetch(FileResponse(text_file)).headers["etag"]
    reply = fetch(FileResponse(text_file, status_code=404), headers={"if-none-match": etag})
    assert (reply.status_code, len(reply.content)) == (404, 150_000)


def test_a_range_on_two_lines_is_invalid_and_ignored(text_file: Path) -> None:
    # Range is no list: "bytes=0-4, bytes=5-9" has no meaning, so the whole file is sent.
    lines = [("range", "bytes=0-4"), ("range", "bytes=5-9")]
    reply = fetch(FileResponse(text_file), headers=lines)
    assert (reply.status_code, len(reply.content)) == (200, 150_000)
    assert "content-range" not in reply.headers


def parts_of(reply: httpx.Response) -> list[tuple[str, str, bytes]]:
    """The (content-type, content-range, body) of each part of a multipart/byteranges reply."""
    media_type, _, boundary = reply.headers["content-type"].partition("; boundary=")
    assert media_type == "multipart/byteranges"
    assert reply.headers["content-length"] == str(len(reply.content))
    delimiter = b"--" + boundary.encode()
    assert reply.content.endswith(delimiter + b"--\r\n")
    parts = []
    for raw in reply.content.split(delimiter)[1:-1]:
        head, _, body = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((fields["content-type"], fields["content-range"], body.removesuffix(b"\r\n")))
    return parts


@pytest.mark.parametrize(
    ("range_", "expected"),
    [
        ("bytes=0-4,1000-1004", [("0-4", b"line\n"), ("1000-1004", b"line\n")]),
        (
            "bytes=0-1, 1000-1001 ,-3",
            [("0-1", b"li"), ("1000-1001", b"li"), ("149997-149999", b"ne\n")],
        ),
        # Out of order and apart: the client's order is kept (RFC 9110, 14.6).
        ("bytes=1000-1001,0-1", [("1000-1001", b"li"), ("0-1", b"li")]),
        # Unsatisfiable ranges are left out; what is left is sent.
        ("bytes=0-1,999999-,1000-1001", [("0-1", b"li"), ("1000-1001", b"li")]),
    ],
)
def test_file_response_several_ranges_answer_multipart_byteranges(
    text_file: Path, range_: str, expected: list[tuple[str, bytes]]
) -> None:
    reply = fetch(FileResponse(text_file), headers={"range": range_})
    assert reply.status_code == 206
    assert "content-range" not in reply.headers
    assert parts_of(reply) == [
        ("text/plain; charset=utf-8", f"bytes {span}/150000", body) for span, body in expected
    ]


@pytest.mark.parametrize(
    ("range_", "content_range"),
    [
        ("bytes=0-9,", "bytes 0-9/150000"),  # an empty list element (RFC 9110, 5.6.1)
        ("bytes=,0-9,,", "bytes 0-9/150000"),
        ("bytes=0-9,999999-", "bytes 0-9/150000"),  # one satisfiable range: no multipart
        # Overlapping, adjacent or close ranges are sent once, as one (RFC 9110, 14.6).
        ("bytes=0-99," + ",".join(["0-99"] * 99), "bytes 0-99/150000"),
        ("bytes=" + ",".join(f"{i}-{i}" for i in range(100)), "bytes 0-99/150000"),
        ("bytes=50-99,0-49", "bytes 0-99/150000"),
        ("bytes=0-9,20-29", "bytes 0-29/150000"),  # a gap smaller than a part's headers
        ("bytes=-10,149000-", "bytes 149000-149999/150000"),
    ],
)
def test_file_response_ranges_that_make_one_answer_one_range(
    text_file: Path, range_: str, content_range: str
) -> None:
    reply = fetch(FileResponse(text_file), headers={"range": range_})
    assert reply.status_code == 206
    assert reply.headers["content-range"] == content_range
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    first, last = map(int, content_range.split()[1].partition("/")[0].split("-"))
    assert reply.content == (b"line\n" * 30_000)[first : last + 1]


def test_file_response_all_ranges_unsatisfiable_is_416(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 100_000)
    reply = fetch(FileResponse(path), headers={"range": "bytes=200000-200100,300000-"})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == "bytes */100000"


def test_file_response_too_many_ranges_sends_the_whole_file(text_file: Path) -> None:
    # 101 ranges, 1 KB apart: past the cap, the header is ignored, as RFC 9110 (14.2) allows.
    many = "bytes=" + ",".join(f"{i * 1000}-{i * 1000}" for i in range(101))
    reply = fetch(FileResponse(text_file), headers={"range": many})
    assert (reply.status_code, len(reply.content)) == (200, 150_000)
    hundred = "bytes=" + ",".join(f"{i * 1000}-{i * 1000}" for i in range(100))
    assert len(parts_of(fetch(FileResponse(text_file), headers={"range": hundred}))) == 100


def test_file_response_ranges_cannot_amplify(text_file: Path) -> None:
    # The same 100 KB asked 100 times is sent once: the answer is never much more than the file.
    reply = fetch(FileResponse(text_file), headers={"range": "bytes=" + ",".join(["0-"] * 100)})
    assert (reply.status_code, len(reply.content)) == (206, 150_000)


def test_byte_ranges() -> None:
    assert byte_ranges("bytes=0-9,", 100) == [(0, 9)]
    assert byte_ranges("bytes=900-,0-9", 1000) == [(900, 999), (0, 9)]
    assert byte_ranges("bytes=0-50,40-60", 100) == [(0, 60)]
    assert byte_ranges("bytes=0-1,x", 100) is None
    with pytest.raises(RangeNotSatisfiable):
        byte_ranges("bytes=100-,200-", 100)
