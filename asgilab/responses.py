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
* a HEAD request gets the same status and headers as GET, and no body (a GET with
  a ``Range`` header excepted: ranges are for GET only);
* a body sent in pieces (a stream, a file) stops when the client leaves
  (:func:`send_body`), and a file a client names stays inside its directory
  (``FileResponse(name, root=...)``).

>>> r = JSONResponse({"id": 1}, status_code=201)
>>> r.status_code, r.body, r.headers["content-type"], r.headers["content-length"]
(201, b'{"id":1}', 'application/json', '8')
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
import stat
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from urllib.parse import quote, unquote

from .background import BackgroundTask, BackgroundTasks, run_sync
from .datastructures import InvalidHeader, MutableHeaders, encode_header
from .errors import AsgilabError, InvalidArgument, InvalidArgumentType, excerpt
from .files import UnsafePath, safe_join
from .types import Receive, Scope, Send

# NOTE: asyncio (bodies sent in pieces), email.utils (HTTP dates), hashlib (etags) and
# http.cookies are imported where they are used, as in background.py: most responses need
# none of them, and ``import asgilab`` stays light. Once loaded, such an import is a lookup.
if TYPE_CHECKING:
    import asyncio
__all__ = [
    "MAX_RANGES",
    "FileResponse",
    "FileTruncated",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RangeNotSatisfiable",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
    "byte_range",
    "byte_ranges",
    "render_json",
    "run_background",
    "safe_redirect_target",
    "send_body",
]

logger = logging.getLogger("asgilab.responses")

# Statuses that never carry a body, so never a content-length (RFC 9110 8.6).
_NO_BODY = frozenset({204, 304})

# PERF: one encoder, built once; json.dumps(..., separators=...) builds a new one per call.
_json_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# PERF: JSONEncoder.encode() also builds the C encoder on every call, a large part of the
# cost of a small document; it is built once here. Without the circular-reference check
# (markers=None) a self-containing structure ends in RecursionError instead of ValueError:
# still a 500.
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
    if runner is not None and hasattr(runner, "after_response"):
        await runner.after_response(tasks, getattr(app, "shutdown_timeout", 30.0))
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


# SameSite values, as RFC 6265bis spells them.
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
# A host name in a cookie's Domain: dot-separated labels of letters, digits and '-' (one
# leading dot is allowed, and ignored by browsers). Nothing else, so nothing to inject.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_COOKIE_DOMAIN = re.compile(rf"\.?{_LABEL}(?:\.{_LABEL})*")


def _check_cookie_attribute(attribute: str, value: str, example: str) -> None:
    """Refuse what would break out of a cookie attribute: RFC 6265 (4.1.1) lets an
    attribute's value be printable ASCII but ``;``, which would start another one."""
    for char in value:
        if char == ";":
            why = f"which would end the {attribute} and start another attribute"
        elif char < " " or char == "\x7f":
            why = "a control character (a CR or LF would split the header)"
        elif not char.isascii():
            why = "which is not ASCII (percent-encode it)"
        else:
            continue
        raise InvalidHeader(
            f"cookie {attribute} {excerpt(value)!r} has {char!r}, {why}; give {example}"
        )


def _cookie_expires(expires: str | int) -> str | int:
    """``expires`` checked: seconds from now (an int), or an HTTP date."""
    if isinstance(expires, bool) or not isinstance(expires, str | int):
        raise InvalidArgumentType(
            f"cookie expires is an HTTP date or a number of seconds, not {expires!r}"
        )
    if isinstance(expires, str):
        from email.utils import parsedate_to_datetime

        try:
            parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            raise InvalidHeader(
                f"cookie expires {excerpt(expires)!r} is not an HTTP date; give one such as "
                "'Wed, 21 Oct 2026 07:28:00 GMT', or max_age in seconds"
            ) from None
        _check_cookie_attribute("expires", expires, "an HTTP date")
    return expires


