"""The Request: an HTTP request as a handler sees it, computed only when asked.

An ASGI server gives the application a ``scope`` dict and a ``receive``
callable. :class:`Request` wraps the two and builds nothing up front: headers,
query, cookies and the URL are parsed on first access and cached. A handler that
looks only at ``request.path_params`` pays for nothing else -- this laziness is
most of what keeps asgilab's per-request cost low.

The body arrives as a series of ``http.request`` messages. It can be consumed
once as a stream (``async for chunk in request.stream()``) or read whole, any
number of times (``await request.body()``, ``json()``, ``form()``). Both stop at
``max_body_size``: a ``content-length`` above it answers 413 before a byte is
read, and a body that grows past it answers 413 without reading the rest. A
form is read within ``form_limits`` too (files, fields, bytes per field: see
:mod:`asgilab.forms`).

A plain ``def`` handler runs in a worker thread, where nothing can be awaited: it
reads the body with the blocking twins ``request.read_body()``, ``read_json()`` and
``read_form()``. Each hands the async reader to the event loop the request belongs
to and waits for it, so the loop goes on serving other requests meanwhile and the
limits are the same. On the loop's own thread they refuse (:class:`BlockingRead`),
naming the ``await`` to write instead, rather than wait for a loop they would stop.

>>> scope = {"type": "http", "method": "GET", "path": "/users/7",
...          "query_string": b"tag=a&tag=b", "headers": [(b"host", b"example.com")]}
>>> request = Request(scope)
>>> request.method, request.query.getlist("tag"), request.headers["Host"]
('GET', ['a', 'b'], 'example.com')
>>> str(request.url)
'http://example.com/users/7?tag=a&tag=b'
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from .background import BackgroundRunner, BackgroundTasks, caller_loop
from .converters import finite_float
from .datastructures import URL, Address, FormData, Headers, QueryParams, State
from .errors import AsgilabError, BodyConsumed, ClientDisconnect, HTTPException
from .forms import DEFAULT_FORM_LIMITS, FormLimits, parse_multipart, parse_urlencoded
from .lifespan import NOT_RUNNING
from .types import Message, Receive, Scope

if TYPE_CHECKING:
    from .routes import Route

__all__ = ["DEFAULT_MAX_BODY_SIZE", "BlockingRead", "BodyConsumed", "Request", "parse_cookies"]

T = TypeVar("T")

DEFAULT_MAX_BODY_SIZE = 1024 * 1024  # 1 MiB, per App, overridable per route


class _NotJSON(AsgilabError, ValueError):
    """NaN or Infinity: Python's json reads them, JSON (RFC 8259) has no such values,
    and the App could not send them back (JSONResponse refuses them)."""


def _refuse_constant(constant: str) -> Any:
    raise _NotJSON(f"{constant} is not a JSON value")


def _finite_float(text: str) -> float:
    # JSON allows 1e309, which overflows a float to inf: as unsendable as Infinity.
    try:
        return finite_float(text)
    except ValueError as exc:
        raise _NotJSON(str(exc)) from None


_json_decoder = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


class BlockingRead(AsgilabError, RuntimeError):
    """A blocking body read (``request.read_body()``...) where it cannot wait: on the event
    loop's own thread, which it would stop, or in a thread asgilab did not start."""


class _RequestState(State):
    """``request.state``: a :class:`State` whose error for a missing key says when the
    app's lifespan, which should have put it there, is not running."""

    __slots__ = ("_app",)

    def __init__(self, state: dict[str, Any], app: Any) -> None:
        # PERF: one per access to request.state; State's own __setattr__ writes to the dict.
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_app", app)

    def _missing(self, key: str) -> str:
        app = self._app
        background = getattr(app, "background", None)
        if getattr(app, "lifespan", None) is not None and not getattr(background, "started", 1):
            return f"request.state has no {key!r}: {NOT_RUNNING}"
        return super()._missing(key)


async def _no_receive() -> Message:
    raise AsgilabError("this Request was built without a receive channel, so it has no body")


