"""In-process requests: talk to an ASGI app through httpx, with no server and no socket.

httpx's ``ASGITransport`` turns an ``httpx.Request`` into an ASGI scope and calls
the app directly. :class:`Client` and :class:`AsyncClient` add what a real server
does and that transport does not:

- the **lifespan**: ``with Client(app)`` runs the app's startup once when the
  block starts and its shutdown when it ends, and hands the state the startup
  filled in to every request as ``scope["state"]`` (a shallow copy each time, as
  uvicorn does);
- a **trace** of every exchange: ``client.trace`` is the last request's scope and
  every ``receive()``/``send()`` message, in order, with time offsets (see
  :mod:`asgilab.trace`);
- **sync calls anywhere**: ``Client`` works in a script, in pytest, and inside a
  Jupyter cell whose event loop is already running.

Like a browser (and like ``httpx.Client``), a client keeps the cookies the app sets:
``client.cookies`` is one ``httpx.Cookies`` jar per client, for as long as the client
lives, and each request sends the cookies whose path and domain it matches.

>>> async def hello(scope, receive, send):
...     if scope["type"] != "http":
...         return  # no lifespan: a server (and this client) carries on without one
...     await send({"type": "http.response.start", "status": 200, "headers": []})
...     await send({"type": "http.response.body", "body": b"hello"})
>>> with Client(hello) as client:
...     client.get("/").text
'hello'
>>> client.trace
<Trace GET / -> 200, 2 messages>

What the in-process transport cannot show: httpx's ``ASGITransport`` buffers the
whole response. The status and headers reach you only once the app has finished,
and an endless stream (server-sent events, a long poll) never returns. To see
streaming as a browser does, serve the app for real with :func:`asgilab.serve`
(uvicorn on a free loopback port) and use ``httpx.stream`` against ``server.url``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterable
from types import TracebackType
from typing import Any, Literal, TypeAlias, TypeVar
from urllib.parse import unquote

import httpx

from .background import BackgroundRunner
from .errors import AsgilabError, InvalidArgument, InvalidArgumentType
from .trace import Trace
from .types import ASGIApp, Message, Scope

__all__ = ["ASGIError", "AsyncClient", "Client", "ClientInUse", "EventLoopError", "LifespanError"]

T = TypeVar("T")
LifespanMode = Literal["auto", "on", "off"]
# What httpx takes as cookies (its own alias, httpx._types.CookieTypes, is private).
CookieTypes: TypeAlias = httpx.Cookies | dict[str, str] | list[tuple[str, str]]


class LifespanError(AsgilabError, RuntimeError):
    """The app's lifespan startup or shutdown failed (or broke the lifespan protocol)."""


class ASGIError(AsgilabError, RuntimeError):
    """The app broke the ASGI protocol: no response, a body before the start, ..."""


class EventLoopError(AsgilabError, RuntimeError):
    """A sync :class:`Client` call cannot run on the event loop it finds."""


class ClientInUse(AsgilabError, RuntimeError):
    """The client is already inside a ``with`` block: one block at a time."""


# --- the server side of the lifespan protocol ----------------------------------------


