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
   (or, for OPTIONS, an automatic 204 with ``Allow``, also for the other slash form
   of a route) if the path exists for other methods; else 404;
4. turns exceptions into responses, one error contract for all: every error answer
   the App makes (400 for a path it cannot read, 404, 405, 413, 400 for a bad body,
   500) goes through the handlers registered with :meth:`App.exception_handler`, so
   one ``HTTPException`` handler shapes them all; without one, an ``HTTPException``
   answers its status with its ``detail`` (text, or JSON for a dict or list), and
   anything else a plain 500 (always logged with its traceback; shown only with
   ``debug=True``);
5. after the response is sent, hands background tasks to its runner.

It also speaks the ASGI lifespan protocol (startup, shutdown, state for every
request, a drain of background work) and wraps itself in middleware.

One pipeline: a request enters :meth:`App.__call__`, which looks its route up (and
keeps it in ``scope["route"]``, None for none, so middleware sees it), goes through
the middleware stack if there is one (built when middleware is added), and reaches
:meth:`App._serve`, which calls the handler and sends its result: one walk of the tree
per request. :meth:`App.mount` hands a prefix to another ASGI app.

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
from http import HTTPStatus
from typing import Any, TypeVar, Unpack, cast, overload
from urllib.parse import quote, quote_from_bytes

