"""Handlers: how the App calls a route's function, and what its result becomes.

A handler is inspected once, when it is registered: does it take the request,
which path parameters does it declare, is it ``async``? A request then pays for
none of that. Path parameters reach the handler by name when it declares them
(``async def user(request, user_id: int)``) and are always in
``request.path_params``. A handler that requires a parameter its route lacks is
refused at registration, naming both. Sync (``def``) handlers run in the thread
pool so they never block the event loop. The route's own limits (body size, and
form files, fields and field size) are checked here too, at registration.

A path parameter annotated ``int``, ``float`` or ``uuid.UUID`` must come from the
converter that makes one: ``user_id: int`` on ``/users/{user_id}`` would receive
the string ``"42"``, so it is refused at registration with the fix (``use
{user_id:int} in the route``). ``str``, ``Any``, no annotation and custom
converters pass; nothing is converted behind the router's back.

A route may also have dependencies (``Depends(...)`` parameters and
``extras["dependencies"]``, see :mod:`asgilab.dependencies`) and a ``status_code``
(``extras["status_code"]``) its returned values are sent with. Such a route is
called the general way, :meth:`Handler.__call__`; a route without them pays
nothing for either.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from .background import is_async_callable, run_sync
from .dependencies import Plan, check_annotation, dependency_of, path_converters
from .errors import InvalidArgument, InvalidArgumentType, InvalidHandler, InvalidReturn
from .forms import route_form_limits
from .request import Request
from .responses import JSONResponse, PlainTextResponse, Response, render_json
from .router import Route

__all__ = [
    "CallWith",
    "Handler",
    "InvalidHandler",
    "InvalidReturn",
    "body_limit",
    "render_result",
    "to_response",
]


# The headers of an ASGI http.response.start message.
HeaderList = list[tuple[bytes, bytes]]

# PERF: the headers of the two commonest answers, built once. The list sent is new
# per response (content-length varies), the tuples are shared.
_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_JSON = (b"content-type", b"application/json")
# PERF: the content-length header of every body shorter than 1 KiB, built once:
# indexing a list is much cheaper than formatting b"%d" and a tuple per response.
_SHORT = 1024
_CONTENT_LENGTHS = [(b"content-length", b"%d" % n) for n in range(_SHORT)]


class CallWith(enum.Enum):
    """How the App calls a route's function, decided once when the route is registered.

    PERF: in the first three cases the App calls the function itself, with no frame of
    asgilab's between: a positional argument is cheaper than unpacking a one-key dict.
    """

    #: ``await func(request)``: an ``async def`` that wants no path parameter.
    REQUEST = "func(request)"
    #: ``await func(request, params[only_param])``: the route's one parameter, by position.
    ONE_PARAM = "func(request, params[only_param])"
    #: ``await func(request, **params)``: an ``async def`` that wants every parameter.
    PARAMS = "func(request, **params)"
    #: ``await handler(request, params)``: anything else (a plain ``def``, no request
    #: parameter, some of the parameters, a route with form limits): see Handler.__call__.
    HANDLER = "handler(request, params)"


class Handler:
    """A route's handler, inspected once at registration so a request does no inspection.

    How the App calls the function is decided here too: :attr:`call_with`, one of
    :class:`CallWith`, the simplest that fits the signature.

    >>> from asgilab.router import Router
    >>> async def user(request, user_id: int): ...
    >>> handler = Handler(Router().add("/users/{user_id:int}", user), 1024)
    >>> handler.name, handler.takes_request, sorted(handler.wanted), handler.max_body_size
    ('user', True, ['user_id'], 1024)
    >>> handler.call_with  # so a request calls user(request, params["user_id"])
    <CallWith.ONE_PARAM: 'func(request, params[only_param])'>
    """

    __slots__ = (
        "call_with",
        "form_limits",
        "func",
        "is_async",
        "max_body_size",
        "name",
        "only_param",
        "pass_all",
        "plan",
        "status_code",
        "takes_request",
        "wanted",
    )

    def __init__(self, route: Route, default_max_body_size: int | None) -> None:
        func = route.endpoint
        self.func = func
        self.name = getattr(func, "__qualname__", repr(func))
        self.is_async = is_async_callable(func)
        self.max_body_size = body_limit(
            route.extras.get("max_body_size", default_max_body_size),
            f"max_body_size of route {route.path!r}",
        )
        # The route's form limits, or None when it sets none (the Request's default).
        self.form_limits = route_form_limits(route.extras, route.path)
        # The status a returned value (not a Response) is sent with, None for the usual.
        self.status_code = _status_code(route.extras.get("status_code"), route.path)
        # The route's one parameter, when the handler takes it positionally right
        # after the request (``async def user(request, user_id)``), else "".
        self.only_param = ""
        # Whether the handler wants every path parameter, so gets ``params`` as it is.
        self.pass_all = False
        self.wanted: frozenset[str] = frozenset()
        converters = path_converters(route.path)
        depends = self._read_signature(route, converters)
        # The route's dependencies and the handler's Depends parameters, inspected
        # once; None when there are none, so such a route pays nothing for them.
        effects = route.extras.get("dependencies") or ()
        self.plan = (
            Plan.build(route.path, converters, effects, depends) if effects or depends else None
        )
        self.call_with = self._choose_call()

    def _read_signature(
        self, route: Route, converters: Mapping[str, str]
    ) -> list[tuple[str, Callable[..., Any]]]:
        """Read the handler's signature into takes_request, wanted, pass_all and
        only_param; its ``Depends`` parameters are returned. Raises when it cannot
        serve the route."""
        func = self.func
        try:
            parameters = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature: give it the request
            self.takes_request = True
            return []
        # The first positional parameter receives the Request; a handler without
        # parameters (``async def health(): ...``) is called without one, and neither is
        # one whose first parameter is a dependency (``async def me(user=Depends(f))``).
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.takes_request = (
            bool(parameters)
            and parameters[0].kind in positional
            and dependency_of(parameters[0]) is None
        )
        rest = parameters[1:] if self.takes_request else parameters
        route_params = set(converters)
        if self.takes_request and parameters[0].name in route_params:
            # async def user(user_id: int) would silently receive the Request as user_id.
            raise InvalidHandler(
                f"handler {self.name}{inspect.signature(func)}: its first parameter "
                f"{parameters[0].name!r} receives the Request, yet it is a parameter of "
                f"route {route.path!r}; add a `request` parameter before it"
            )
        depends = [(p.name, sub) for p in rest if (sub := dependency_of(p)) is not None]
        clash = [name for name, _ in depends if name in route_params]
        if clash:
            raise InvalidHandler(
                f"handler {self.name}{inspect.signature(func)}: parameter {clash[0]!r} is "
                f"both a parameter of route {route.path!r} and a Depends(...); rename one"
            )
        for p in rest:
            if p.name in route_params:
                check_annotation(f"handler {self.name}", p, route.path, converters[p.name])
        by_position = [
            p.name
            for p in rest
            if p.kind is inspect.Parameter.POSITIONAL_ONLY and p.name in route_params
        ]
        if by_position:
            # Path parameters are passed by name, which a positional-only one refuses.
            raise InvalidHandler(
                f"handler {self.name}{inspect.signature(func)}: path parameter "
                f"{', '.join(map(repr, by_position))} of route {route.path!r} is positional-only; "
                "path parameters are passed by name, so put the '/' before it"
            )
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in rest):
            self.pass_all, self.wanted = True, frozenset(route_params)
            return depends
        names = {p.name for p in rest if p.kind is not inspect.Parameter.VAR_POSITIONAL}
        missing = [
            p.name
            for p in rest
            if p.name not in route_params
            and p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL,)
        ]
        if missing:
            known = ", ".join(sorted(route_params)) or "none"
            raise InvalidHandler(
                f"handler {self.name}{inspect.signature(func)} requires {', '.join(missing)}, "
                f"which route {route.path!r} does not provide (its parameters: {known}); "
                "rename the parameter or give it a default"
            )
        self.wanted = frozenset(names & route_params)
        if self.wanted and self.wanted == route_params:
            self.pass_all = True
            first = rest[0]
            if (
                self.takes_request
                and len(route_params) == 1
                and first.name in route_params
                and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ):
                self.only_param = first.name
        return depends

    def _choose_call(self) -> CallWith:
        """The simplest way to call this handler, chosen once."""
        if (
            not (self.is_async and self.takes_request)
            or self.form_limits is not None
            or self.plan is not None
            or self.status_code is not None
        ):
            # NOTE: a route with form limits, dependencies or a status_code takes
            # __call__, which does what they ask: the App's direct calls stay as they
            # are for every other route.
            return CallWith.HANDLER
        if self.only_param:
            return CallWith.ONE_PARAM
        if not self.wanted:
            return CallWith.REQUEST
        if self.pass_all:
            return CallWith.PARAMS
        return CallWith.HANDLER

    async def __call__(self, request: Request, params: Mapping[str, Any]) -> Any:
        """The handler's result for ``request``, whatever its signature (the general way)."""
        if self.form_limits is not None:
            request.form_limits = self.form_limits
        wanted = self.wanted
        kwargs = params if self.pass_all else {k: v for k, v in params.items() if k in wanted}
        args = (request,) if self.takes_request else ()
        if self.plan is not None:
            result = await self.plan.run(
                request, params, lambda values: self._call(args, {**kwargs, **values})
            )
        else:
            result = await self._call(args, kwargs)
        if self.status_code is not None:
            return to_response(result, self.name, self.status_code)
        return result

    async def _call(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if self.is_async:
            return await self.func(*args, **kwargs)
        # A plain def runs in the thread pool, so it cannot block the event loop.
        return await run_sync(self.func, *args, **kwargs)


def _status_code(value: object, path: str) -> int | None:
    """A route's ``status_code`` checked at registration: an HTTP status, or None."""
    if value is None:
        return None
    if type(value) is not int:  # a bool is no status either
        raise InvalidArgumentType(
            f"status_code of route {path!r} must be a whole number, not {value!r}; "
            "e.g. status_code=201"
        )
    if not 100 <= value <= 599:
        raise InvalidArgument(
            f"status_code of route {path!r} must be an HTTP status (100-599), not {value}"
        )
    return value


def body_limit(value: object, what: str) -> int | None:
    """``value`` checked as a body limit: a whole number of bytes, or None for no limit.

    Checked when a route is registered, so that ``10e6`` fails there, in both builds,
    rather than on the route's first request (the compiled Request takes only an int).

    >>> body_limit(10_000_000, "max_body_size"), body_limit(None, "max_body_size")
    (10000000, None)
    >>> body_limit(10e6, "max_body_size")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.errors.InvalidArgumentType: max_body_size must be a whole number ... not 10000000.0
    """
    if value is None:
        return None
    if type(value) is not int or value < 0:  # a bool is no limit either
        raise InvalidArgumentType(f"{what} must be a whole number of bytes or None, not {value!r}")
    return value


def to_response(result: Any, name: str, status: int | None = None) -> Response:
    """What a handler's return value becomes; ``name`` is quoted when it cannot become one.

    ``status`` is the route's ``status_code``: a returned value is sent with it (None
    with no body), a returned Response keeps its own.

    >>> to_response({"id": 1}, "user").body, to_response(None, "delete").status_code
    (b'{"id":1}', 204)
    >>> to_response({"id": 1}, "create", 201).status_code, to_response(None, "create", 201).body
    (201, b'')
    >>> to_response(42, "count")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.errors.InvalidReturn: handler count returned int; return a Response, dict, ...
    """
    if isinstance(result, Response):
        return result
    code = 200 if status is None else status
    if result is None:
        return Response(status_code=204 if status is None else status)
    if code < 200 or code in (204, 304):
        raise InvalidReturn(
            f"handler {name} returned {type(result).__name__}, yet its route answers {code}, "
            "which has no body; return None"
        )
    if isinstance(result, dict | list):
        return JSONResponse(result, code)
    if isinstance(result, str):
        return PlainTextResponse(result, code)
    if isinstance(result, bytes):
        return Response(result, code, media_type="application/octet-stream")
    raise InvalidReturn(
        f"handler {name} returned {type(result).__name__}; return a Response, "
        "dict, list, str, bytes or None"
    )


def render_result(result: Any, name: str) -> tuple[HeaderList, bytes] | Response:
    """What handler ``name``'s return value becomes: the one way from a result to bytes.

    - ``str``: text, ``dict`` or ``list``: JSON. PERF: the commonest results become
      ``(headers, body)``, which the App sends with status 200 as they are, without
      building a Response object: the headers are prebuilt, content-length included.
    - anything else: :func:`to_response` (a ``Response`` as is, ``bytes``, ``None``
      as 204), which the App sends.

    A result that cannot be sent (another type, a dict JSON cannot encode) raises
    here, before anything is sent, so the client gets the App's error answer.

    >>> render_result("hi", "hello")
    ([(b'content-type', b'text/plain; charset=utf-8'), (b'content-length', b'2')], b'hi')
    >>> render_result(None, "delete").status_code
    204
    """
    kind = type(result)
    if kind is str:
        body = result.encode()
        content_type = _TEXT
    elif kind is dict or kind is list:
        body = render_json(result)
        content_type = _JSON
    else:
        return to_response(result, name)
    size = len(body)
    if size < _SHORT:
        return [content_type, _CONTENT_LENGTHS[size]], body
    return [content_type, (b"content-length", b"%d" % size)], body