class _Lifespan:
    """Drive an app's lifespan as a server does: startup, wait, shutdown.

    The app runs as a task for the whole ``with`` block, parked in ``receive()``
    between startup and shutdown. ``mode`` follows uvicorn's ``--lifespan``:
    ``"auto"`` treats an app that raises (or returns) before completing startup as
    one that does not speak lifespan, and carries on; ``"on"`` makes that an error.
    """

    def __init__(self, app: ASGIApp, state: dict[str, Any], mode: LifespanMode) -> None:
        self.app = app
        self.mode = mode
        self.trace = Trace(
            {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
        )
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        # None is put here when the app's task ends, so a wait never outlives the app.
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _receive(self) -> Message:
        return await self._to_app.get()

    async def _send(self, message: Message) -> None:
        expected = {
            "lifespan.startup.complete",
            "lifespan.startup.failed",
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        }
        if message.get("type") not in expected:
            # Raised inside the app, as uvicorn does: most often an HTTP-only app
            # that answers every scope with http.response.start.
            raise LifespanError(
                f"unexpected lifespan message {message.get('type')!r} "
                f"(expected one of {', '.join(sorted(expected))})"
            )
        await self._from_app.put(message)

    async def _exchange(self, message: Message) -> Message | None:
        """Hand the app ``message``; return its answer, or None if the app ended instead."""
        await self._to_app.put(message)
        return await self._from_app.get()

    async def _app_result(self) -> BaseException | None:
        """Wait for the app's task to end; return what it raised, if anything."""
        assert self._task is not None  # internal invariant: only called after startup began
        task, self._task = self._task, None
        await asyncio.wait([task])
        return None if task.cancelled() else task.exception()

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer."""
        self._task = asyncio.create_task(self.trace.run(self.app, self._receive, self._send))
        self._task.add_done_callback(lambda _: self._from_app.put_nowait(None))
        answer = await self._exchange({"type": "lifespan.startup"})
        if answer is None:
            error = await self._app_result()
            # NOTE: in "auto" mode an app that does not speak lifespan (it raises or
            # returns at once) simply has no startup, as under `uvicorn --lifespan auto`.
            if self.mode == "on":
                cause = f"raised {error!r}" if error else "returned"
                raise LifespanError(
                    f"the app's lifespan {cause} before startup completed "
                    "(pass lifespan='off' to skip it)"
                ) from error
        elif answer["type"] != "lifespan.startup.complete":
            error = await self._app_result()
            raise LifespanError(f"lifespan startup failed: {answer.get('message', '')}") from error

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown``, wait for the answer and for the app to return."""
        if self._task is None:
            return  # the app has no lifespan
        answer = await self._exchange({"type": "lifespan.shutdown"})
        error = await self._app_result()
        if answer is not None and answer["type"] != "lifespan.shutdown.complete":
            raise LifespanError(f"lifespan shutdown failed: {answer.get('message', '')}") from error
        if error is not None:
            raise LifespanError(f"the app's lifespan raised {error!r} during shutdown") from error
        if answer is None:
            raise LifespanError("the app's lifespan returned before shutdown completed")


# --- the server side of an HTTP request ----------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _InProcessTransport(httpx.AsyncBaseTransport):
    """What a server does with one request, minus the socket: httpx hands us the request.

    Modelled on httpx's own ``ASGITransport`` (scope as a literal dict,
    ``receive``/``send`` as closures) but closer to a real server (uvicorn): the
    scope carries ``state``, the server's real port and a ``path`` decoded once
    from ``raw_path``; a body known in full arrives in one ``http.request``
    message, as a server delivers a request it has read; protocol mistakes raise
    :class:`ASGIError` with what went wrong. Like httpx's transport it buffers
    the whole response before returning it.
    """

    def __init__(
        self,
        owner: AsyncClient,
        *,
        raise_app_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
    ) -> None:
        self.owner = owner
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        owner = self.owner
        url = request.url
        raw_path = url.raw_path.partition(b"?")[0]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": (url.host, url.port or _DEFAULT_PORTS.get(url.scheme)),
            "client": self.client,
            "scheme": url.scheme,
            "method": request.method,
            "root_path": self.root_path,
            # Decoded once, from the bytes on the wire, as uvicorn does.
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": url.query,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            # A server hands each request a shallow copy of the lifespan state, so one
            # request cannot add keys another sees.
            "state": owner.state.copy(),
        }
        trace = owner.trace = Trace(scope)

        # PERF: a body httpx already holds in memory is sent as one message; only a
        # streamed body needs an iterator.
        stream = request.stream
        whole_body: bytes | None = None
        chunks: AsyncIterator[bytes] | None = None
        if isinstance(stream, httpx.ByteStream):
            # aread(), not .content: a request httpx rebuilt to follow a redirect is unread.
            whole_body = await request.aread()
        elif isinstance(stream, httpx.AsyncByteStream):
            chunks = aiter(stream)
        else:
            raise InvalidArgumentType(
                "AsyncClient streams only async iterables of bytes as `content` "
                "(the sync Client also takes plain iterables)"
            )
        request_complete = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        body: list[bytes] = []
        response_complete = False
        finished: asyncio.Event | None = None  # made only if the app waits for a disconnect
        is_head = request.method == "HEAD"

        async def receive() -> Message:
            nonlocal request_complete, finished
            if not request_complete:
                if chunks is None:
                    request_complete = True
                    return {"type": "http.request", "body": whole_body, "more_body": False}
                async for chunk in chunks:
                    if chunk:
                        return {"type": "http.request", "body": chunk, "more_body": True}
                request_complete = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # Nothing more to read: a server answers once the client goes away, which
            # an in-process client does as soon as it has the whole response.
            if not response_complete:
                finished = finished or asyncio.Event()
                await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, response_complete
            kind = message["type"]
            if kind == "http.response.body":
                if status is None:
                    raise ASGIError("the app sent http.response.body before http.response.start")
                if response_complete:
                    raise ASGIError(
                        "the app sent http.response.body after the response was complete "
                        "(an earlier body message had more_body=False)"
                    )
                chunk = message.get("body", b"")
                if chunk and not is_head:  # a server sends no body to HEAD
                    body.append(chunk)
                if not message.get("more_body", False):
                    response_complete = True
                    if finished is not None:
                        finished.set()
            elif kind == "http.response.start":
                if status is not None:
                    raise ASGIError("the app sent http.response.start twice")
                status = message["status"]
                headers = list(message.get("headers", []))
            else:
                raise ASGIError(
                    f"unexpected message {kind!r} from the app "
                    "(expected 'http.response.start' or 'http.response.body')"
                )

        try:
            await trace.run(owner.app, receive, send)
            if not response_complete:
                raise ASGIError(
                    "the app returned without sending a response"
                    if status is None
                    else "the app returned before finishing its response "
                    "(no http.response.body with more_body=False)"
                )
        except Exception:
            if self.raise_app_exceptions:
                raise
            if status is None:  # what uvicorn answers when the app fails before responding
                status = 500
                headers = [(b"content-type", b"text/plain; charset=utf-8")]
                body[:] = [b"Internal Server Error"]
        finally:
            if finished is not None:
                finished.set()
        assert status is not None  # internal invariant: set by the app or by the 500 above
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(b"".join(body)))