# What Response.set_cookie (http.cookies) writes inside a quoted value: \ooo for a byte
# cookies may not hold (octal), \" and \\ for the quote and the backslash.
_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7]{2})|(.))")


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently, as browsers send it (no quoting rules enforced).

    A quoted value is unescaped as ``set_cookie`` escaped it, so values read back whole.

    >>> parse_cookies('session=abc; theme="dark"; flag; name="Zo\\353"')
    {'session': 'abc', 'theme': 'dark', '': 'flag', 'name': 'Zoë'}
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        if not sep:
            key, value = "", key  # a bare value, as some browsers send
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _COOKIE_ESCAPE.sub(lambda m: chr(int(m[1], 8)) if m[1] else m[2], value[1:-1])
        if key or value:
            cookies[key] = value
    return cookies


class Request:
    """One HTTP request: ``Request(scope, receive)``.

    The App builds it with the matched route's ``path_params`` and body limit; a
    route that sets form limits of its own hands them over as ``form_limits``.
    Function middleware receives one too, over the same scope, so what a middleware
    stores in ``request.state`` the handler sees.
    """

    # PERF: slots, and caches filled on first access: __init__ parses nothing.
    __slots__ = (
        "_background",
        "_body",
        "_cookies",
        "_form",
        "_headers",
        "_query",
        "_received",
        "_stream_consumed",
        "_url",
        "form_limits",
        "max_body_size",
        "receive",
        "scope",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive = _no_receive,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        form_limits: FormLimits = DEFAULT_FORM_LIMITS,
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.max_body_size = max_body_size
        self.form_limits = form_limits
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._url: URL | None = None
        self._body: bytes | None = None
        self._form: FormData | None = None
        self._stream_consumed = False
        # Body bytes received so far, checked against max_body_size.
        self._received = 0
        self._background: BackgroundTasks | None = None

    # -- what the request line and headers say ------------------------------------

    @property
    def method(self) -> str:
        """``GET``, ``POST``, ..."""
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def path(self) -> str:
        """The decoded path (``/users/ada lovelace``), as the server put it in the scope."""
        return self.scope["path"]  # type: ignore[no-any-return]

    @property
    def path_params(self) -> dict[str, Any]:
        """The route's converted parameters: ``{"user_id": 42}``."""
        params = self.scope.get("path_params")
        if isinstance(params, dict):
            return params
        # A static route's match shares one read-only empty mapping: hand out a dict,
        # which a handler may return or put in its JSON, as with any other route.
        return dict(params) if params is not None else {}

    @property
    def root_path(self) -> str:
        """Where the app is mounted (``/api`` behind a proxy), else ``""``."""
        return self.scope.get("root_path", "")  # type: ignore[no-any-return]

    @property
    def url(self) -> URL:
        """The full URL the client asked for, with scheme, host, root path and query."""
        if self._url is None:
            self._url = URL.from_scope(self.scope)
        return self._url

    @property
    def headers(self) -> Headers:
        """Case-insensitive request headers; repeated ones kept (``getlist``)."""
        if self._headers is None:
            self._headers = Headers(self.scope["headers"])
        return self._headers

    @property
    def query(self) -> QueryParams:
        """The query, multi-valued; ``query.get("page", 1, type=int)`` answers 400 on junk."""
        if self._query is None:
            self._query = QueryParams(self.scope.get("query_string", b""))
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent by the client (every ``Cookie`` header, merged)."""
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for value in self.headers.getlist("cookie"):
                cookies.update(parse_cookies(value))
            self._cookies = cookies
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The peer's ``Address(host, port)``, when the server knows it."""
        client = self.scope.get("client")
        return Address(client[0], client[1]) if client else None

    @property
    def state(self) -> State:
        """Per-request state: starts as a copy of what the lifespan yielded."""
        state = self.scope.get("state")
        if state is None:
            state = self.scope["state"] = {}
        return _RequestState(state, self.scope.get("app"))

    @property
    def route(self) -> Route | None:
        """The :class:`~asgilab.routes.Route` that matched (its ``path``, ``name``,
        ``extras``), or None before routing and when none did (a 404, say).

        The App puts it in ``scope["route"]`` before any middleware runs, so a
        middleware can read it too (to log ``route.path``, the pattern, not the path).
        """
        return self.scope.get("route")

    @property
    def app(self) -> Any:
        """The App serving this request."""
        return self.scope.get("app")

    @property
    def background(self) -> BackgroundTasks:
        """Tasks to run after the response is sent: ``request.background.add(fn, arg)``.

        They run only if the handler returns: when it raises (a 409 for an email already
        registered), what it queued for after a success, such as a welcome mail, is dropped.
        When the App's background queue is full, ``add`` raises
        :class:`~asgilab.background.BackgroundQueueFull`, which answers 503 with
        ``Retry-After`` (see :mod:`asgilab.background`).
        """
        if self._background is None:
            runner = getattr(self.scope.get("app"), "background", None)
            if not isinstance(runner, BackgroundRunner):
                runner = None  # no asgilab App: nothing to be full
            self._background = BackgroundTasks(runner=runner)
        return self._background

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of route ``name`` with ``params``, under this request's root path."""
        path: str = self.scope["app"].url_for(name, **params)
        return quote(self.root_path) + path  # root_path is decoded; a URL path is not

    # -- the body --------------------------------------------------------------------

    def _start_reading(self) -> None:
        """Claim the body for its one reader, refusing a declared length over the limit."""
        if self._stream_consumed:
            raise BodyConsumed(
                "the request body was already consumed by stream(); "
                "call `await request.body()` first to read it more than once"
            )
        self._stream_consumed = True
        limit = self.max_body_size
        if limit is None:
            return
        length = None
        for name, value in self.scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                return  # chunked framing overrides content-length (RFC 9112, 6.3)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise HTTPException(400, "content-length is not a number") from None
            if declared > limit:
                raise _too_large(limit)

    def _chunk_of(self, message: Message) -> bytes:
        """The body bytes one ``receive()`` message carries; 413 once past the limit.

        A plain function, not a coroutine wrapping ``receive()``: the readers below
        await ``receive()`` themselves, one coroutine fewer per request.
        """
        if message["type"] == "http.disconnect":
            # The client left mid-body; nobody is there to answer.
            raise ClientDisconnect("the client disconnected while sending the body")
        chunk = message.get("body", b"")
        if not isinstance(chunk, bytes):
            # ASGI says bytes, but a middleware may buffer in a bytearray or memoryview:
            # take any bytes-like body, and hand out bytes whichever way it is read.
            chunk = bytes(chunk)
        if chunk:
            self._received += len(chunk)
            limit = self.max_body_size
            if limit is not None and self._received > limit:
                raise _too_large(limit)
        return chunk

    async def stream(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk as it arrives; can be consumed once.

        Past ``max_body_size`` it raises ``HTTPException(413)`` and reads no further.
        After ``body()`` it replays the cached bytes. Nothing is read until the
        first chunk is asked for.
        """
        if self._body is not None:  # read whole already: replay the cache
            if self._body:
                yield self._body
            return
        self._start_reading()
        more = True
        while more:
            message = await self.receive()
            chunk = self._chunk_of(message)
            more = message.get("more_body", False)
            if chunk:
                yield chunk

    async def body(self) -> bytes:
        """The whole body, read once and cached (the same limit as :meth:`stream`)."""
        if self._body is not None:
            return self._body
        # PERF: no async generator per request, and most bodies arrive in one
        # message: that one is kept as is, a list and a join only when more follow.
        self._start_reading()
        message = await self.receive()
        body = self._chunk_of(message)
        if message.get("more_body", False):
            chunks = [body]
            while message.get("more_body", False):
                message = await self.receive()
                chunks.append(self._chunk_of(message))
            body = b"".join(chunks)
        self._body = body
        return body

    async def json(self) -> Any:
        """The body parsed as JSON; invalid JSON answers 400 with a short reason."""
        body = await self.body()
        try:
            # PERF: HTTP JSON is UTF-8 (RFC 8259); decoding it ourselves skips json.loads'
            # encoding detection.
            return _json_decoder.decode(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise HTTPException(400, "invalid JSON: the body is not UTF-8") from None
        except RecursionError:
            raise HTTPException(400, "invalid JSON: nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise HTTPException(
                400, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        except _NotJSON as exc:
            raise HTTPException(400, f"invalid JSON: {exc}") from None
        except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
            raise HTTPException(400, "invalid JSON: a number has too many digits") from None

    async def form(
        self,
        *,
        max_files: int | None = None,
        max_fields: int | None = None,
        max_part_size: int | None = None,
    ) -> FormData:
        """The body as a form: ``application/x-www-form-urlencoded`` or ``multipart/form-data``.

        Multipart is parsed by python-multipart as it streams in (files spool to
        disk past 1 MiB); the body limit applies to both, and so do ``form_limits``
        (1,000 files, 1,000 fields, 1 MiB a field unless the route set others), which
        the arguments override for this call. The first call parses; later ones
        return the same form, whatever their limits.
        """
        if self._form is not None:
            return self._form
        limits = self.form_limits.override(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )
        content_type = self.headers.get("content-type", "")
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type == "multipart/form-data":
            self._form = await parse_multipart(self.stream(), content_type, limits)
        elif media_type in ("application/x-www-form-urlencoded", ""):
            self._form = parse_urlencoded(await self.body(), limits)
        else:
            raise HTTPException(
                415,
                f"cannot read a form from content-type {media_type!r}; send "
                "application/x-www-form-urlencoded or multipart/form-data",
            )
        return self._form

    # -- the body, from a plain def handler's thread -------------------------------------

    def read_body(self) -> bytes:
        """:meth:`body` for a plain ``def`` handler: blocks its thread, not the event loop.

        >>> from asgilab import App, Client
        >>> app = App()
        >>> @app.post("/echo")
        ... def echo(request):           # plain def: runs in the thread pool
        ...     return request.read_body()
        >>> Client(app).post("/echo", content=b"hello").content
        b'hello'
        """
        return self._from_thread("body", self.body)

    def read_json(self) -> Any:
        """:meth:`json` for a plain ``def`` handler (400 on invalid JSON, 413 past the limit)."""
        return self._from_thread("json", self.json)

    def read_form(
        self,
        *,
        max_files: int | None = None,
        max_fields: int | None = None,
        max_part_size: int | None = None,
    ) -> FormData:
        """:meth:`form` for a plain ``def`` handler. An upload's contents are read there
        through its file, ``upload.file.read()``, not ``await upload.read()``."""

        def form() -> Coroutine[Any, Any, FormData]:
            return self.form(
                max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
            )

        return self._from_thread("form", form)

    def _from_thread(self, name: str, read: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``read()`` on the loop that handed this thread its work; wait for its result.

        The coroutine is made only once it can run, so a refusal leaves none unawaited.
        """
        import asyncio  # a loop is up by now (see background.py's note on imports)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop on this thread: the one way this can wait safely
        else:
            raise BlockingRead(
                f"request.read_{name}() blocks until the body arrives, and this thread runs "
                f"the event loop that must receive it: here, use `await request.{name}()`"
            )
        loop = caller_loop()
        if loop is None or loop.is_closed():
            raise BlockingRead(
                f"request.read_{name}() reads the body through the event loop that handed "
                "this thread its work, and no asgilab thread pool did: call it from a plain "
                f"def handler, or use `await request.{name}()` on the request's loop"
            )
        # NOTE: the reader runs as a task on the loop, which goes on serving other requests;
        # what it raises (a 413, a 400, a disconnect) is raised here, in the handler.
        return asyncio.run_coroutine_threadsafe(read(), loop).result()

    async def close(self) -> None:
        """Release uploaded files (the App calls this once the response is sent)."""
        if self._form is not None:
            await self._form.close()

    def __repr__(self) -> str:
        return f"Request(method={self.method!r}, path={self.path!r})"


def _too_large(limit: int) -> HTTPException:
    # connection: close -- the rest of the body is never read, so the connection
    # cannot carry another request; the server closes it after this response.
    return HTTPException(
        413,
        f"request body larger than the limit of {limit} bytes",
        headers={"connection": "close"},
    )
