"""Responses: an object that knows how to send itself over ASGI.

A response is called like an ASGI app, ``await response(scope, receive, send)``,
and sends two kinds of message: one ``http.response.start`` (status and
headers) and one or more ``http.response.body``. Everything else here is about
getting those headers right:

* ``content-length`` matches the body: it is computed, and one you give must agree
  (only an empty body, a HEAD handler's answer, may declare another); it is left out
  where HTTP forbids it, 1xx, 204 and 304, which take no body;
* header names and values are validated when set, so a CR or LF in a value
  raises in the handler (a 500) instead of splitting the response;
* a HEAD request gets the same status and headers as GET, and no body.

>>> r = JSONResponse({"id": 1}, status_code=201)
>>> r.status_code, r.body, r.headers["content-type"], r.headers["content-length"]
(201, b'{"id":1}', 'application/json', '8')
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import mimetypes
import os
import stat
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from email.utils import formatdate
from http.cookies import SimpleCookie
from typing import Any, Literal
from urllib.parse import quote

from .background import BackgroundTask, BackgroundTasks, run_sync
from .datastructures import InvalidHeader, MutableHeaders, encode_header
from .types import Receive, Scope, Send

__all__ = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RangeNotSatisfiable",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
    "byte_range",
    "render_json",
    "run_background",
]

logger = logging.getLogger("asgilab.responses")

# Statuses that never carry a body, so never a content-length (RFC 9110 8.6).
_NO_BODY = frozenset({204, 304})

# PERF: one encoder, built once; json.dumps(..., separators=...) builds a new one per call.
_json_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# PERF: JSONEncoder.encode() also builds the C encoder on every call; building it once
# halves the cost of a small document. Without the circular-reference check (markers=None)
# a self-containing structure ends in RecursionError instead of ValueError: still a 500.
_c_encoder = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None,  # markers: no circular check
        _json_encoder.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)


def render_json(content: Any) -> bytes:
    """Compact UTF-8 JSON, NaN refused: what JSONResponse and a returned dict/list send.

    >>> render_json({"a": [1, "é"]})
    b'{"a":[1,"\\xc3\\xa9"]}'
    """
    if _c_encoder is None:  # pragma: no cover -- interpreters without the C accelerator
        return _json_encoder.encode(content).encode()
    if isinstance(content, str):  # the C encoder returns a str itself here, not chunks
        return _json_encoder.encode(content).encode()
    return "".join(_c_encoder(content, 0)).encode()


async def run_background(scope: Scope, tasks: BackgroundTask | BackgroundTasks) -> None:
    """Hand ``tasks`` to the App's runner (scope["app"].background), or run them inline.

    Inline is the fallback for a Response used outside an asgilab App, e.g. mounted
    in another framework: the tasks still run, after the body was sent.
    """
    app = scope.get("app")
    runner = getattr(app, "background", None)
    if runner is not None and hasattr(runner, "submit"):
        runner.submit(tasks)
    else:
        await tasks()


def _none_match(header: bytes, etag: bytes) -> bool:
    """Whether ``If-None-Match`` names the current version: ``*``, or ``etag`` compared
    weakly (``W/"x"`` matches ``"x"``), as RFC 9110 (13.1.2) asks.

    >>> _none_match(b'"a", W/"b"', b'"b"'), _none_match(b"*", b'"b"'), _none_match(b'"a"', b'"b"')
    (True, True, False)
    """
    if header.strip() == b"*":
        return True
    return etag.removeprefix(b"W/") in (
        tag.strip().removeprefix(b"W/") for tag in header.split(b",")
    )


class Response:
    """Bytes (or text) with a status and headers.

    ``content`` may be ``bytes``, ``str`` (encoded with :attr:`charset`) or None.
    ``media_type`` sets ``content-type`` (text types get ``; charset=utf-8``).

    >>> r = Response("hi", media_type="text/plain", headers={"X-Id": "7"})
    >>> r.raw_headers
    [(b'x-id', b'7'), (b'content-type', b'text/plain; charset=utf-8'), (b'content-length', b'2')]
    >>> Response(headers={"X-Id": "a\\nb"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.datastructures.InvalidHeader: header 'X-Id' has a CR, LF, NUL or other control...
    """

    media_type: str | None = None
    charset = "utf-8"
    # Whether content-length comes from the rendered body; a body sent later (a stream,
    # a file) has no such length when the headers are built.
    length_from_body = True

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | BackgroundTasks | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        if self.body and (status_code < 200 or status_code in _NO_BODY):
            # HTTP sends no body with these; the server would fail on the extra bytes.
            raise ValueError(
                f"a {status_code} response has no body, yet {len(self.body)} bytes were given"
            )
        self.raw_headers = self._init_headers(headers)

    def render(self, content: Any) -> bytes:
        """Turn ``content`` into the body bytes (subclasses override: JSON, ...)."""
        if content is None:
            return b""
        if isinstance(content, bytes | bytearray | memoryview):
            return bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} content must be bytes, str or None, "
            f"not {type(content).__name__}; use JSONResponse for data"
        )

    def _init_headers(self, headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
        raw = [encode_header(k, v) for k, v in headers.items()] if headers else []
        names = {name for name, _ in raw}
        media_type = self.media_type
        if media_type is not None and b"content-type" not in names:
            if media_type.startswith("text/") and "charset=" not in media_type:
                media_type += f"; charset={self.charset}"
            raw.append(encode_header("content-type", media_type))  # validated like the rest
        if not self.length_from_body or self.status_code < 200 or self.status_code in _NO_BODY:
            return raw
        length = str(len(self.body)).encode("ascii")
        given = [value for name, value in raw if name == b"content-length"]
        if not given:
            raw.append((b"content-length", length))
        elif self.body and given != [length]:
            # A wrong length hangs the client or cuts the body. An empty body may declare
            # another length: a HEAD handler's answer, which describes the GET's body.
            shown = b", ".join(given).decode("latin-1")
            raise ValueError(
                f"content-length {shown} does not match the {length.decode()}-byte body"
            )
        return raw

    @property
    def headers(self) -> MutableHeaders:
        """The headers, as a validated, case-insensitive, mutable view."""
        return MutableHeaders(self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        expires: str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Add a ``set-cookie`` header; the value is quoted as cookies require.

        >>> r = Response()
        >>> r.set_cookie("session", "abc", max_age=60, httponly=True)
        >>> r.headers["set-cookie"]
        'session=abc; HttpOnly; Max-Age=60; Path=/; SameSite=lax'
        """
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie[key] = value
        except Exception as exc:  # http.cookies.CookieError: an illegal key
            raise InvalidHeader(f"invalid cookie name {key!r}: {exc}") from None
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            morsel["expires"] = expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in ("lax", "strict", "none"):
                raise InvalidHeader(f"samesite must be 'lax', 'strict' or 'none', not {samesite!r}")
            morsel["samesite"] = samesite
        self.raw_headers.append(encode_header("set-cookie", morsel.OutputString()))

    def delete_cookie(
        self,
        key: str,
        *,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Tell the client to forget a cookie (same key, path and domain; expired now)."""
        self.set_cookie(
            key,
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        # HEAD: same headers (content-length included), no body.
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})
        if self.background is not None:
            await run_background(scope, self.background)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, media_type={self.media_type!r})"
        )


class PlainTextResponse(Response):
    """``text/plain; charset=utf-8``."""

    media_type = "text/plain"


class HTMLResponse(Response):
    """``text/html; charset=utf-8``."""

    media_type = "text/html"


class JSONResponse(Response):
    """Data as compact UTF-8 JSON; NaN and infinities are refused (they are not JSON).

    >>> JSONResponse({"name": "Zoë", "tags": [1, 2]}).body.decode()
    '{"name":"Zoë","tags":[1,2]}'
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` as JSON."""
        return render_json(content)


class RedirectResponse(Response):
    """Send the client elsewhere: ``RedirectResponse("/login", status_code=303)``.

    Non-ASCII characters in ``url`` are percent-encoded; CR and LF are refused.

    >>> RedirectResponse("/café?x=1").headers["location"]
    '/caf%C3%A9?x=1'
    """

    def __init__(
        self,
        url: str,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | BackgroundTasks | None = None,
    ) -> None:
        super().__init__(None, status_code, headers, background=background)
        if any(c in url for c in "\r\n\0"):
            # Quoting would make it harmless (%0D%0A), but a line break in a URL is a
            # bug or an attack; say so rather than redirect somewhere odd.
            raise InvalidHeader(f"redirect URL {url!r} contains CR, LF or NUL")
        location = quote(url, safe=":/%#?=@[]!$&'()*+,;~")
        # The URL is the location: a second one from `headers` would make two, which
        # browsers refuse.
        self.raw_headers = [h for h in self.raw_headers if h[0] != b"location"]
        self.raw_headers.append(encode_header("location", location))


class StreamingResponse(Response):
    """A body produced piece by piece by an async or sync iterator of ``bytes`` or ``str``.

    No ``content-length`` (the size is unknown), so HTTP/1.1 uses chunked encoding.
    When the client disconnects, iteration stops and the iterator is closed, so its
    ``finally`` blocks (closing a cursor, a file) run. A sync iterator runs in the
    thread pool, one item at a time, so it may block.
    """

    length_from_body = False  # a caller's content-length, if any, is kept

    def __init__(
        self,
        content: AsyncIterable[bytes | str] | Iterable[bytes | str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | BackgroundTasks | None = None,
    ) -> None:
        self.content = content
        super().__init__(None, status_code, headers, media_type, background)

    async def _chunks(self) -> AsyncGenerator[bytes, None]:
        content = self.content
        if isinstance(content, AsyncIterable):
            async for chunk in content:
                yield chunk if isinstance(chunk, bytes) else chunk.encode(self.charset)
        else:
            iterator = iter(content)
            done = object()
            while True:
                chunk = await run_sync(next, iterator, done)
                if chunk is done:
                    break
                yield chunk if isinstance(chunk, bytes) else chunk.encode(self.charset)

    async def _close_iterator(self) -> None:
        # Run the producer's cleanup: an async generator's aclose(), a sync one's close().
        content = self.content
        aclose = getattr(content, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(content, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:
                # "generator already executing": the pool thread is still inside
                # next(); the generator is dropped and collected when it returns.
                logger.debug("sync iterator still running on disconnect; not closed")

    async def _stream(self, send: Send) -> None:
        chunks = self._chunks()
        try:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await chunks.aclose()
        await send({"type": "http.response.body", "body": b""})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b""})
            else:
                await self._stream_until_disconnect(receive, send)
        finally:
            await self._close_iterator()
        if self.background is not None:
            await run_background(scope, self.background)

    async def _stream_until_disconnect(self, receive: Receive, send: Send) -> None:
        # Two things at once: send the chunks, and listen for http.disconnect (a
        # server does not fail `send` when the client is gone; uvicorn drops it
        # silently). Whichever finishes first cancels the other.
        streamer = asyncio.ensure_future(self._stream(send))
        listener = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({streamer, listener}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streamer, listener):
                if not task.done():
                    task.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if streamer.cancelled():
            return  # the client left; cleanup runs in __call__
        await streamer  # re-raise an error from the iterator


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class RangeNotSatisfiable(ValueError):
    """A ``Range`` header whose one range starts past the end of the file (answered 416)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The bytes ``(first, last)``, inclusive, that a ``Range`` header asks of ``size`` bytes.

    ``None`` means "send the whole file": another unit than bytes, a malformed
    header, or several ranges (which RFC 9110 lets a server ignore; asgilab does,
    rather than send multipart/byteranges). A range that starts past the end raises
    :class:`RangeNotSatisfiable`; one that ends past it is cut at the end.

    >>> byte_range("bytes=0-99", 1000), byte_range("bytes=900-", 1000)
    ((0, 99), (900, 999))
    >>> byte_range("bytes=-100", 1000), byte_range("bytes=990-5000", 1000)
    ((900, 999), (990, 999))
    >>> byte_range("bytes=0-1,5-6", 1000), byte_range("items=0-1", 1000), byte_range("bytes=٣-", 9)
    (None, None, None)
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    digits = first_text + last_text
    if not dash or not digits or not (digits.isascii() and digits.isdigit()):
        return None
    if len(first_text) > 20 or len(last_text) > 20:
        return None  # past any file size, and int() refuses 4,300 digits: malformed
    if not first_text:  # "-N": the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # malformed: RFC 9110 lets a server ignore it
    if first >= size:
        raise RangeNotSatisfiable(header)
    return first, min(int(last_text), size - 1) if last_text else size - 1


# The request headers a FileResponse looks at.
_FILE_CONDITIONS = frozenset({b"if-none-match", b"if-range", b"range"})


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for a download named ``filename`` (RFC 6266).

    Plain ASCII goes in quotes, as every client reads it; anything else in RFC 8187's
    ``filename*``, where only its attr-chars stay unescaped (not ``/``, which ``quote``
    would keep).

    >>> _attachment("report.pdf"), _attachment("résumé/1.txt")
    ('attachment; filename="report.pdf"', "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%2F1.txt")
    """
    if filename.isascii() and filename.isprintable() and not any(c in filename for c in '"\\'):
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quote(filename, safe='!#$&+^`|~')}"


class FileResponse(Response):
    """A file sent in chunks, with its type, size, ``last-modified`` and ``etag``.

    The file is looked at when the response is sent (not when created): a file
    that is missing by then answers 404. ``If-None-Match`` with the current etag
    answers 304. A ``Range`` of bytes (``bytes=0-99``, ``bytes=100-``,
    ``bytes=-100``) answers 206 with just those bytes -- what lets a video player
    seek and a download resume -- unless an ``If-Range`` names an older version;
    a range past the end answers 416. HEAD gets the headers only.
    """

    chunk_size = 64 * 1024
    length_from_body = False  # it sends the file's (or the range's) own length

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
        background: BackgroundTask | BackgroundTasks | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.filename = filename
        if media_type is None:
            guessed, _ = mimetypes.guess_type(filename or self.path)
            media_type = guessed or "application/octet-stream"
        super().__init__(None, status_code, headers, media_type, background)
        # A caller's content-length cannot be right for every range: the file's is sent.
        self.raw_headers = [(n, v) for n, v in self.raw_headers if n != b"content-length"]
        if filename is not None:
            self.raw_headers.append((b"content-disposition", _attachment(filename).encode()))

    @staticmethod
    def _validators(st: os.stat_result) -> tuple[bytes, bytes]:
        """``last-modified`` and ``etag`` of the file's current version."""
        etag_source = f"{st.st_mtime_ns}-{st.st_size}".encode()
        etag = '"' + hashlib.md5(etag_source, usedforsecurity=False).hexdigest() + '"'
        return formatdate(st.st_mtime, usegmt=True).encode(), etag.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            st = await run_sync(os.stat, self.path)
        except OSError:
            # Missing, or a path no file can have (data.txt/x, a name too long, a
            # directory it may not enter): for the client, there is no such file.
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            await PlainTextResponse("Not Found", 404)(scope, receive, send)
            return
        last_modified, etag = self._validators(st)
        headers = [*self.raw_headers, (b"last-modified", last_modified), (b"etag", etag)]
        asked = {n: v for n, v in scope.get("headers") or () if n in _FILE_CONDITIONS}
        if b"if-none-match" in asked and _none_match(asked[b"if-none-match"], etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        status, first, last = self.status_code, 0, st.st_size - 1
        if status == 200:
            headers.append((b"accept-ranges", b"bytes"))
            # If-Range holds the version the client has part of; another version: send it all.
            # Only GET has ranges (RFC 9110, 14.2), and HEAD, which answers as GET would.
            if (
                b"range" in asked
                and scope.get("method") in ("GET", "HEAD")
                and asked.get(b"if-range", etag) in (etag, last_modified)
            ):
                try:
                    wanted = byte_range(asked[b"range"].decode("latin-1"), st.st_size)
                except RangeNotSatisfiable:
                    refusal = {"content-range": f"bytes */{st.st_size}"}
                    await PlainTextResponse("Range Not Satisfiable", 416, refusal)(
                        scope, receive, send
                    )
                    return
                if wanted is not None:
                    status, (first, last) = 206, wanted
                    content_range = f"bytes {first}-{last}/{st.st_size}"
                    headers.append((b"content-range", content_range.encode()))
        headers.append((b"content-length", b"%d" % (last - first + 1)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            with open(self.path, "rb") as file:
                file.seek(first)
                left = last - first + 1
                while left > 0 and (chunk := await run_sync(file.read, min(self.chunk_size, left))):
                    left -= len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if left > 0:
                # The file shrank while it was sent: the content-length is a promise
                # broken, and raising lets the server close the connection on it.
                raise OSError(f"{self.path} ended {left} bytes short of its content-length")
            await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await run_background(scope, self.background)