# --- the clients ----------------------------------------------------------------------


class AsyncClient:
    """``await`` requests to an ASGI app in-process; the twin of :class:`Client`.

    ``async with AsyncClient(app) as client`` runs the lifespan; every request
    method returns an ``httpx.Response`` and takes all of httpx's keyword arguments.
    Keyword arguments the constructor does not name (``headers``, ``follow_redirects``,
    ...) go to ``httpx.AsyncClient``. ``cookies`` fills the client's jar,
    :attr:`cookies`, which keeps what the app sets (see :attr:`Client.cookies`).

    The response is buffered: its status and headers arrive only when the app has
    finished, and an endless stream never returns (httpx's ASGI transport does the
    same). Use :func:`asgilab.serve` to watch a response stream.

    ``client.trace`` is the last request's :class:`~asgilab.trace.Trace` (with
    concurrent requests, the last one *started*); ``client.lifespan_trace`` the
    lifespan exchange of the current or last ``with`` block.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str = "http://testserver",
        lifespan: LifespanMode = "auto",
        raise_app_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
        cookies: CookieTypes | None = None,
        **httpx_options: Any,
    ) -> None:
        if lifespan not in ("auto", "on", "off"):
            raise InvalidArgument(f"lifespan={lifespan!r}: use 'auto', 'on' or 'off'")
        self.app = app
        self.trace: Trace | None = None
        self.lifespan_trace: Trace | None = None
        #: What the lifespan startup stored in ``scope["state"]``; each request gets a copy.
        self.state: dict[str, Any] = {}
        self._lifespan_mode: LifespanMode = lifespan
        self._lifespan: _Lifespan | None = None
        transport = _InProcessTransport(
            self, raise_app_exceptions=raise_app_exceptions, root_path=root_path, client=client
        )
        # NOTE: one httpx client for the client's whole life: its jar is what keeps the
        # cookies from one request to the next (httpx copies a `cookies` argument into it).
        self._httpx = httpx.AsyncClient(
            transport=transport, base_url=base_url, cookies=cookies, **httpx_options
        )

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookie jar, as a browser keeps it; see :attr:`Client.cookies`."""
        return self._httpx.cookies

    @cookies.setter
    def cookies(self, cookies: CookieTypes) -> None:
        self._httpx.cookies = cookies  # a new jar, as httpx does

    async def __aenter__(self) -> AsyncClient:
        if self._lifespan is not None:
            raise ClientInUse("this client is already inside a `with` block")
        self.state = {}
        if self._lifespan_mode != "off":
            lifespan = _Lifespan(self.app, self.state, self._lifespan_mode)
            self.lifespan_trace = lifespan.trace
            await lifespan.startup()
            self._lifespan = lifespan
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lifespan, self._lifespan = self._lifespan, None
        if lifespan is not None:
            await lifespan.shutdown()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request through the app and return the (fully buffered) response."""
        return await self._httpx.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """``GET url``; see :meth:`request`."""
        return await self._httpx.request("GET", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> httpx.Response:
        """``HEAD url``; see :meth:`request`."""
        return await self._httpx.request("HEAD", url, **kwargs)

    async def options(self, url: str, **kwargs: Any) -> httpx.Response:
        """``OPTIONS url``; see :meth:`request`."""
        return await self._httpx.request("OPTIONS", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """``POST url``; see :meth:`request`."""
        return await self._httpx.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PUT url``; see :meth:`request`."""
        return await self._httpx.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PATCH url``; see :meth:`request`."""
        return await self._httpx.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """``DELETE url``; see :meth:`request`."""
        return await self._httpx.request("DELETE", url, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.app!r}, base_url={str(self._httpx.base_url)!r})"


class Client:
    """Requests to an ASGI app in-process, as plain calls: scripts, tests, notebook cells.

    Same arguments as :class:`AsyncClient`, whose work it does. Each call runs the
    request to completion on an event loop:

    - no loop running (a script, a test): inside ``with``, the block's own loop
      (so the lifespan task lives between requests); outside, ``asyncio.run``;
    - a loop already running in this thread (a Jupyter cell): that loop, made
      re-entrant with ``nest_asyncio2`` the first time it is needed (never on
      import). uvloop's loop cannot be made re-entrant: there, ``await`` an
      :class:`AsyncClient` instead.

    httpx's ASGI transport buffers the whole response: headers arrive only when the
    app finishes, and an endless stream never returns. Use :func:`asgilab.serve`
    to watch a response stream.
    """

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        self._async = AsyncClient(app, **options)
        # The `with` block's own loop, when none was running: the lifespan task waits
        # on it between requests.
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def app(self) -> ASGIApp:
        """The ASGI app the requests go to."""
        return self._async.app

    @property
    def trace(self) -> Trace | None:
        """The last exchange: scope and every message (see :class:`AsyncClient`)."""
        return self._async.trace

    @property
    def lifespan_trace(self) -> Trace | None:
        """The lifespan exchange of the current or last ``with`` block."""
        return self._async.lifespan_trace

    @property
    def state(self) -> dict[str, Any]:
        """The lifespan state; each request gets a shallow copy as ``scope["state"]``."""
        return self._async.state

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookies the app has set and the client sends back, as a browser keeps them.

        One ``httpx.Cookies`` jar per client, kept for the client's whole life (across
        ``with`` blocks too: restarting the app's lifespan is a server restart, not a
        new browser). Each request sends the cookies whose path and domain it matches;
        ``Max-Age=0`` or a past ``Expires`` removes one, as does ``client.cookies.clear()``.
        ``Client(app, cookies={...})`` starts with some; ``client.cookies = {...}``
        replaces them all.

        >>> async def counter(scope, receive, send):
        ...     if scope["type"] != "http":
        ...         return
        ...     sent = dict(scope["headers"]).get(b"cookie", b"none")
        ...     start = {"type": "http.response.start", "status": 200,
        ...              "headers": [(b"set-cookie", b"seen=yes; Path=/")]}
        ...     await send(start)
        ...     await send({"type": "http.response.body", "body": sent})
        >>> with Client(counter) as client:
        ...     client.get("/").text, client.get("/").text, dict(client.cookies)
        ('none', 'seen=yes', {'seen': 'yes'})

        What httpx and Python's cookie jar do, this client does too: a per-request
        ``cookies=`` argument is sent with that request only, and deprecated by httpx
        0.28 (set ``client.cookies`` instead); a ``Domain`` naming a host without a dot
        (``Domain=testserver``) is kept but never sent back: to test ``Domain``
        cookies, give the client a dotted ``base_url`` (``http://example.com``).
        """
        return self._async.cookies

    @cookies.setter
    def cookies(self, cookies: CookieTypes) -> None:
        self._async.cookies = cookies

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        running = _running_loop()
        if self._loop is not None:
            if running is not None:
                coro.close()
                raise EventLoopError(
                    "this Client's `with` block started with no event loop running, so its "
                    "lifespan lives on its own loop; it cannot be used from inside a running "
                    "loop: enter the `with` block there instead, or use AsyncClient"
                )
            # PERF: run_until_complete, not asyncio.Runner.run, which swaps the SIGINT
            # handler on every call, a cost a request through httpx would feel. Each
            # request runs in a copy of the caller's context, as a server's would.
            return self._loop.run_until_complete(coro)
        if running is None:
            return asyncio.run(self._then_background(coro))
        return _run_nested(running, coro)

    async def _then_background(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return await coro
        finally:
            await self._background_done()

    async def _background_done(self) -> None:
        """Wait for the background work the requests started, as the App's lifespan
        shutdown would: the loop is about to end, which would cancel it. Needed outside
        ``with`` and with ``lifespan="off"``, where no shutdown drains it."""
        background = getattr(self.app, "background", None)
        if isinstance(background, BackgroundRunner) and background.pending:
            await background.drain(getattr(self.app, "shutdown_timeout", 30.0))

    def __enter__(self) -> Client:
        if _running_loop() is None:
            self._loop = asyncio.new_event_loop()
        try:
            self._run(self._async.__aenter__())
        except BaseException:
            self._close_loop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._run(self._async.__aexit__(exc_type, exc, tb))
            if self._loop is not None:
                self._run(self._background_done())
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        """Close the block's own loop as ``asyncio.run`` does: cancel, drain, close."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            leftover = asyncio.all_tasks(loop)  # e.g. a request cut short by Ctrl-C
            for task in leftover:
                task.cancel()
            if leftover:
                loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request through the app and return the (fully buffered) response.

        ``content`` may be a plain iterator of bytes: it is sent chunk by chunk
        (each chunk one ``http.request`` message with ``more_body=True``).
        """
        content = kwargs.get("content")
        if isinstance(content, Iterable) and not isinstance(content, str | bytes | bytearray):
            # httpx's async client only streams async iterables; a sync caller has sync ones.
            kwargs["content"] = _aiter(content)
        return self._run(self._async.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """``GET url``; see :meth:`request`."""
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        """``HEAD url``; see :meth:`request`."""
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> httpx.Response:
        """``OPTIONS url``; see :meth:`request`."""
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """``POST url``; see :meth:`request`."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PUT url``; see :meth:`request`."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PATCH url``; see :meth:`request`."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """``DELETE url``; see :meth:`request`."""
        return self.request("DELETE", url, **kwargs)

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncClient(", "Client(", 1)


# --- running a coroutine from sync code -----------------------------------------------


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _run_nested(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on ``loop``, which is running further up this thread's stack."""
    if not isinstance(loop, asyncio.BaseEventLoop):
        coro.close()
        kind = f"{type(loop).__module__}.{type(loop).__qualname__}"
        raise EventLoopError(
            f"cannot make a blocking request inside the running {kind} event loop: "
            "nest_asyncio2 can only re-enter asyncio's own loops (uvloop's cannot be patched); "
            "use `await asgilab.AsyncClient(app).get(...)` instead"
        )
    if not getattr(loop, "_nest_patched", False):
        # NOTE: nest_asyncio2, not the archived nest_asyncio: with ipykernel 7 the
        # latter hangs JupyterLab's Run All once a nested run takes a moment.
        import nest_asyncio2  # type: ignore[import-untyped]

        nest_asyncio2.apply(loop)
    return loop.run_until_complete(coro)


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
