"""StaticFiles against a tmp directory: tables of paths in, status, body and headers out.

Most requests are built here as a server builds them (``path`` decoded once from
``raw_path``, ``root_path`` in front of both), so ``..`` and ``//`` reach the app
exactly as a client can send them; httpx would normalise some of them away first.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from asgilab import App, Client, Request
from asgilab.errors import InvalidArgument
from asgilab.responses import Response
from asgilab.staticfiles import StaticFiles
from asgilab.types import Message, Scope

SECRET = b"root:x:0:0:the secret beside the public folder"
BIG = bytes(range(256)) * 400  # 102,400 bytes


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def call(
    app: Any,
    target: bytes,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    root_path: str = "",
) -> Reply:
    """Send ``method target`` to ``app`` as uvicorn would; ``target`` is the raw path."""
    raw_path, _, query = target.partition(b"?")
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "root_path": root_path,
        "path": unquote(raw_path.decode("latin-1")),  # decoded once, by the server
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(b"host", b"testserver"), *headers],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # a client that stays until the answer is sent
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    assert start["type"] == "http.response.start"
    names = [name.decode() for name, _ in start["headers"]]
    assert len(names) == len(set(names)), f"a header sent twice: {names}"
    fields = {name.decode(): value.decode("latin-1") for name, value in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return Reply(start["status"], fields, body)


@pytest.fixture
def public(tmp_path: Path) -> Path:
    """``tmp/public``, a small site; ``tmp/secret.txt`` and ``tmp/outside/`` beside it."""
    root = tmp_path / "public"
    (root / "docs").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "hello.txt").write_bytes(b"hello")
    (root / "style.css").write_text("p { color: red }")
    (root / "app.js").write_text("export const a = 1;")
    (root / "data.json").write_text("{}")
    (root / "logo.svg").write_text("<svg/>")
    (root / "dist.tar.gz").write_bytes(b"\x1f\x8b")
    (root / "README").write_bytes(b"no extension")
    (root / "big.bin").write_bytes(BIG)
    (root / "%2e%2e").write_bytes(b"a file called %2e%2e")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "docs" / "page.html").write_text("<p>page</p>")
    (root / "link_in.txt").symlink_to(root / "hello.txt")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_bytes(SECRET)
    (root / "link_out.txt").symlink_to(tmp_path / "secret.txt")
    (root / "linkdir").symlink_to(tmp_path / "outside")
    for path in (root / "hello.txt", root / "big.bin"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return root


@pytest.fixture
def site(public: Path) -> Path:
    """``public`` with an ``index.html`` and a ``404.html``: a site for html mode."""
    (public / "index.html").write_text("<h1>home</h1>")
    (public / "404.html").write_text("<h1>no such page</h1>")
    return public


SERVED = [
    ("/hello.txt", b"hello"),
    ("/docs/index.html", b"<h1>docs</h1>"),
    ("/docs/page.html", b"<p>page</p>"),
    ("/link_in.txt", b"hello"),  # a symlink that stays inside
    ("/%68ello.txt", b"hello"),  # decoded once: 'hello.txt'
    ("/%252e%252e", b"a file called %2e%2e"),  # decoded once: the file's own name
]


@pytest.mark.parametrize(("target", "body"), SERVED)
def test_files_are_served(public: Path, target: str, body: bytes) -> None:
    reply = call(StaticFiles(public), target.encode())
    assert (reply.status, reply.body) == (200, body)
    assert reply.headers["content-length"] == str(len(body))


# Every way out of the directory, as raw paths on the wire: each a plain 404.
ESCAPES = [
    "/../secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/docs/../../secret.txt",
    "/docs/..%2F..%2Fsecret.txt",
    "/docs/%2e%2e/%2e%2e/secret.txt",
    "/docs/../hello.txt",  # stays inside, still '..': refused, not normalised
    "/..",
    "/%2F/etc/passwd",
    "//etc/passwd",
    "/%2Fetc%2Fpasswd",
    "/SECRET",  # the secret's absolute path
    "/..%5Csecret.txt",  # a backslash
    "/..\\secret.txt",
    "/C:/Windows/win.ini",
    "/hello.txt%00.png",  # a NUL
    "/%00",
    "/hello.txt%0A",
    "/link_out.txt",  # a symlink out
    "/linkdir/x.txt",  # through a symlinked directory out
    "/%ED%A0%80",  # an encoded surrogate: not UTF-8
]


@pytest.mark.parametrize("target", ESCAPES)
def test_nothing_outside_the_directory_is_served(public: Path, target: str) -> None:
    target = target.replace("/SECRET", str(public.parent / "secret.txt"))
    for app in (StaticFiles(public), StaticFiles(public, html=True)):
        reply = call(app, target.encode())
        assert reply.status == 404, target
        assert SECRET not in reply.body


def test_symlinks_out_are_followed_only_when_asked(public: Path) -> None:
    app = StaticFiles(public, follow_symlinks=True)
    assert call(app, b"/link_out.txt").body == SECRET
    assert call(app, b"/linkdir/x.txt").body == SECRET
    # Still no '..' nor absolute names: following links is no licence to climb.
    assert call(app, b"/../secret.txt").status == 404
    assert call(app, b"/%2F/etc/passwd").status == 404


@pytest.mark.parametrize(
    "target",
    ["/missing.txt", "/", "/docs", "/docs/", "/empty/", "/hello.txt/", "/docs/index.html/x"],
)
def test_what_is_no_file_is_404(public: Path, target: str) -> None:
    reply = call(StaticFiles(public), target.encode())
    assert (reply.status, reply.body) == (404, b"Not Found")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("hello.txt", "text/plain; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("docs/page.html", "text/html; charset=utf-8"),
        ("data.json", "application/json"),
        ("logo.svg", "image/svg+xml"),
        ("dist.tar.gz", "application/gzip"),  # not x-tar with content-encoding: gzip
        ("README", "application/octet-stream"),
    ],
)
def test_media_types(public: Path, name: str, media_type: str) -> None:
    reply = call(StaticFiles(public), f"/{name}".encode())
    assert reply.headers["content-type"] == media_type
    assert "content-encoding" not in reply.headers


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(public: Path, method: str) -> None:
    reply = call(StaticFiles(public), b"/hello.txt", method=method)
    assert (reply.status, reply.body) == (405, b"Method Not Allowed")
    assert reply.headers["allow"] == "GET, HEAD"


def test_head_sends_the_headers_only(public: Path) -> None:
    reply = call(StaticFiles(public), b"/hello.txt", method="HEAD")
    assert (reply.status, reply.headers["content-length"], reply.body) == (200, "5", b"")


def test_validators_and_304s(public: Path) -> None:
    app = StaticFiles(public)
    full = call(app, b"/hello.txt")
    assert full.headers["last-modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    etag = full.headers["etag"].encode()
    for condition in [
        (b"if-none-match", etag),
        (b"if-none-match", b"W/" + etag),
        (b"if-modified-since", b"Tue, 14 Nov 2023 22:13:20 GMT"),
    ]:
        reply = call(app, b"/hello.txt", headers=[condition])
        assert (reply.status, reply.body) == (304, b""), condition
        assert reply.headers["etag"] == etag.decode()
        assert "content-type" not in reply.headers
        assert "content-length" not in reply.headers
    for condition in [
        (b"if-none-match", b'"other"'),
        (b"if-modified-since", b"Tue, 14 Nov 2023 22:13:19 GMT"),
        (b"if-modified-since", b"not a date"),
    ]:
        assert call(app, b"/hello.txt", headers=[condition]).status == 200, condition


@pytest.mark.parametrize(
    ("range_", "status", "content_range", "body"),
    [
        ("bytes=0-9", 206, "bytes 0-9/102400", BIG[:10]),
        ("bytes=-10", 206, "bytes 102390-102399/102400", BIG[-10:]),
        ("bytes=0-9,", 206, "bytes 0-9/102400", BIG[:10]),
        ("bytes=0-9,5-19", 206, "bytes 0-19/102400", BIG[:20]),
        ("bytes=200000-200100,300000-", 416, "bytes */102400", b"Range Not Satisfiable"),
        ("bytes=9-0", 200, None, BIG),  # malformed: ignored
    ],
)
def test_ranges(
    public: Path, range_: str, status: int, content_range: str | None, body: bytes
) -> None:
    reply = call(StaticFiles(public), b"/big.bin", headers=[(b"range", range_.encode())])
    assert (reply.status, reply.headers.get("content-range"), reply.body) == (
        status,
        content_range,
        body,
    )


def test_several_ranges_answer_multipart(public: Path) -> None:
    reply = call(StaticFiles(public), b"/big.bin", headers=[(b"range", b"bytes=0-1,50000-50001")])
    assert reply.status == 206
    assert reply.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert reply.headers["content-length"] == str(len(reply.body))
    assert b"content-range: bytes 50000-50001/102400\r\n\r\n" + BIG[50000:50002] in reply.body


def test_head_with_a_range_describes_the_whole_file(public: Path) -> None:
    headers = [(b"range", b"bytes=0-9")]
    reply = call(StaticFiles(public), b"/big.bin", method="HEAD", headers=headers)
    assert (reply.status, reply.headers["content-length"], reply.body) == (200, "102400", b"")


# -- html mode --------------------------------------------------------------------------

HTML_MODE = [
    # target, status, body (or the location of a redirect)
    ("/", 200, b"<h1>home</h1>"),
    ("/index.html", 200, b"<h1>home</h1>"),
    ("/docs/", 200, b"<h1>docs</h1>"),
    ("/docs", 307, "./docs/"),
    ("/docs?lang=fr", 307, "./docs/?lang=fr"),
    ("/a%20b", 307, "./a%20b/"),  # the segment as sent, escaped again
    ("/docs/page.html", 200, b"<p>page</p>"),
    ("/missing", 404, b"<h1>no such page</h1>"),
    ("/empty/", 404, b"<h1>no such page</h1>"),  # a directory without index.html
    ("/hello.txt/", 404, b"<h1>no such page</h1>"),
    ("/../secret.txt", 404, b"<h1>no such page</h1>"),
]


@pytest.mark.parametrize(("target", "status", "answer"), HTML_MODE)
def test_html_mode(site: Path, target: str, status: int, answer: bytes | str) -> None:
    (site / "a b").mkdir()
    (site / "a b" / "index.html").write_text("<p>a b</p>")
    reply = call(StaticFiles(site, html=True), target.encode())
    assert reply.status == status
    if status == 307:
        assert (reply.headers["location"], reply.body) == (answer, b"")
    else:
        assert reply.body == answer
        assert reply.headers["content-type"] == "text/html; charset=utf-8"


def test_html_mode_without_a_404_page(public: Path) -> None:
    reply = call(StaticFiles(public, html=True), b"/missing")
    assert (reply.status, reply.body) == (404, b"Not Found")


def test_the_404_page_is_never_not_modified(site: Path) -> None:
    app = StaticFiles(site, html=True)
    etag = call(app, b"/missing").headers["etag"].encode()
    reply = call(app, b"/missing", headers=[(b"if-none-match", etag), (b"range", b"bytes=0-1")])
    assert (reply.status, reply.body) == (404, b"<h1>no such page</h1>")


def test_html_mode_redirects_resolve_under_the_mount(site: Path) -> None:
    with Client(StaticFiles(site, html=True), root_path="/static") as client:
        reply = client.get("/static/docs", follow_redirects=True)
    assert (reply.status_code, reply.text) == (200, "<h1>docs</h1>")
    assert str(reply.url) == "http://testserver/static/docs/"
    assert reply.history[0].status_code == 307


def test_html_mode_serves_the_index_of_the_mount_itself(site: Path) -> None:
    app = StaticFiles(site, html=True)
    assert call(app, b"/static/", root_path="/static").body == b"<h1>home</h1>"
    reply = call(app, b"/static", root_path="/static")
    assert (reply.status, reply.headers["location"]) == (307, "./static/")


# -- mounted: root_path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "root_path", "status"),
    [
        ("/static/hello.txt", "/static", 200),  # root_path in path, as the ASGI spec says
        ("/hello.txt", "/static", 200),  # a server that leaves it out
        ("/static/hello.txt", "/static/", 200),
        ("/api/v1/static/hello.txt", "/api/v1/static", 200),
        ("/static/static/hello.txt", "/static", 404),  # removed once only
        ("/staticx/hello.txt", "/static", 404),  # no prefix: a segment must end
        ("/static/../secret.txt", "/static", 404),
        ("/static/%2F/etc/passwd", "/static", 404),
    ],
)
def test_root_path(public: Path, target: str, root_path: str, status: int) -> None:
    reply = call(StaticFiles(public), target.encode(), root_path=root_path)
    assert reply.status == status
    if status == 200:
        assert reply.body == b"hello"


def test_mounted_by_a_three_line_router(public: Path) -> None:
    static = StaticFiles(public)

    async def router(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/static/"):
            await static({**scope, "root_path": scope["root_path"] + "/static"}, receive, send)
        else:
            await Response(b"home")(scope, receive, send)

    with Client(router) as client:
        assert client.get("/static/hello.txt").text == "hello"
        assert client.get("/static/..%2Fsecret.txt").status_code == 404
        assert client.get("/").text == "home"


def test_served_from_a_route_handler(public: Path) -> None:
    static = StaticFiles(public)
    app = App()

    @app.get("/files/{name:path}")
    async def files(request: Request, name: str) -> Response:
        return await static.response(name, request.scope)

    with Client(app) as client:
        assert client.get("/files/hello.txt").text == "hello"
        assert client.get("/files/docs/page.html").text == "<p>page</p>"
        assert client.get("/files/..%2Fsecret.txt").status_code == 404
        assert client.get("/files/%2Fetc%2Fpasswd").status_code == 404


# -- construction and other scopes --------------------------------------------------------


def test_a_missing_directory_is_refused_at_construction(tmp_path: Path) -> None:
    missing = tmp_path / "assets"
    with pytest.raises(InvalidArgument) as info:
        StaticFiles(missing)
    assert str(info.value) == (
        f"StaticFiles directory {str(missing)!r} does not exist; create it, or pass "
        "check_dir=False if it appears later (until then every request is a 404)"
    )
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidArgument) as info:
        StaticFiles(tmp_path / "notes.txt")
    assert str(info.value) == (
        f"StaticFiles directory {str(tmp_path / 'notes.txt')!r} is not a directory; "
        "give the folder that holds the files"
    )


def test_a_directory_made_later_with_check_dir_false(tmp_path: Path) -> None:
    app = StaticFiles(tmp_path / "build", check_dir=False)
    assert call(app, b"/app.js").status == 404
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "app.js").write_text("1")
    assert call(app, b"/app.js").body == b"1"


def test_lifespan_is_answered_so_it_can_be_served_alone(public: Path) -> None:
    with Client(StaticFiles(public), lifespan="on") as client:
        assert client.get("/hello.txt").text == "hello"


def test_a_websocket_is_refused(public: Path) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(StaticFiles(public)({"type": "websocket", "path": "/"}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1000}]


def test_another_scope_is_an_error(public: Path) -> None:
    async def nothing() -> Message:
        raise AssertionError

    async def ignore(message: Message) -> None:
        raise AssertionError

    with pytest.raises(InvalidArgument) as info:
        asyncio.run(StaticFiles(public)({"type": "webtransport"}, nothing, ignore))
    assert str(info.value) == (
        "StaticFiles serves HTTP requests, not a 'webtransport' scope; "
        "mount it where only HTTP reaches it"
    )


def test_repr(public: Path) -> None:
    assert repr(StaticFiles(public, html=True)) == (
        f"StaticFiles(directory={str(public)!r}, html=True, follow_symlinks=False)"
    )
