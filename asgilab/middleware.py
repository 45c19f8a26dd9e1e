"""Middleware: code that wraps every request, as layers around the App.

Two kinds, one stack:

* **Pure ASGI middleware**, the Starlette convention: a class whose
  ``__init__(app, **options)`` receives the next layer, and whose
  ``async __call__(scope, receive, send)`` does its work and calls it. Register it
  with ``app.add_middleware(cls, **options)``; Starlette's own middleware
  (``GZipMiddleware``, ``CORSMiddleware``, ``TrustedHostMiddleware``...) works as is.
* **Function middleware**, ``@app.middleware`` on
  ``async def mw(request, call_next) -> Response``: ``call_next(request)`` runs the
  rest of the stack and returns its response (headers editable, body still
  streaming), so the function can act before and after. A body it reads with
  ``body()``, ``json()`` or an urlencoded ``form()`` is kept and reaches the handler
  again; one it streams (``stream()``, a multipart ``form()``) is gone, and a handler
  that then reads it gets :class:`~asgilab.request.BodyConsumed` (a 500), not a hang.

**Order: the last one added is the outermost.** It sees the request first and the
response last::

    app.add_middleware(A)   # innermost: request reaches A last
    app.add_middleware(B)   # outermost: request reaches B first
    # request -> B -> A -> route handler -> A -> B -> client

**Adding again replaces.** A layer added again (a re-run notebook cell) takes the
place of the one before instead of stacking a second copy: the same function for
``@app.middleware``; for ``add_middleware``, the same class with the same options,
or the class the re-run defined again, with its new options (see
:meth:`Middleware.replaces`).

**The stack is built when a layer is added**, with the App's routing as its innermost
app, and built anew by each ``add_middleware``, even while the app serves: the next
request gets the new stack, and a request already in flight finishes with the one it
started with. A request passes through each layer once, and through the App's own
entry once: the innermost layer calls the routing, not the App again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import AsgilabError, BodyConsumed, ClientDisconnect
from .request import DEFAULT_MAX_BODY_SIZE, Request
from .responses import Response
from .router import redefines
from .types import ASGIApp, Message, Receive, Scope, Send

# NOTE: asyncio is imported where a function middleware runs, not here (see background.py).
if TYPE_CHECKING:
    import asyncio

__all__ = ["CallNext", "FunctionMiddleware", "Middleware", "MiddlewareFunction", "build_stack"]

CallNext = Callable[[Request], Awaitable[Response]]
MiddlewareFunction = Callable[[Request, CallNext], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Middleware:
    """One registered layer: a class and the options to build it with.

    >>> class Tag:
    ...     def __init__(self, app, value="x"):
    ...         self.app, self.value = app, value
    >>> Middleware(Tag, {"value": "y"})
    Middleware(Tag, value='y')
    """

    cls: Callable[..., ASGIApp]
    options: dict[str, Any] = field(default_factory=dict)

    def build(self, app: ASGIApp) -> ASGIApp:
        """Wrap ``app`` in this layer."""
        return self.cls(app, **self.options)

    def replaces(self, old: Middleware) -> bool:
        """Whether this layer is ``old`` added again (a re-run cell), so takes its place.

        Function middleware: the same function, or the one a re-run cell defined again
        (see :func:`~asgilab.router.redefines`). Class middleware: the class a re-run
        cell defined again, whatever its options now; or the same class with the same
        options. The same class with other options is another layer: stacking one class
        twice (two CORS policies, two timing stamps) is legitimate, and nothing tells it
        apart from a re-run with edited options.

        >>> class Tag:
        ...     def __init__(self, app, value="x"): ...
        >>> Middleware(Tag, {"value": "a"}).replaces(Middleware(Tag, {"value": "a"}))
        True
        >>> Middleware(Tag, {"value": "b"}).replaces(Middleware(Tag, {"value": "a"}))
        False
        """
        if self.cls is FunctionMiddleware and old.cls is FunctionMiddleware:
            # One adapter class for every function: the function tells layers apart.
            return _same(old.options.get("dispatch"), self.options.get("dispatch"))
        if self.cls is not old.cls:
            return redefines(self.cls, old.cls)
        options = self.options
        return options.keys() == old.options.keys() and all(
            _same(value, options[key]) or value == options[key]
            for key, value in old.options.items()
        )

    def __repr__(self) -> str:
        name = getattr(self.cls, "__name__", repr(self.cls))
        options = "".join(f", {k}={_short(v)}" for k, v in self.options.items())
        return f"Middleware({name}{options})"


def _same(old: object, new: object) -> bool:
    """``new`` is ``old``, or ``old`` defined again by a re-run cell."""
    return old is new or (callable(old) and callable(new) and redefines(new, old))


def _short(value: object) -> str:
    """A function by its qualified name (``authenticate``), anything else by its repr."""
    if callable(value) and hasattr(value, "__qualname__"):
        return str(value.__qualname__)
    return repr(value)


def build_stack(app: ASGIApp, middleware: list[Middleware]) -> ASGIApp:
    """Wrap ``app`` so that ``middleware[-1]`` is outermost and ``middleware[0]`` innermost."""
    for layer in middleware:
        app = layer.build(app)
    return app


class FunctionMiddleware:
    """Adapts ``async def mw(request, call_next)`` to a pure ASGI layer."""

    def __init__(self, app: ASGIApp, dispatch: MiddlewareFunction) -> None:
        self.app = app
        self.dispatch = dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The body limit of the route the App matched (its handler's), else the App's.
        handler = getattr(scope.get("route"), "handler", None)
        if handler is not None:
            limit = handler.max_body_size
        else:
            limit = getattr(scope.get("app"), "max_body_size", DEFAULT_MAX_BODY_SIZE)
        request = Request(scope, receive, max_body_size=limit)
        inner: list[_InnerResponse] = []

        async def call_next(request: Request) -> Response:
            response = await _InnerResponse.start(self.app, request)
            inner.append(response)
            return response

        try:
            response = await self.dispatch(request, call_next)
            if not isinstance(response, Response):
                name = getattr(self.dispatch, "__qualname__", repr(self.dispatch))
                raise AsgilabError(
                    f"middleware {name} returned {type(response).__name__}, not a Response; "
                    "return the result of `await call_next(request)` or a Response"
                )
            await response(scope, receive, send)
        finally:
            # A middleware that answered with its own response leaves the inner one
            # unsent: stop it rather than leave it blocked on a full queue.
            for pending in inner:
                pending.cancel()
            await request.close()  # the files of a form the middleware read


class _InnerResponse(Response):
    """What ``call_next`` returns: the inner layers' response, its body still streaming.

    The inner app runs in its own task and hands its messages over a small queue;
    ``call_next`` returns as soon as the status and headers are known, so a
    middleware can read and change them without buffering the body.
    """

    def __init__(self, task: asyncio.Task[None], queue: asyncio.Queue[Message]) -> None:
        # Deliberately not calling Response.__init__: status and headers come from the
        # inner app's http.response.start message, set by start().
        self.status_code = 200
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.background = None
        self._task = task
        self._queue = queue

    @classmethod
    async def start(cls, app: ASGIApp, request: Request) -> _InnerResponse:
        import asyncio

        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=16)
        replaying = _replaying_receive(request)
        disconnected = False

        async def receive() -> Message:
            nonlocal disconnected
            message = await replaying()
            disconnected = disconnected or message["type"] == "http.disconnect"
            return message

        async def send(message: Message) -> None:
            await queue.put(message)

        task = asyncio.ensure_future(app(request.scope, receive, send))
        self = cls(task, queue)
        first = await self._next_message()
        if first is None and disconnected:
            # The client left mid-body, and the App rightly answered nobody.
            raise ClientDisconnect("the client disconnected before the app answered")
        if first is None:
            raise AsgilabError("the app under a function middleware returned without a response")
        if first["type"] != "http.response.start":
            raise AsgilabError(f"expected http.response.start, got {first['type']!r}")
        self.status_code = first["status"]
        self.raw_headers = list(first.get("headers", []))
        return self

    async def _next_message(self) -> Message | None:
        """The next message from the inner app, or None once it has returned."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        import asyncio

        getter = asyncio.ensure_future(self._queue.get())
        await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        if not self._queue.empty():
            return self._queue.get_nowait()
        self._task.result()  # re-raise what the inner app raised
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        while True:
            message = await self._next_message()
            if message is None:
                # The inner app returned mid-body: a streaming response whose client
                # disconnected does exactly that. Nothing more to send.
                return
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                break
        await self._task  # let it finish (background tasks, cleanup) and surface errors

    def cancel(self) -> None:
        if not self._task.done():
            self._task.cancel()


def _replaying_receive(request: Request) -> Receive:
    """``receive`` for the inner app: replays the body if the middleware already read it."""
    body = request._body
    if body is None and request._stream_consumed:
        # The middleware streamed the body (stream(), or form() on a multipart upload,
        # which is parsed as it arrives): nothing kept it, and waiting for more would hang.
        async def consumed() -> Message:
            raise BodyConsumed(
                "a function middleware read the body as a stream, so nothing is left for "
                "the handler; read it there with body() (which keeps it), or not at all"
            )

        return consumed
    if body is None:
        return request.receive
    replayed = False

    async def receive() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()

    return receive
