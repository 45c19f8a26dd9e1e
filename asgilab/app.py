"""The App: what happens between a request arriving and its response leaving.

An :class:`App` is an ASGI application. For each HTTP request it

1. asks its :class:`~asgilab.router.Router` for a route matching path and method,
   and calls the handler with a :class:`~asgilab.request.Request` and the path
   parameters the handler declares (``async def user(request, user_id: int)``);
2. turns what the handler returned into a response: a ``Response`` as is,
   ``dict``/``list`` as JSON, ``str`` as text, ``bytes`` as octet-stream, ``None``
   as 204;
3. when no route matches, answers in this order: a 308 redirect to the other
   trailing-slash form if *that* has a route for the method; 405 with ``Allow``
   (or, for OPTIONS, an automatic 204 with ``Allow``) if the path exists for other
   methods; else 404;
4. turns exceptions into responses: ``HTTPException`` into its status, anything
   registered with :meth:`App.exception_handler` into what that handler returns,
   anything else into a plain 500 (logged; the traceback shown only with
   ``debug=True``);
5. after the response is sent, hands background tasks to its runner.

It also speaks the ASGI lifespan protocol (startup, shutdown, state for every
request, a drain of background work) and wraps itself in middleware.

One pipeline: a request enters :meth:`App.__call__`, goes through the middleware
stack if there is one (built when middleware is added), and reaches
:meth:`App._route`, which finds the route, calls the handler and sends its result.

>>> app = App()
>>> @app.get("/users/{user_id:int}")
... async def user(request, user_id: int):
...     return {"id": user_id}
>>> app
App(routes=1, middleware=[], debug=False)
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Mapping
from types import EllipsisType
from typing import Any, TypeVar, cast
from urllib.parse import quote, quote_from_bytes

from .background import BackgroundRunner, is_async_callable, run_sync
from .datastructures import State, strip_root_path
from .errors import (
    AsgilabError,
    ClientDisconnect,
    HTTPException,
    InvalidArgumentType,
    InvalidPath,
)
from .handlers import CallWith, Handler, body_limit, render_result, to_response
from .lifespan import Lifespan, run_lifespan
from .middleware import FunctionMiddleware, Middleware, MiddlewareFunction, build_stack
from .request import DEFAULT_MAX_BODY_SIZE, Request
from .responses import PlainTextResponse, RedirectResponse, Response
from .router import Miss, Route, Router, prepared, redefines
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["App"]

logger = logging.getLogger("asgilab.app")

F = TypeVar("F", bound=Callable[..., Any])
ExceptionHandler = Callable[[Request, Exception], Any]


# PERF: the ways to call a handler that the App takes itself, as globals: reading an
# Enum's member from its class costs several times what reading a global does.
_REQUEST, _ONE_PARAM, _PARAMS = CallWith.REQUEST, CallWith.ONE_PARAM, CallWith.PARAMS
# The defaults of the App's whole-number options, quoted when one is not a whole number.
_DEFAULTS = {"background_limit": 100, "background_queue": 1000}
# What a query string keeps unescaped when copied into a redirect's Location.
_QUERY_SAFE = "/?&=+;%:@!$'()*,~[]"


class App:
    """An ASGI application with a router, error handling, middleware and a lifespan.

    ``max_body_size`` (bytes, None for no limit) applies to every route unless the
    route sets its own (``@app.post("/upload", max_body_size=50_000_000)``).
    ``redirect_slashes`` turns the 308 trailing-slash redirect on or off.
    ``background_limit`` caps how many background tasks run at once,
    ``background_queue`` how many may wait (past it, a handler adding one answers 503;
    see :mod:`asgilab.background`), and ``shutdown_timeout`` is how long shutdown
    waits for them. A route's forms are read within 1,000 files, 1,000 fields and
    1 MiB a field unless it sets its own (``max_files=``, ``max_fields=``,
    ``max_part_size=``; see :mod:`asgilab.forms`).

    ``app.state`` is a bag of attributes for what the app's handlers share (a
    settings object, a client), set when the app is built and read in a handler as
    ``request.app.state``. What the lifespan yields is another thing: opened at
    startup, closed at shutdown, and copied into each request's ``request.state``.

    >>> app = App()
    >>> app.state.greeting = "hello"
    >>> app.state.greeting
    'hello'
    >>> app.state.missing
    Traceback (most recent call last):
    ...
    AttributeError: 'State' has no attribute 'missing' (known: greeting)
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        lifespan: Lifespan | None = None,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        redirect_slashes: bool = True,
        background_limit: int = 100,
        background_queue: int = 1000,
        shutdown_timeout: float = 30.0,
        router: Router | None = None,
    ) -> None:
        for option, value in [("debug", debug), ("redirect_slashes", redirect_slashes)]:
            if type(value) is not bool:
                raise InvalidArgumentType(
                    f"{option} must be True or False, not {value!r}; "
                    f"pass App({option}=True) or App({option}=False)"
                )
        for option, number in [
            ("background_limit", background_limit),
            ("background_queue", background_queue),
        ]:
            if type(number) is not int:
                raise InvalidArgumentType(
                    f"{option} must be a whole number, not {number!r}; "
                    f"pass an int, e.g. App({option}={_DEFAULTS[option]}), the default"
                )
        self.debug = debug
        self.lifespan = lifespan
        self.max_body_size = body_limit(max_body_size, "max_body_size")
        self.redirect_slashes = redirect_slashes
        self.shutdown_timeout = shutdown_timeout
        self.router = router if router is not None else Router()
        self.background = BackgroundRunner(limit=background_limit, max_queue=background_queue)
        self.user_middleware: list[Middleware] = []
        self.exception_handlers: dict[type[BaseException] | int, ExceptionHandler] = {}
        # What the lifespan yielded, for servers whose scope has no "state" to carry it
        # (then the App copies it into each request's scope itself).
        self.lifespan_state: dict[str, Any] | None = None
        # What the app's handlers share, as attributes: request.app.state.db.
        self.state = State()
        # The middleware stack, whose innermost app is _route: None until add_middleware
        # builds it (anew for each layer added). Without it, __call__ calls _route.
        self._stack: ASGIApp | None = None

    # -- registration ----------------------------------------------------------------

    def route(
        self,
        path: str,
        methods: Iterable[str] | None = None,
        *,
        name: str | None = None,
        max_body_size: int | EllipsisType | None = ...,
        max_files: int | EllipsisType = ...,
        max_fields: int | EllipsisType = ...,
        max_part_size: int | EllipsisType = ...,
        extras: Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register the decorated handler for ``path`` and ``methods`` (default GET).

        ``max_body_size`` overrides the App's body limit for this route (None: no
        limit); ``max_files``, ``max_fields`` and ``max_part_size`` the limits its
        forms are read within. They are kept in ``route.extras`` with any other ``extras``.
        """
        route_extras = dict(extras or {})
        for option, value in [
            ("max_body_size", max_body_size),
            ("max_files", max_files),
            ("max_fields", max_fields),
            ("max_part_size", max_part_size),
        ]:
            if value is not ...:
                route_extras[option] = value

        def decorator(func: F) -> F:
            self.router.add(
                path, func, methods=methods, name=name, extras=route_extras, prepare=self._prepare
            )
            return func

        return decorator

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        """Register a GET (and so HEAD) handler."""
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        """Register a POST handler."""
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        """Register a PUT handler."""
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[F], F]:
        """Register a PATCH handler."""
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        """Register a DELETE handler."""
        return self.route(path, ["DELETE"], **options)

    def include(self, router: Router, prefix: str = "") -> None:
        """Add every route of ``router`` under ``prefix``; handlers are checked now."""
        self.router.include(router, prefix=prefix, prepare=self._prepare)

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name``, e.g. ``app.url_for("user", user_id=42)``."""
        return self.router.url_for(name, **params)

    def exception_handler(self, key: type[BaseException] | int) -> Callable[[F], F]:
        """Register ``handler(request, exc)`` for an exception class or an HTTP status code.

        A status code handles ``HTTPException`` with that status (404 and 405 from
        routing included), as does ``HTTPException`` or a subclass of it; 500 (or
        ``Exception``, ``KeyError``, ...) handles errors, never an ``HTTPException``. A
        plain ``def`` handler runs in the thread pool, as plain ``def`` route handlers do.
        One handler per key: registering another for the same key (or for the class a
        re-run cell defined again) replaces the one before.
        """

        def decorator(func: F) -> F:
            self.add_exception_handler(key, func)
            return func

        return decorator

    def add_exception_handler(
        self, key: type[BaseException] | int, handler: ExceptionHandler
    ) -> None:
        """Non-decorator form of :meth:`exception_handler`."""
        if isinstance(key, type):
            # A re-run cell defines the exception class again: its old handler goes.
            for old in [k for k in self.exception_handlers if isinstance(k, type)]:
                if redefines(key, old):
                    del self.exception_handlers[old]
        self.exception_handlers[key] = handler

    def add_middleware(self, cls: Callable[..., ASGIApp], **options: Any) -> None:
        """Add a pure ASGI middleware ``cls(app, **options)``; the last added is outermost.

        A layer added again, as by a re-run cell, replaces the one before in its place in
        the stack instead of stacking a copy (see :meth:`Middleware.replaces
        <asgilab.middleware.Middleware.replaces>`): the same function for function
        middleware; the same class with the same options; or the class a re-run cell
        defined again, with whatever options it now has. The same class with other
        options is a second layer: stacking one class twice is legitimate, and nothing
        tells it apart from an edited re-run (build the App again to drop the old one).

        The stack is built here, once: a middleware class is instantiated now, so one
        that refuses its options says so at this line. Middleware may be added while
        the app serves: the next request gets the new stack; requests already in flight
        keep the one they started with.
        """
        layer = Middleware(cls, dict(options))
        layers = list(self.user_middleware)
        for index, old in enumerate(layers):
            if layer.replaces(old):
                layers[index] = layer
                break
        else:
            layers.append(layer)
        # NOTE: the new stack is built aside and then swapped in by one assignment: a
        # request in flight keeps the stack it read; none sees one half built.
        stack = _ErrorLayer(build_stack(self._route, layers), self)
        self.user_middleware = layers
        self._stack = stack

    def middleware(self, func: MiddlewareFunction) -> MiddlewareFunction:
        """Register ``async def mw(request, call_next)`` as a layer (last added: outermost).

        See :mod:`asgilab.middleware` for the order and for what ``call_next`` returns.
        """
        self.add_middleware(FunctionMiddleware, dispatch=func)
        return func

    def _prepare(self, route: Route) -> Handler:
        """The handler for ``route``, built once, before the router adds the route (whose
        ``handler`` it becomes); it raises for a function that cannot serve the route."""
        return Handler(route, self.max_body_size)

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: an HTTP request goes through the middleware stack
        (if any) to :meth:`_route`; lifespan and websocket take :meth:`_other_scope`."""
        if scope["type"] != "http":
            await self._other_scope(scope, receive, send)
            return
        # The scope becomes this App's before any middleware, which may read both.
        scope["app"] = self
        if self.lifespan_state is not None and "state" not in scope:
            scope["state"] = dict(self.lifespan_state)
        stack = self._stack
        if stack is None:
            await self._route(scope, receive, send)
        else:
            # A request in flight keeps the stack it started with, whatever is added meanwhile.
            await stack(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The innermost app: route one HTTP request, call its handler, send the result.

        PERF: kept flat on purpose. A request meets two coroutines of the App's on its
        way to the handler, ``__call__`` and this one: each costs a frame, and a resume
        whenever the handler waits (for its body, say). So the handler is called
        directly when its :class:`~asgilab.handlers.CallWith` allows.
        """
        method = scope["method"]
        raw = scope.get("raw_path")
        try:
            path = raw.decode() if raw is not None else quote(scope["path"])
        except UnicodeDecodeError:
            await PlainTextResponse("path is not valid UTF-8", 400)(scope, receive, send)
            return
        root_path = scope.get("root_path")
        if root_path:
            # Servers differ: uvicorn puts root_path in front of path, httpx does not.
            path = strip_root_path(path, root_path) or path
        try:
            match = self.router.lookup(method, path)
        except InvalidPath as exc:
            await PlainTextResponse(f"invalid path: {exc}", 400)(scope, receive, send)
            return
        if not match:
            # A Miss (a Match is never falsy): the walk that found no route also found
            # what the path has instead.
            await self._no_route(scope, receive, send, method, path, cast(Miss, match))
            return

        route = match.route
        endpoint = route.handler
        if endpoint is None:  # a route of a Router made without this App
            endpoint = prepared(route, self._prepare(route)).handler
        params = match.params
        scope["path_params"] = params
        request = Request(scope, receive, endpoint.max_body_size)
        try:
            call_with = endpoint.call_with
            if call_with is _REQUEST:
                result = await endpoint.func(request)
            elif call_with is _ONE_PARAM:
                result = await endpoint.func(request, params[endpoint.only_param])
            elif call_with is _PARAMS:
                result = await endpoint.func(request, **params)
            else:
                result = await endpoint(request, params)
            # What is sent, decided in one place: prebuilt headers and a body, or a Response.
            answer = render_result(result, endpoint.name)
        except ClientDisconnect:
            # The client left mid-body: nobody to answer, and not a server error.
            logger.info("%s %s: the client disconnected mid-body", method, path)
            return
        except Exception as exc:
            if request._background is not None and request._background.tasks:
                logger.info(
                    "%s %s: %s raised, so its %d background task(s) will not run",
                    method,
                    path,
                    endpoint.name,
                    len(request._background.tasks),
                )
                request._background = None
            answer = await self._error_response(request, exc)
        if isinstance(answer, tuple):
            headers, body = answer
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            # HEAD: the headers GET would get, content-length included, and no body.
            await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        else:
            await self._answer(answer, scope, receive, send, request)
        if request._background is not None or request._form is not None:
            await self._after(request)

    async def _other_scope(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every scope but an HTTP request: lifespan and websocket."""
        scope_type = scope["type"]
        if scope_type == "lifespan":
            await run_lifespan(self, scope, receive, send)
        elif scope_type == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000, "reason": "no websocket routes"})
        else:
            raise AsgilabError(f"unsupported ASGI scope type {scope_type!r}")

    async def _after(self, request: Request) -> None:
        if request._background is not None and request._background.tasks:
            self.background.submit(request._background)
        await request.close()

    async def _no_route(
        self, scope: Scope, receive: Receive, send: Send, method: str, path: str, miss: Miss
    ) -> None:
        """No route for this method and path: 308, 405 / automatic OPTIONS, or 404.

        The walk that missed noted the other trailing-slash form and the allowed methods:
        no second walk. A Router subclass that redefines :meth:`~Router.redirect_slash` or
        :meth:`~Router.allowed_methods` (a rule of its own) is asked instead.
        """
        router = self.router
        rules = type(router)
        try:
            if self.redirect_slashes:
                if rules.redirect_slash is Router.redirect_slash:
                    other = miss.redirect
                else:
                    other = router.redirect_slash(method, path)
                if other is not None:
                    location = quote(scope.get("root_path", "")) + quote(
                        other, safe="/%:@!$&'()*+,;=-._~"
                    )
                    # NOTE: "//evil.example" (or "/\\evil.example") in a Location is a
                    # URL on another host: never redirect there, answer as if no slash rule.
                    if not location.startswith(("//", "/\\")):
                        query = scope.get("query_string") or b""
                        if query:
                            # Re-escape: a raw ASGI caller may send control characters.
                            location += "?" + quote_from_bytes(query, safe=_QUERY_SAFE)
                        await RedirectResponse(location, 308)(scope, receive, send)
                        return
            if rules.allowed_methods is Router.allowed_methods:
                allowed = miss.allowed
            else:
                allowed = router.allowed_methods(path)
        except InvalidPath as exc:
            await PlainTextResponse(f"invalid path: {exc}", 400)(scope, receive, send)
            return
        if allowed:
            allow = ", ".join(sorted(allowed | {"OPTIONS"}))
            if method == "OPTIONS":
                await Response(status_code=204, headers={"allow": allow})(scope, receive, send)
                return
            error = HTTPException(405, headers={"allow": allow})
        else:
            error = HTTPException(404)
        request = Request(scope, receive, self.max_body_size)
        response = await self._error_response(request, error)
        await response(scope, receive, send)

    # -- errors ----------------------------------------------------------------------

    def _find_handler(self, exc: BaseException) -> ExceptionHandler | None:
        handlers = self.exception_handlers
        if not handlers:
            return None
        mro = type(exc).__mro__
        if isinstance(exc, HTTPException):
            if exc.status_code in handlers:
                return handlers[exc.status_code]
            # An HTTPException is an answer (404, 405, 400), not an error: only handlers of
            # HTTPException and its subclasses shape it, not those of the other classes it
            # has (MissingParameter is a KeyError, every HTTPException an Exception).
            mro = mro[: mro.index(HTTPException) + 1]
        for cls in mro:
            if cls in handlers:
                return handlers[cls]
        if not isinstance(exc, HTTPException):
            return handlers.get(500)
        return None

    async def _answer(
        self, answer: ASGIApp, scope: Scope, receive: Receive, send: Send, request: Request | None
    ) -> None:
        """Send ``answer`` (a response, or the stack of middleware), whatever it raises.

        It watches whether the response has started. Before, an error (a file that
        cannot be opened, a middleware that raised) can still get the App's error
        answer, its exception handlers included. After, the only honest thing is to
        let the server close the connection: the error goes on to the server, which
        logs it, and the client sees a response cut short rather than a wrong one.
        """
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await answer(scope, receive, tracking_send)
        except ClientDisconnect:
            # Nobody is left to answer, and it is not a server error.
            logger.info(
                "%s %s: the client disconnected mid-body", scope.get("method"), scope.get("path")
            )
        except Exception as exc:
            if started:
                raise
            if request is None:
                request = Request(scope, receive, self.max_body_size)
            response = await self._error_response(request, exc)
            await response(scope, receive, send)

    async def _error_response(self, request: Request, exc: Exception) -> Response:
        """The response for an exception a handler (or middleware) raised."""
        handler = self._find_handler(exc)
        if handler is not None:
            try:
                if is_async_callable(handler):
                    result = await handler(request, exc)
                else:  # a plain def may block (log to a file, look something up): not on the loop
                    result = await run_sync(handler, request, exc)
                name = getattr(handler, "__qualname__", repr(handler))
                response = to_response(result, name)
                if isinstance(exc, HTTPException) and _closes(exc) and not _closes(response):
                    # A 413 stops reading the body by closing the connection: a handler
                    # that shapes the answer must not reopen an unbounded read.
                    response.raw_headers.append((b"connection", b"close"))
                return response
            except Exception as handler_exc:
                logger.exception("exception handler %r itself failed", handler)
                exc = handler_exc
        if isinstance(exc, HTTPException):
            status = exc.status_code
            if status in (204, 304) or status < 200:
                return Response(status_code=status, headers=exc.headers)
            return PlainTextResponse(exc.detail, status, headers=exc.headers)
        logger.error(
            "%s %s: unhandled %s", request.method, request.path, type(exc).__name__, exc_info=exc
        )
        if self.debug:
            text = "".join(traceback.format_exception(exc))
            return PlainTextResponse(f"500 Internal Server Error\n\n{text}", 500)
        return PlainTextResponse("Internal Server Error", 500)

    def __repr__(self) -> str:
        layers = ", ".join(repr(m) for m in self.user_middleware)
        return f"App(routes={len(self.router.routes)}, middleware=[{layers}], debug={self.debug})"


def _closes(answer: HTTPException | Response) -> bool:
    """Whether this error or response says ``connection: close``."""
    if isinstance(answer, HTTPException):
        return any(
            k.lower() == "connection" and v.lower() == "close" for k, v in answer.headers.items()
        )
    return (b"connection", b"close") in answer.raw_headers


class _ErrorLayer:
    """The outermost layer when middleware exists: errors escaping a middleware become 500s."""

    def __init__(self, app: ASGIApp, owner: App) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.owner._answer(self.app, scope, receive, send, None)