from .background import BackgroundRunner, is_async_callable, run_sync
from .datastructures import State, strip_root_path
from .dependencies import finish_dependencies
from .errors import (
    AsgilabError,
    ClientDisconnect,
    HTTPException,
    InvalidArgument,
    InvalidArgumentType,
    InvalidPath,
    InvalidPattern,
)
from .handlers import CallWith, Handler, body_limit, render_result, to_response
from .lifespan import Lifespan, run_lifespan, warn_if_not_running
from .middleware import FunctionMiddleware, Middleware, MiddlewareFunction, build_stack
from .request import DEFAULT_MAX_BODY_SIZE, Request
from .responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from .router import Match, Miss, Route, Router, prepared, redefines
from .routes import MOUNT_PATH, RouteOptions, route_extras
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
        # Whether a request came already (the first checks that the lifespan runs).
        self._served = False

    # -- registration ----------------------------------------------------------------

    def route(
        self, path: str, methods: Iterable[str] | None = None, **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Register the decorated handler for ``path`` and ``methods`` (default GET).

        ``max_body_size`` overrides the App's body limit for this route (None: no
        limit); ``max_files``, ``max_fields`` and ``max_part_size`` the limits its
        forms are read within; ``status_code`` the status of the handler's answer;
        ``dependencies`` callables resolved before the handler. They are kept in
        ``route.extras`` with any other ``extras``, as a :class:`Router`'s decorators,
        which take the same options, keep them. A route at ``""`` (a group's prefix)
        belongs on a Router that is included under a prefix, and is refused here.
        """
        if path == "":
            raise InvalidPattern(
                "route '' serves a group's prefix: register it on a Router and include it"
                " under a prefix (app.include(router, prefix='/api/articles')), or use '/'"
                " for the root"
            )
        extras = route_extras(path, options)
        name = options.get("name")

        def decorator(func: F) -> F:
            self.router.add(
                path, func, methods=methods, name=name, extras=extras, prepare=self._prepare
            )
            return func

        return decorator

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a GET (and so HEAD) handler."""
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a POST handler."""
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a PUT handler."""
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a PATCH handler."""
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a DELETE handler."""
        return self.route(path, ["DELETE"], **options)

    def mount(self, prefix: str, app: ASGIApp, name: str | None = None) -> None:
        """Hand every request to ``prefix`` and below it to the ASGI ``app``.

        Any method, HTTP and websocket. The app gets ``root_path`` (the App's own plus
        ``prefix``) and the full ``path`` and ``raw_path``, as the ASGI spec says, so a
        Starlette app or another App routes and builds URLs under the prefix. Lifespan
        events are not forwarded: start what the mounted app needs in this App's
        lifespan. See :meth:`Router.mount <asgilab.router.Router.mount>`.
        """
        self.router.mount(prefix, app, name, prepare=self._prepare)

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
        if not callable(cls):
            raise InvalidArgumentType(
                f"add_middleware({cls!r}): expected a middleware class (or a callable taking"
                " the app), e.g. app.add_middleware(CORSMiddleware, allow_origins=[...])"
            )
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

    @overload
    def middleware(self, func: MiddlewareFunction) -> MiddlewareFunction: ...

    @overload
    def middleware(self, func: str) -> Callable[[MiddlewareFunction], MiddlewareFunction]: ...

    def middleware(
        self, func: MiddlewareFunction | str
    ) -> MiddlewareFunction | Callable[[MiddlewareFunction], MiddlewareFunction]:
        """Register ``async def mw(request, call_next)`` as a layer (last added: outermost).

        ``@app.middleware`` and FastAPI's spelling ``@app.middleware("http")`` both work;
        anything else is refused here, not at the first request. See
        :mod:`asgilab.middleware` for the order and for what ``call_next`` returns.
        """
        if isinstance(func, str):
            if func != "http":
                raise InvalidArgument(
                    f"app.middleware({func!r}): only 'http' middleware exists; write"
                    " @app.middleware or @app.middleware('http') above"
                    " async def mw(request, call_next)"
                )
            return self.middleware
        if not callable(func):
            raise InvalidArgumentType(
                f"app.middleware({func!r}): expected async def mw(request, call_next); write"
                " @app.middleware or @app.middleware('http') above it"
            )
        self.add_middleware(FunctionMiddleware, dispatch=func)
        return func

    def _prepare(self, route: Route) -> Handler | _Mount:
        """The handler for ``route``, built once, before the router adds the route (whose
        ``handler`` it becomes); it raises for a function that cannot serve the route."""
        if "mount" in route.extras:
            return _Mount(route, self.max_body_size)
        return Handler(route, self.max_body_size)

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: an HTTP request is routed first, then goes through
        the middleware stack (if any) to :meth:`_serve`; lifespan and websocket take
        :meth:`_other_scope`.

        The route is looked up before any middleware runs, so that middleware,
        dependencies and handlers can read which route matched: ``scope["route"]`` (None
        when none did). The innermost layer reuses that lookup: one walk per request.
        """
        if scope["type"] != "http":
            await self._other_scope(scope, receive, send)
            return
        if not self._served:
            # The first request: say now if the lifespan the app has is not running.
            self._served = True
            warn_if_not_running(self)
        # The scope becomes this App's before any middleware, which may read both.
        scope["app"] = self
        if self.lifespan_state is not None and "state" not in scope:
            scope["state"] = dict(self.lifespan_state)
        raw = scope.get("raw_path")
        found: Match | Miss | _BadPath
        if raw is not None and not scope.get("root_path"):
            # PERF: the usual request, with _lookup inlined (a frame less): a raw path and
            # no root path. A path that cannot be read takes _lookup, which says why.
            try:
                path = raw.decode()
                found = self.router.lookup(scope["method"], path)
            except (UnicodeDecodeError, InvalidPath):
                path, found = self._lookup(scope)
            else:
                if found:
                    scope["route"] = found.route
                    scope["path_params"] = found.params
                else:
                    scope["route"] = None
        else:
            path, found = self._lookup(scope)
        stack = self._stack
        if stack is None:
            await self._serve(scope, receive, send, path, found)
        else:
            # For _route, the stack's innermost app; the path it was found for tells it
            # whether a middleware has since rewritten the path (then it looks up again).
            scope["asgilab.lookup"] = (scope["path"], path, found)
            try:
                # A request in flight keeps the stack it started with, whatever is added
                # meanwhile.
                await stack(scope, receive, send)
            finally:
                # The App leaves no mark of its own in the scope (a server may reuse it).
                scope.pop("asgilab.lookup", None)

    def _lookup(self, scope: Scope) -> tuple[str, Match | Miss | _BadPath]:
        """The route for this request's method and path, kept in ``scope["route"]``."""
        raw = scope.get("raw_path")
        try:
            path = raw.decode() if raw is not None else quote(scope["path"])
        except UnicodeDecodeError:
            scope["route"] = None
            return scope["path"], _BadPath(HTTPException(400, "path is not valid UTF-8"))
        root_path = scope.get("root_path")
        if root_path:
            # Servers differ: uvicorn puts root_path in front of path, httpx does not.
            path = strip_root_path(path, root_path) or path
        try:
            found = self.router.lookup(scope["method"], path)
        except InvalidPath as exc:
            scope["route"] = None
            return path, _BadPath(HTTPException(400, f"invalid path: {exc}"))
        if found:
            scope["route"] = found.route
            scope["path_params"] = found.params
        else:
            scope["route"] = None
        return path, found

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The innermost app of the middleware stack: serve the route :meth:`__call__`
        found (looked up again only when a middleware rewrote the path)."""
        saved = scope.pop("asgilab.lookup", None)
        if saved is not None and saved[0] is scope["path"]:
            _, path, found = saved
        else:
            path, found = self._lookup(scope)
        await self._serve(scope, receive, send, path, found)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, path: str, match: Match | Miss | _BadPath
    ) -> None:
        """Call the handler of the route found, and send the result.

        PERF: kept flat on purpose. A request meets two coroutines of the App's on its
        way to the handler, ``__call__`` and this one: each costs a frame, and a resume
        whenever the handler waits (for its body, say). So the handler is called
        directly when its :class:`~asgilab.handlers.CallWith` allows.
        """
        method = scope["method"]
        if not match:
            # A Miss (a Match is never falsy): the walk that found no route also found
            # what the path has instead. Or a path that could not be read at all.
            await self._no_route(scope, receive, send, method, path, cast(Miss, match))
            return

        match = cast(Match, match)
        route = match.route
        endpoint = route.handler
        if endpoint is None:  # a route of a Router made without this App
            endpoint = prepared(route, self._prepare(route)).handler
        params = match.params
        request = Request(scope, receive, endpoint.max_body_size)
        try:
            call_with = endpoint.call_with
            if call_with is _REQUEST:
                result = await endpoint.func(request)
            elif call_with is _ONE_PARAM:
                result = await endpoint.func(request, params[endpoint.only_param])
            elif call_with is _PARAMS:
                result = await endpoint.func(request, **params)
            else:  # (a mount's handler too: see _Mount)
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
                # Dropped; the after-response step still runs (dependency clean-ups).
                request._background.tasks.clear()
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
            # A websocket reaches a mounted app; the App itself has no websocket routes.
            mount = self._websocket_mount(scope)
            if mount is not None:
                await mount.forward(scope, receive, send)
                return
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000, "reason": "no websocket routes"})
        else:
            raise AsgilabError(f"unsupported ASGI scope type {scope_type!r}")

    def _websocket_mount(self, scope: Scope) -> _Mount | None:
        """The mount a websocket's path leads to (its handshake is a GET), if any."""
        raw = scope.get("raw_path")
        try:
            path = raw.decode() if raw is not None else quote(scope["path"])
            root_path = scope.get("root_path")
            if root_path:
                path = strip_root_path(path, root_path) or path
            found = self.router.lookup("GET", path)
        except (UnicodeDecodeError, InvalidPath):
            return None
        if not found or "mount" not in found.route.extras:
            return None
        handler = found.route.handler
        if handler is None:  # a mount of a Router made without this App
            handler = prepared(found.route, self._prepare(found.route)).handler
        return cast(_Mount, handler)

    async def _after(self, request: Request) -> None:
        """After the response: finish generator dependencies, hand background tasks on,
        close the request (a form's files)."""
        await finish_dependencies(request)
        if request._background is not None and request._background.tasks:
            # Queued for the lifespan's drain, or, with no lifespan running, run here in
            # the request's own task, which the server waits for (see asgilab.background).
            await self.background.after_response(request._background, self.shutdown_timeout)
        await request.close()

    async def _no_route(
        self, scope: Scope, receive: Receive, send: Send, method: str, path: str, miss: Miss
    ) -> None:
        """No route for this method and path: 308, 405 / automatic OPTIONS, or 404.

        The walk that missed noted the other trailing-slash form and the allowed methods:
        no second walk. A Router subclass that redefines :meth:`~Router.redirect_slash` or
        :meth:`~Router.allowed_methods` (a rule of its own) is asked instead. An OPTIONS
        for the other slash form of a route is answered as for the route. Every error
        answer goes through the exception handlers, as a handler's HTTPException does.
        """
        if isinstance(miss, _BadPath):  # a path that cannot be read: 400
            await self._answer_error(scope, receive, send, miss.error)
            return
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
            if allowed:
                # A method no mount's route lists (PROPFIND) still goes to the mounted app.
                mount = _mount_at(miss) if rules.allowed_methods is Router.allowed_methods else None
                if mount is not None:
                    await self._answer(mount.forward, scope, receive, send, None)
                    return
            elif method == "OPTIONS" and path != "/":
                # A preflight for the other slash form of a route: answered as for the route.
                other = path[:-1] if path.endswith("/") else path + "/"
                if rules.allowed_methods is Router.allowed_methods:
                    allowed = frozenset(m for node in miss.others for m in node.methods)
                else:
                    allowed = router.allowed_methods(other)
        except InvalidPath as exc:
            await self._answer_error(
                scope, receive, send, HTTPException(400, f"invalid path: {exc}")
            )
            return
        if allowed:
            allow = ", ".join(sorted(allowed | {"OPTIONS"}))
            if method == "OPTIONS":
                await Response(status_code=204, headers={"allow": allow})(scope, receive, send)
                return
            error = HTTPException(405, headers={"allow": allow})
        else:
            error = HTTPException(404)
        await self._answer_error(scope, receive, send, error)

    async def _answer_error(
        self, scope: Scope, receive: Receive, send: Send, error: HTTPException
    ) -> None:
        """Send the answer to an error the App found itself, shaped by the handlers."""
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
            status = exc.status_code
            if type(status) is int and status in handlers:
                return handlers[status]
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
        """The response for an exception a handler (or middleware, or the App) raised.

        The one error contract: every error answer passes here, so the handlers shape
        them all. An error that is not an HTTPException is logged with its traceback
        first, whether or not a handler then shapes the answer.
        """
        if not isinstance(exc, HTTPException):
            self._log_error(request, exc)
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
                if not isinstance(handler_exc, HTTPException):
                    return self._internal_error(handler_exc)
                exc = handler_exc
        if isinstance(exc, HTTPException):
            return self._http_error(request, exc)
        return self._internal_error(exc)

    def _http_error(self, request: Request, exc: HTTPException) -> Response:
        """The default answer to an HTTPException: its detail as text, or JSON for any
        other JSON value. One spoilt after it was made (a status that is not one, a
        detail JSON cannot encode) still gets an answer, and a log line saying why."""
        status = exc.status_code
        try:
            if type(status) is not int or not 100 <= status <= 599:
                raise InvalidArgument(f"status_code {status!r} is not an HTTP status")
            headers = exc.headers
            if status in (204, 304) or status < 200:
                return Response(status_code=status, headers=headers)
            detail = exc.detail
            if isinstance(detail, str):
                return PlainTextResponse(detail, status, headers=headers)
            return JSONResponse(detail, status, headers=headers)
        except Exception as broken:
            logger.error(
                "%s %s: %s could not be sent as it is (%s)",
                request.method,
                request.path,
                type(exc).__name__,
                broken,
                exc_info=exc,
            )
        if type(status) is int and 400 <= status <= 599 and isinstance(exc.headers, dict):
            # Only the detail was wrong: the status still says what happened.
            try:
                return PlainTextResponse(HTTPStatus(status).phrase, status)
            except ValueError:
                pass
        return self._internal_error(None)

    def _log_error(self, request: Request, exc: BaseException) -> None:
        logger.error(
            "%s %s: unhandled %s", request.method, request.path, type(exc).__name__, exc_info=exc
        )

    def _internal_error(self, exc: BaseException | None) -> Response:
        """A plain 500 (its traceback shown only with ``debug=True``)."""
        if self.debug and exc is not None:
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


class _BadPath:
    """A request path that cannot be read (not UTF-8, a bad escape): what the lookup
    found instead of a route. Falsy, like a Miss; the App answers ``error``, a 400."""

    __slots__ = ("error",)

    def __init__(self, error: HTTPException) -> None:
        self.error = error

    def __bool__(self) -> bool:
        return False


def _mount_at(miss: Miss) -> _Mount | None:
    """The mount whose path the missed request reached, if any (a method no route lists)."""
    for node in miss.ends:
        for target in node.targets.values():
            handler = target.route.handler
            if isinstance(handler, _Mount):
                return handler
    return None


class _Mount:
    """The handler of a mount's two routes: it hands the request to the mounted ASGI app.

    PERF: it takes a handler's place, so the App calls it as it calls any handler that
    needs help (``handler(request, params)``): normal routes pay nothing for mounts. What
    it returns is the answer, an ASGI app the App then runs with the request's scope.
    """

    __slots__ = ("app", "call_with", "form_limits", "func", "max_body_size", "name", "prefix")

    def __init__(self, route: Route, max_body_size: int | None) -> None:
        self.app: ASGIApp = route.extras["mount"]
        # The mount's prefix: the path of the first route, and the second's without MOUNT_PATH.
        self.prefix = route.path.removesuffix(MOUNT_PATH)
        self.call_with = None  # none of CallWith's: the App calls self(request, params)
        self.func = self.app
        self.name = f"mount {self.prefix}"
        self.max_body_size = max_body_size
        self.form_limits = None

    async def __call__(self, request: Request, params: Mapping[str, Any]) -> Response:
        return _Forward(self)

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the mounted app with the scope the ASGI spec asks for: ``root_path`` the
        outer one plus the prefix, ``path`` and ``raw_path`` the full path."""
        root_path: str = scope.get("root_path", "")
        path: str = scope["path"]
        if root_path and not (path == root_path or path.startswith(root_path + "/")):
            path = root_path + path  # a server (httpx) whose path leaves root_path out
        inner = dict(scope)
        inner["path"] = path
        inner["root_path"] = root_path + self.prefix
        raw = scope.get("raw_path")
        if raw is not None:
            raw_root = quote(root_path).encode()
            if raw_root and not (raw == raw_root or raw.startswith(raw_root + b"/")):
                raw = raw_root + raw
            inner["raw_path"] = raw
        # What the outer App found is its own: the mounted app routes for itself.
        inner.pop("asgilab.lookup", None)
        inner.pop("path_params", None)
        await self.app(inner, receive, send)


class _Forward(Response):
    """A mount's answer: the mounted app, run with the request's scope.

    NOTE: a Response so that the App sends it as it sends any handler's Response (errors
    before the answer starts get the App's error answer); Response.__init__ is not called,
    as there are no status and headers until the mounted app sends them.
    """

    def __init__(self, mount: _Mount) -> None:
        self.status_code = 200
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.background = None
        self.mount = mount

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.mount.forward(scope, receive, send)