def _check_cookie_prefix(key: str, *, secure: bool, path: str | None, domain: str | None) -> None:
    """Browsers drop a ``__Secure-`` cookie without Secure, and a ``__Host-`` one without
    Secure, with a Domain or with a Path other than ``/`` (RFC 6265bis, 4.1.3)."""
    lowered = key.lower()
    if lowered.startswith("__secure-") and not secure:
        raise InvalidHeader(f"cookie {key!r} needs secure=True, as its __Secure- prefix says")
    if lowered.startswith("__host-") and (not secure or domain is not None or path != "/"):
        raise InvalidHeader(
            f"cookie {key!r} needs secure=True, path='/' and no domain, as its __Host- prefix says"
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
            raise InvalidArgument(
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
        raise InvalidArgumentType(
            f"{type(self).__name__} content must be bytes, str or None, "
            f"not {type(content).__name__}; use JSONResponse for data"
        )

    def _init_headers(self, headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
        raw = [encode_header(k, v) for k, v in headers.items()] if headers else []
        names = {name for name, _ in raw}
        media_type = self.media_type
        # A 304 describes a body the client already has: no content-type of its own.
        if media_type is not None and b"content-type" not in names and self.status_code != 304:
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
            raise InvalidHeader(
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
        """Add a ``set-cookie`` header. A session cookie, the safe way:

        >>> r = Response()
        >>> r.set_cookie("session", "abc", max_age=3600, secure=True, httponly=True)
        >>> r.headers["set-cookie"]
        'session=abc; HttpOnly; Max-Age=3600; Path=/; SameSite=Lax; Secure'

        * ``httponly=True``: page scripts cannot read it (``document.cookie``), so a
          script injected into a page (XSS) cannot steal the session. Set it on
          every cookie your JavaScript does not need.
        * ``secure=True``: the browser sends it over HTTPS only, never in clear
          text. Set it wherever the site is served over HTTPS (and it should be).
        * ``samesite``: ``"lax"`` (the default) keeps it off requests other sites
          start, but for top-level links; ``"strict"`` keeps it off those too;
          ``"none"`` sends it everywhere and requires ``secure=True`` (browsers drop
          a ``SameSite=None`` cookie that is not ``Secure``).
        * ``max_age`` (seconds) or ``expires`` (an HTTP date) make it outlive the
          browser session; neither: it goes when the browser closes.

        The value is quoted as cookies require (``;``, a line break, a quote end up
        escaped inside ``"..."``), so it cannot add attributes. The name and every
        attribute are checked, so ``path`` or ``domain`` cannot either:

        >>> r.set_cookie("s", "1", path="/; Domain=evil.example")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        asgilab.datastructures.InvalidHeader: cookie path '/; Domain=evil.example' has ';', which...
        """
        from http.cookies import SimpleCookie

        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie[key] = value
        except Exception as exc:  # http.cookies.CookieError: an illegal key
            raise InvalidHeader(f"invalid cookie name {key!r}: {exc}") from None
        morsel = cookie[key]
        if max_age is not None:
            if isinstance(max_age, bool) or not isinstance(max_age, int):
                raise InvalidArgumentType(f"cookie max_age is a number of seconds, not {max_age!r}")
            morsel["max-age"] = max_age
        if expires is not None:
            morsel["expires"] = _cookie_expires(expires)
        if path is not None:
            _check_cookie_attribute("path", path, "a plain URL path such as '/account'")
            if not path.startswith("/"):
                raise InvalidHeader(
                    f"cookie path {path!r} does not start with '/', and browsers ignore such a "
                    "path (they use the request's directory); give one such as '/account'"
                )
            morsel["path"] = path
        if domain is not None:
            if not _COOKIE_DOMAIN.fullmatch(domain):
                raise InvalidHeader(
                    f"cookie domain {excerpt(domain)!r} is not a host name; give letters, digits, "
                    "'-' and '.' only, such as 'example.com' (an international name in its "
                    "ASCII xn-- form), or no domain to keep the cookie to this host"
                )
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            canonical = _SAMESITE.get(samesite.lower()) if isinstance(samesite, str) else None
            if canonical is None:
                raise InvalidHeader(f"samesite must be 'lax', 'strict' or 'none', not {samesite!r}")
            if canonical == "None" and not secure:
                raise InvalidHeader(
                    f"cookie {key!r} has samesite='none' without secure=True, and browsers drop "
                    "such a cookie; pass secure=True (and serve over HTTPS), or samesite='lax'"
                )
            morsel["samesite"] = canonical
        _check_cookie_prefix(key, secure=secure, path=path, domain=domain)
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


def _is_local_path(url: str) -> bool:
    """Whether a browser would read ``url`` as a path on this site, however often it is
    percent-decoded on its way (a ``?next=`` value is decoded by the app, then maybe again).
    """
    for _ in range(4):
        if not url.startswith("/") or url[1:2] in ("/", "\\"):
            return False  # a scheme ("https:"), a relative path, or "//host" / "/\\host"
        if any(char < " " or char == "\x7f" for char in url):
            return False  # browsers drop a tab or line break: "/\t/evil.example" is "//evil..."
        decoded = unquote(url)
        if decoded == url:
            return True
        url = decoded
    return False  # encoded four times over: no honest link is


def safe_redirect_target(url: str | None, fallback: str = "/") -> str:
    """``url`` if it is a path on this site, else ``fallback``: where to send a ``?next=``.

    A path starts with one ``/``, not two (``//evil.example`` is another host) nor
    ``/\\`` (which browsers read as ``//``), has no scheme and no control
    character, and stays so once percent-decoded (``%2F%2Fevil.example``).

    >>> safe_redirect_target("/account?tab=keys")
    '/account?tab=keys'
    >>> targets = ["//evil.example", "%2F%2Fevil.example", "/%2F/evil.example", "/\\\\evil.example",
    ...            "https:evil.example", "https://evil.example/", "/\\t/evil.example", "", None]
    >>> {safe_redirect_target(t, fallback="/home") for t in targets}
    {'/home'}
    """
    if not _is_local_path(fallback):
        raise InvalidArgument(
            f"fallback {fallback!r} is not a path on this site; give one that starts "
            "with a single '/', such as '/'"
        )
    return url if url is not None and _is_local_path(url) else fallback


class RedirectResponse(Response):
    """Send the client elsewhere: ``RedirectResponse("/login", status_code=303)``.

    Non-ASCII characters in ``url`` are percent-encoded; CR and LF are refused.

    >>> RedirectResponse("/café?x=1").headers["location"]
    '/caf%C3%A9?x=1'

    The URL is sent as given, another site's included: that is what a redirect is
    for. So never pass it a URL the client chose, ``RedirectResponse(request.query["next"])``:
    a link to your login page with ``?next=//evil.example`` sends your users, just
    logged in, to a look-alike page (an *open redirect*). ``%2F%2Fevil.example``,
    ``https:evil.example`` and ``/\\evil.example`` lead there too. :meth:`local`
    redirects only to a path on this site, and elsewhere to ``fallback``:

    >>> RedirectResponse.local("//evil.example", fallback="/home").headers["location"]
    '/home'
    >>> RedirectResponse.local("/notes/3", status_code=303).headers["location"]
    '/notes/3'
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

    @classmethod
    def local(
        cls,
        url: str | None,
        fallback: str = "/",
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | BackgroundTasks | None = None,
    ) -> RedirectResponse:
        """A redirect to ``url`` if it is a path on this site, else to ``fallback``
        (see :func:`safe_redirect_target`): the way to follow a ``?next=`` a client sent.
        """
        return cls(safe_redirect_target(url, fallback), status_code, headers, background)


async def send_body(chunks: AsyncGenerator[bytes, None], receive: Receive, send: Send) -> bool:
    """Send ``chunks`` as the body, then its end, unless the client leaves first.

    Returns whether the whole body went out; ``chunks`` is closed either way, so
    its ``finally`` blocks (closing a file, a cursor) run. Streams and files share it.

    Two things happen at once, in two tasks: a *sender* sends the chunks, and a
    *listener* waits for ``http.disconnect``. A server does not fail ``send`` when
    the client is gone (uvicorn, with h11 or httptools, returns at once and drops
    the message), so only ``receive`` can tell. When the listener hears it, the
    sender is cancelled wherever it waits (a slow generator, a read), and checks
    between chunks in case it never waits at all.
    """
    import asyncio

    listener = asyncio.ensure_future(_wait_for_disconnect(receive))
    sender = asyncio.ensure_future(_send_chunks(chunks, send, listener))
    try:
        await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, listener):
            task.cancel()  # nothing, for the one that is done
        # Both must have stopped before the generator can be closed: aclose() fails
        # on a generator that a task is still running.
        await asyncio.gather(sender, listener, return_exceptions=True)
        await chunks.aclose()
    return False if sender.cancelled() else sender.result()  # result() re-raises its error


async def _send_chunks(
    chunks: AsyncGenerator[bytes, None], send: Send, listener: asyncio.Future[None]
) -> bool:
    import asyncio

    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        # NOTE: neither a generator that never awaits nor a send that does not wait
        # (a server's send returns at once when its buffer has room, and uvicorn's after
        # a disconnect) lets another task run: without this the listener would first
        # hear the client leave once the last chunk is sent, and the loop would serve
        # nobody else meanwhile. PERF: the price is one trip through the loop per chunk.
        await asyncio.sleep(0)
        if listener.done():
            return False
    await send({"type": "http.response.body", "body": b""})
    return True


async def _wait_for_disconnect(receive: Receive) -> None:
    import asyncio

    try:
        while (await receive())["type"] != "http.disconnect":
            # What is left of a request body the handler did not read; and a turn for
            # the other tasks, should a receive() never wait.
            await asyncio.sleep(0)
    except Exception:
        # receive() itself failed (under a function middleware that streamed the body,
        # it raises BodyConsumed): a disconnect cannot be heard, so the body is sent to
        # its end, as it would be without a listener, rather than cut short.
        logger.debug("receive() failed; sending the body without listening", exc_info=True)
        await asyncio.Event().wait()  # cancelled once the body is sent


class StreamingResponse(Response):
    """A body produced piece by piece by an async or sync iterator of ``bytes`` or ``str``.

    No ``content-length`` (the size is unknown), so HTTP/1.1 uses chunked encoding.
    When the client disconnects, iteration stops and the iterator is closed, so its
    ``finally`` blocks (closing a cursor, a file) run; the loop gets a turn between
    chunks, so a generator that never awaits neither blocks other requests nor runs
    on for nobody (see :func:`send_body`). A sync iterator runs in the thread pool,
    one item at a time, so it may block.
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b""})
            else:
                await send_body(self._chunks(), receive, send)
        finally:
            await self._close_iterator()
        if self.background is not None:
            await run_background(scope, self.background)


class RangeNotSatisfiable(AsgilabError, ValueError):
    """A ``Range`` header none of whose ranges overlaps the file: each starts past its end,
    or asks for its last 0 bytes (answered 416)."""


# PERF: at most this many ranges in one header; more is ignored (the whole file is sent).
# Browsers and media players ask for one; download managers for a few. Past a hundred it
# is a broken client or an attack (RFC 9110, 17.15): each part costs headers and a seek.
MAX_RANGES = 100
# Ranges closer than this are sent as one: the bytes between cost less than the headers
# of another part (a boundary line, content-type and content-range: about 100 bytes).
_PART_GAP = 80


def _range_spec(spec: str, size: int) -> tuple[int, int] | Literal[False] | None:
    """One ``first-last``, ``first-`` or ``-suffix`` of ``size`` bytes: ``(first, last)``,
    None when it is malformed, False when it is well-formed but misses the file."""
    first_text, dash, last_text = spec.partition("-")
    digits = first_text + last_text
    if not dash or not digits or not (digits.isascii() and digits.isdigit()):
        return None
    if len(first_text) > 20 or len(last_text) > 20:
        return None  # past any file size, and int() refuses 4,300 digits: malformed
    if not first_text:  # "-N": the last N bytes
        suffix = int(last_text)
        return False if suffix == 0 or size == 0 else (max(size - suffix, 0), size - 1)
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # malformed: RFC 9110 lets a server ignore it
    if first >= size:
        return False
    return first, min(int(last_text), size - 1) if last_text else size - 1


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` with those that overlap, touch or nearly touch merged into one.

    What bounds the answer: however many times a byte is asked for, it is sent once,
    so a multipart answer is never much more than the file. When nothing merges, the
    client's order is kept, as RFC 9110 (14.6) asks; otherwise they go in file order.
    """
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1 + _PART_GAP:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return ranges if len(merged) == len(ranges) else merged


def byte_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """The byte ranges ``(first, last)``, inclusive, that a ``Range`` header asks of ``size`` bytes.

    ``None`` means "send the whole file": another unit than bytes, a malformed
    header (any of its ranges), or more than :data:`MAX_RANGES` ranges, all of which
    RFC 9110 (14.2) lets a server ignore. Empty list elements are skipped (RFC 9110,
    5.6.1: ``bytes=0-9,`` is ``bytes=0-9``). A range that starts past the end is left
    out, one that ends past it is cut at the end; when none is left, it raises
    :class:`RangeNotSatisfiable` (a 416). Ranges that overlap or nearly touch are
    merged (:func:`_coalesce`), so several ranges may come back as one.

    >>> byte_ranges("bytes=0-99", 1000), byte_ranges("bytes=-100,990-5000", 1000)
    ([(0, 99)], [(900, 999)])
    >>> byte_ranges("bytes=500-599, 0-99,", 1000), byte_ranges("bytes=0-99,50-150,9999-", 1000)
    ([(500, 599), (0, 99)], [(0, 150)])
    >>> byte_ranges("items=0-1", 9), byte_ranges("bytes=0-1,x-", 9), byte_ranges("bytes=٣-", 9)
    (None, None, None)
    """
    unit, _, range_set = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip(" \t") for spec in range_set.split(",")]
    specs = [spec for spec in specs if spec]
    if not specs or len(specs) > MAX_RANGES:
        return None
    ranges = []
    for spec in specs:
        wanted = _range_spec(spec, size)
        if wanted is None:
            return None
        if wanted:
            ranges.append(wanted)
    if not ranges:
        raise RangeNotSatisfiable(header)
    return _coalesce(ranges)


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range ``(first, last)`` of a ``Range`` header, for code that sends one only:
    :func:`byte_ranges` when it gives a single range, else None (send the whole file).

    >>> byte_range("bytes=0-99", 1000), byte_range("bytes=0-1,500-600", 1000)
    ((0, 99), None)
    >>> byte_range("bytes=0-1,1-6", 1000)  # overlapping: merged into one
    (0, 6)
    """
    ranges = byte_ranges(header, size)
    return ranges[0] if ranges is not None and len(ranges) == 1 else None


# The request headers a FileResponse looks at.
_FILE_CONDITIONS = frozenset({b"if-modified-since", b"if-none-match", b"if-range", b"range"})
# What a 304 leaves out of the 200's headers: the representation's metadata, which the
# client already has with the body it keeps (RFC 9110, 15.4.5). A cache *updates* its
# stored headers with a 304's, so a content-type there could only be wrong or the same.
_NOT_IN_304 = frozenset(
    {
        b"accept-ranges",
        b"content-disposition",
        b"content-encoding",
        b"content-language",
        b"content-length",
        b"content-range",
        b"content-type",
    }
)


def _request_fields(scope: Scope) -> dict[bytes, list[bytes]]:
    """The conditional and range headers of a request, each with all of its lines.

    A field sent on two lines is one list (RFC 9110, 5.3): ``If-None-Match: "a"`` then
    ``If-None-Match: "b"`` means ``"a", "b"``; keeping the last line only would miss a
    match on the first. Whether a field may be a list is each field's own rule.
    """
    fields: dict[bytes, list[bytes]] = {}
    for name, value in scope.get("headers") or ():
        if name in _FILE_CONDITIONS:
            fields.setdefault(name, []).append(value)
    return fields


def _modified_since(lines: list[bytes], mtime: float) -> bool:
    """Whether a file last modified at ``mtime`` changed after ``If-Modified-Since``;
    True (send it) when the field is not one valid HTTP-date, which RFC 9110 (13.1.3)
    says to ignore.

    >>> _modified_since([b"Tue, 14 Nov 2023 22:13:20 GMT"], 1_700_000_000.5)
    False
    >>> _modified_since([b"Tue, 14 Nov 2023 22:13:19 GMT"], 1_700_000_000)
    True
    >>> _modified_since([b"soon"], 0)  # not a date: ignored, the file is sent
    True
    """
    from email.utils import parsedate_to_datetime

    if len(lines) != 1:
        return True  # two dates: which one?
    try:
        since = parsedate_to_datetime(lines[0].decode("latin-1")).timestamp()
    except (TypeError, ValueError, OverflowError):
        return True
    # Last-Modified is sent in whole seconds: a date taken from it is that second.
    return int(mtime) > since


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


# The types browsers are strict about, fixed here: mimetypes reads the machine's own tables
# (/etc/mime.types; on Windows the registry, where .js is at times text/plain, and a module
# script of that type is refused), so one file could be served as two types on two machines.
_WEB_TYPES = {
    ".css": "text/css",
    ".htm": "text/html",
    ".html": "text/html",
    ".js": "text/javascript",  # RFC 9239
    ".json": "application/json",
    ".mjs": "text/javascript",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",  # streaming compilation requires it
}
# A compressed file is sent as what it is, not as content-encoding: a browser would unpack
# it on the way, and the .tar.gz a user downloads would arrive as a .tar.
_COMPRESSED_TYPES = {
    "bzip2": "application/x-bzip2",
    "gzip": "application/gzip",
    "xz": "application/x-xz",
}


def _guess_media_type(name: str) -> str:
    """The media type of a file called ``name``, from its extension.

    >>> [_guess_media_type(name) for name in ["app.mjs", "dist.tar.gz", "x.unknown"]]
    ['text/javascript', 'application/gzip', 'application/octet-stream']
    """
    suffix = os.path.splitext(name)[1].lower()
    if suffix in _WEB_TYPES:
        return _WEB_TYPES[suffix]
    media_type, encoding = mimetypes.guess_type(name)
    if encoding is not None:
        return _COMPRESSED_TYPES.get(encoding, "application/octet-stream")
    return media_type or "application/octet-stream"


# Opening a FIFO by name waits for a writer; non-blocking, it returns at once (and fstat
# then refuses it). Windows has neither FIFOs to open by name nor the flag.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)


class FileTruncated(AsgilabError, OSError):
    """The file a :class:`FileResponse` was sending ended before its ``content-length``:
    it shrank while it was sent. The server closes the connection on it."""


class FileResponse(Response):
    """A file sent in chunks, with its type, size, ``last-modified`` and ``etag``.

    The file is looked at when the response is sent (not when created): a file
    that is missing by then answers 404, as does a path no file can have (a NUL
    in it, a name too long) or what is not a regular file (a directory, a FIFO).

    * **Revalidation**: a GET or HEAD whose ``If-None-Match`` names the current
      etag, or, without one, whose ``If-Modified-Since`` is not older than the
      file, answers 304: the validators and caching headers, no content-type and
      no body. An answer other than 2xx (a 404 page) ignores both.
    * **Ranges**, GET only: ``bytes=0-99``, ``bytes=100-``, ``bytes=-100`` answer
      206 with just those bytes -- what lets a video player seek and a download
      resume -- unless an ``If-Range`` names an older version. Several ranges
      answer one ``multipart/byteranges`` body; overlapping ones are sent once
      and more than :data:`MAX_RANGES` are ignored (see :func:`byte_ranges`).
      None of them in the file: 416. HEAD describes the whole file (a 200).
    * HEAD gets the headers only. A client that leaves stops the reading
      (:func:`send_body`).

    **A file the client names** is served with ``root``: ``path`` is then a name
    under that directory, and anything that would leave it answers 404, like a
    missing file (:func:`~asgilab.files.safe_join` decides; symlinks out of
    ``root`` are refused unless ``allow_symlink_escape=True``):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from asgilab import App, Client
    >>> public = Path(tempfile.mkdtemp())
    >>> _ = (public / "hello.txt").write_text("hi")
    >>> app = App()
    >>> @app.get("/files/{name:path}")
    ... async def files(request, name: str):
    ...     return FileResponse(name, root=public)
    >>> urls = ["/files/hello.txt", "/files/..%2F..%2Fetc%2Fpasswd", "/files/%2Fetc%2Fpasswd"]
    >>> with Client(app) as client:
    ...     [client.get(url).status_code for url in urls]
    [200, 404, 404]

    Never ``FileResponse(os.path.join(public, name))``: ``name`` arrives decoded,
    ``../../etc/passwd`` or ``/etc/passwd``, and that line serves either
    (see :mod:`asgilab.files`).
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
        *,
        root: str | os.PathLike[str] | None = None,
        allow_symlink_escape: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.root = None if root is None else os.fspath(root)
        self.allow_symlink_escape = allow_symlink_escape
        self.filename = filename
        if media_type is None:
            media_type = _guess_media_type(filename or self.path)
        super().__init__(None, status_code, headers, media_type, background)
        # A caller's content-length cannot be right for every range: the file's is sent.
        self.raw_headers = [(n, v) for n, v in self.raw_headers if n != b"content-length"]
        if filename is not None:
            self.raw_headers.append((b"content-disposition", _attachment(filename).encode()))

    @staticmethod
    def _validators(st: os.stat_result) -> tuple[bytes, bytes]:
        """``last-modified`` and ``etag`` of the file's current version."""
        import hashlib
        from email.utils import formatdate

        etag_source = f"{st.st_mtime_ns}-{st.st_size}".encode()
        etag = '"' + hashlib.md5(etag_source, usedforsecurity=False).hexdigest() + '"'
        return formatdate(st.st_mtime, usegmt=True).encode(), etag.encode()

    def _open(self) -> tuple[BinaryIO, os.stat_result] | None:
        """The file, open, and what it is; None when there is no file to send (a 404).

        Disk work, so it runs in the thread pool; and all of it happens before the
        response starts, while a 404 can still be sent.
        """
        path: str | os.PathLike[str] = self.path
        if self.root is not None:
            try:
                path = safe_join(
                    self.root, self.path, allow_symlink_escape=self.allow_symlink_escape
                )
            except UnsafePath as exc:
                logger.debug("404 for %s", exc)  # the client learns nothing; the log, why
                return None
        try:
            # NOTE: opened, then looked at (fstat): what is checked is what is sent, even
            # if the name is swapped for another file in between.
            fd = os.open(path, _OPEN_FLAGS)
        except (OSError, ValueError):
            # Missing, or a path no file can have: data.txt/x, a name too long, a
            # directory it may not enter (OSError), a NUL or a lone surrogate in it
            # (ValueError). For the client, there is no such file.
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb"), st

    async def _read(self, file: BinaryIO, size: int) -> AsyncGenerator[bytes, None]:
        """The next ``size`` bytes of ``file``, a chunk at a time, read in the thread pool."""
        left = size
        while left > 0:
            chunk = await run_sync(file.read, min(self.chunk_size, left))
            if not chunk:
                # The file shrank while it was sent: the content-length is a promise
                # broken, and raising lets the server close the connection on it.
                raise FileTruncated(f"{self.path} ended {left} bytes short of its content-length")
            left -= len(chunk)
            yield chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened = await run_sync(self._open)
        if opened is None:
            await PlainTextResponse("Not Found", 404)(scope, receive, send)
            return
        file, st = opened
        try:
            if not await self._send(file, st, scope, receive, send):
                return
        finally:
            # NOTE: a read cancelled by a disconnect still runs in its thread; close()
            # waits for it (the file's lock), at most one chunk's read.
            file.close()
        if self.background is not None:
            await run_background(scope, self.background)

    async def _send(
        self, file: BinaryIO, st: os.stat_result, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Answer with the file (or parts, 304, 416); whether the file's answer was sent."""
        last_modified, etag = self._validators(st)
        headers = [*self.raw_headers, (b"last-modified", last_modified), (b"etag", etag)]
        asked = _request_fields(scope)
        status, method = self.status_code, scope.get("method")
        # Preconditions hold for the answer a GET or HEAD would get, and only a 2xx one
        # (RFC 9110, 13.2.1): a 404 page is not "not modified".
        if 200 <= status < 300 and method in ("GET", "HEAD"):
            none_match = asked.get(b"if-none-match")
            if (
                _none_match(b", ".join(none_match), etag)
                if none_match is not None  # it decides alone when present (RFC 9110, 13.2.2)
                else b"if-modified-since" in asked
                and not _modified_since(asked[b"if-modified-since"], st.st_mtime)
            ):
                kept = [(name, value) for name, value in headers if name not in _NOT_IN_304]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return False
        first, last = 0, st.st_size - 1
        if status == 200:
            headers.append((b"accept-ranges", b"bytes"))
            # Only GET has ranges (RFC 9110, 14.2): HEAD describes the whole file. Range is
            # no list, so two lines of it are an invalid request, ignored as a malformed
            # one is. If-Range holds the version the client has part of; another: send it all.
            ranges = asked.get(b"range")
            if (
                method == "GET"
                and ranges is not None
                and len(ranges) == 1
                and asked.get(b"if-range", [etag]) in ([etag], [last_modified])
            ):
                try:
                    wanted = byte_ranges(ranges[0].decode("latin-1"), st.st_size)
                except RangeNotSatisfiable:
                    refusal = {"content-range": f"bytes */{st.st_size}"}
                    await PlainTextResponse("Range Not Satisfiable", 416, refusal)(
                        scope, receive, send
                    )
                    return False
                if wanted is not None and len(wanted) > 1:
                    await self._send_parts(file, st.st_size, wanted, headers, receive, send)
                    return True
                if wanted is not None:
                    status, ((first, last),) = 206, wanted
                    content_range = f"bytes {first}-{last}/{st.st_size}"
                    headers.append((b"content-range", content_range.encode()))
        size = last - first + 1
        headers.append((b"content-length", b"%d" % size))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return True
        file.seek(first)  # no I/O: it moves the next read
        chunks = self._read(file, size)
        if size <= self.chunk_size:
            # PERF: one chunk, the common case: read, then sent in one message, with no
            # listener (two tasks) for a disconnect: once it is read, there is nothing to stop.
            await send({"type": "http.response.body", "body": b"".join([c async for c in chunks])})
        else:
            await send_body(chunks, receive, send)
        return True

    async def _send_parts(
        self,
        file: BinaryIO,
        file_size: int,
        ranges: list[tuple[int, int]],
        headers: list[tuple[bytes, bytes]],
        receive: Receive,
        send: Send,
    ) -> None:
        """A 206 of several ranges: one ``multipart/byteranges`` body (RFC 9110, 14.6).

        Each part has its own content-type and content-range, and the parts are
        separated by a random boundary, which no file will contain by chance.
        The whole length is known beforehand, so it is sent as a content-length.
        """
        import secrets

        boundary = secrets.token_hex(16).encode()
        media_type = b"application/octet-stream"
        for name, value in headers:
            if name == b"content-type":
                media_type = value
        parts = [
            (
                b"--%s\r\ncontent-type: %s\r\ncontent-range: bytes %d-%d/%d\r\n\r\n"
                % (boundary, media_type, first, last, file_size),
                first,
                last - first + 1,
            )
            for first, last in ranges
        ]
        end = b"--%s--\r\n" % boundary
        # Each part: its head, its bytes, then CRLF before the next delimiter.
        length = sum(len(head) + size + 2 for head, _, size in parts) + len(end)
        headers = [(name, value) for name, value in headers if name != b"content-type"]
        headers.append((b"content-type", b"multipart/byteranges; boundary=" + boundary))
        headers.append((b"content-length", b"%d" % length))
        await send({"type": "http.response.start", "status": 206, "headers": headers})

        async def body() -> AsyncGenerator[bytes, None]:
            for head, first, size in parts:
                yield head
                file.seek(first)
                async for chunk in self._read(file, size):
                    yield chunk
                yield b"\r\n"
            yield end

        await send_body(body(), receive, send)
