"""A route: one registration, and when registering again replaces it (the notebook way).

A :class:`Route` is what :meth:`Router.add <asgilab.router.Router.add>` returns, what the
tree keeps at the node where its pattern ends, and what a
:class:`~asgilab.tree.Match` holds. Two routes of one shape may not share a method, with
one exception: a route registered again by its own function, the same one or one that a
re-run notebook cell defined again (:func:`redefines`), replaces the old route in place.
Any other function is a conflict, and :func:`conflict_message` says which function holds
the route and why the new one is not it.

>>> async def user(request): ...
>>> old = Route("/users/{id:int}", user, frozenset({"GET"}), "user")
>>> async def user(request): ...  # the cell, run again
>>> redefines(user, old.endpoint)
True
"""

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypedDict

from .errors import InvalidArgument, InvalidArgumentType

__all__ = [
    "MOUNT_METHODS",
    "MOUNT_PATH",
    "NO_EXTRAS",
    "Route",
    "RouteOptions",
    "check_dependencies",
    "conflict_message",
    "methods_text",
    "prepared",
    "redefines",
    "route_extras",
]

# Routes without extras share one read-only empty mapping.
NO_EXTRAS: Mapping[str, Any] = MappingProxyType({})
# A mount is two routes of one ASGI app, with ``extras["mount"]`` the app: the prefix
# itself, and the prefix followed by this catch-all (so ``/static/css/a.css`` too).
MOUNT_PATH = "/{path:path}"
# The methods a mount's routes take (HEAD with GET); the App hands any other method
# that reaches a mount's path to it as well, on its way to a 405.
MOUNT_METHODS = frozenset({"CONNECT", "DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"})


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Route:
    """A registered route: what :meth:`Router.add <asgilab.router.Router.add>` returns and
    ``Match.route`` holds.

    A Route is one registration: it equals only itself and hashes by identity, so the
    App and the drawing can key what they know about a route by the route itself.
    ``handler`` is what the App prepared to call it (see the ``prepare`` of
    :meth:`Router.add <asgilab.router.Router.add>`), None for a route no App has prepared:
    the one field set after the route is made, once, before the route is in any tree
    (see :func:`prepared`).

    >>> async def user(request): ...
    >>> Route("/users/{user_id:int}", user, frozenset({"GET"}), "user")
    Route(path='/users/{user_id:int}', name='user', methods=['GET'])
    """

    path: str
    endpoint: Callable[..., Any]
    methods: frozenset[str] = frozenset({"GET"})
    name: str | None = None
    # Free per-route data for the App (e.g. {"max_body_size": 10}); read-only.
    extras: Mapping[str, Any] = field(default_factory=lambda: NO_EXTRAS)
    handler: Any = None

    def __repr__(self) -> str:
        return f"Route(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods)!r})"


def prepared(route: Route, handler: object) -> Route:
    """``route`` with ``handler``, what its App prepared to call it, filled in.

    A Route is frozen so that nothing changes it once it routes requests; its handler is
    only known once the route exists (the App inspects the route's function, path and
    limits), so it is set here, once, before the route is added to a tree, or by the
    App for a route of a router made without one (the same handler each time).
    """
    object.__setattr__(route, "handler", handler)
    return route


def redefines(new: Callable[..., Any], old: Callable[..., Any]) -> bool:
    """Whether ``new`` is ``old`` defined again, as a re-run notebook cell defines it.

    Running a cell again makes new function (or class) objects, compiled anew, with the
    same ``__module__`` and ``__qualname__`` as before. Not a redefinition:

    * the very same object (nothing was defined again; callers check ``new is old``);
    * a lambda: every lambda of a scope is called ``<lambda>``, so two different ones
      would pass for one another;
    * functions made by one ``def`` run twice without compiling it again (in a loop, in
      a factory): they share their code and differ in what they close over, so they are
      different functions (decorators that set ``__wrapped__`` are looked through);
    * objects without a ``__qualname__`` (a ``functools.partial``, a callable instance):
      nothing names them, so only the same object is the same.

    >>> def page(request): ...
    >>> old = page
    >>> def page(request): ...
    >>> redefines(page, old), redefines(page, page), redefines(lambda r: 1, lambda r: 1)
    (True, False, False)
    """
    if new is old:
        return False
    name = getattr(new, "__qualname__", None)
    if not isinstance(name, str) or "<lambda>" in name:
        return False
    if getattr(old, "__qualname__", None) != name:
        return False
    if getattr(old, "__module__", None) != getattr(new, "__module__", None):
        return False
    code = getattr(inspect.unwrap(new), "__code__", None)
    return code is None or code is not getattr(inspect.unwrap(old), "__code__", None)


def methods_text(methods: Iterable[str]) -> str:
    """Methods as error messages list them: ``GET,POST``."""
    return ",".join(sorted(methods))


def conflict_message(route: Route, other: Route, shape: str) -> str:
    """Why ``route`` may not take its methods from ``other``, a route of the same shape
    held by another function: both routes, the shape they share, and the two functions.

    >>> import textwrap
    >>> def f(request): ...
    >>> def g(request): ...
    >>> old = Route("/u/{id}", f, frozenset({"GET"}))
    >>> new = Route("/u/{n}", g, frozenset({"GET", "POST"}))
    >>> print(textwrap.fill(conflict_message(new, old, "/u/{str}"), 95))
    GET,POST /u/{n} conflicts with GET /u/{id} (both match /u/{str} for GET); f serves it, g is
    another function
    """
    methods = route.methods
    overlap = methods & other.methods
    on = "" if overlap == methods == other.methods else f" for {methods_text(overlap)}"
    return (
        f"{methods_text(methods)} {route.path} conflicts with"
        f" {methods_text(other.methods)} {other.path} (both match {shape}{on})"
        + _other_function(route, other)
    )


def _function_name(endpoint: Callable[..., Any]) -> str:
    name = getattr(endpoint, "__qualname__", None)
    return name if isinstance(name, str) else f"{type(endpoint).__qualname__} object"


def _other_function(route: Route, other: Route) -> str:
    """The end of a conflict message: the two functions, and why they are not one."""
    new, old = _function_name(route.endpoint), _function_name(other.endpoint)
    said = f"; {old} serves it, {new} is another function"
    if new != old:
        return said
    if "<lambda>" in new:
        return said + " (a lambda replaces no other lambda)"
    if getattr(route.endpoint, "__module__", None) != getattr(other.endpoint, "__module__", None):
        return said + f" (of module {getattr(route.endpoint, '__module__', None)})"
    if hasattr(route.endpoint, "__qualname__"):
        return said + " (made by the same def: in a loop, or by a factory?)"
    return said + " (an object with no __qualname__ replaces only itself)"


def check_dependencies(dependencies: object, what: str) -> tuple[Callable[..., Any], ...]:
    """``dependencies`` as a tuple of callables, or an error naming ``what`` they belong to.

    >>> async def auth(request): ...
    >>> check_dependencies([auth], "route '/a'") == (auth,)
    True
    """
    if callable(dependencies) or isinstance(dependencies, (str, bytes, Mapping)):
        kind = "a function" if callable(dependencies) else f"a {type(dependencies).__name__}"
        example = getattr(dependencies, "__name__", "auth") if callable(dependencies) else "auth"
        raise InvalidArgumentType(
            f"dependencies of {what} must be a list of callables, e.g. [{example}], not {kind}"
        )
    if not isinstance(dependencies, (Sequence, set, frozenset)):
        raise InvalidArgumentType(
            f"dependencies of {what} must be a list of callables, not {dependencies!r}"
        )
    for dependency in dependencies:
        if not callable(dependency):
            raise InvalidArgumentType(f"dependencies of {what}: {dependency!r} is not callable")
    return tuple(dependencies)


class RouteOptions(TypedDict, total=False):
    """The options every route decorator takes, the App's and a Router's alike.

    ``name`` names the route for ``url_for``; ``max_body_size`` overrides the App's body
    limit (None: no limit); ``max_files``, ``max_fields`` and ``max_part_size`` bound its
    forms; ``status_code`` is the status of a returned value; ``dependencies`` run before
    the handler; ``extras`` is free per-route data. All but ``name`` end up in
    ``route.extras`` (see :func:`route_extras`).
    """

    name: str | None
    max_body_size: int | None
    max_files: int
    max_fields: int
    max_part_size: int
    status_code: int
    dependencies: Sequence[Callable[..., Any]]
    extras: Mapping[str, Any]


# The options that become keys of route.extras, under their own names.
_LIMITS = ("max_body_size", "max_files", "max_fields", "max_part_size")
# Every option's name: a misspelt one is refused (a type checker would say so; a
# notebook cell would not).
_OPTIONS = (
    "dependencies",
    "extras",
    "max_body_size",
    "max_fields",
    "max_files",
    "max_part_size",
    "name",
    "status_code",
)


def route_extras(path: str, options: RouteOptions) -> dict[str, Any]:
    """The ``extras`` of a route registered with the decorators' ``options``.

    The App and a :class:`~asgilab.router.Router` take the same options and keep them
    here, so that a router built alone and included in an App carries them. The limits
    are checked when an App prepares the route; ``status_code`` and ``dependencies`` now.

    >>> route_extras("/a", {"extras": {"tag": 1}, "max_body_size": 10, "status_code": 201})
    {'tag': 1, 'max_body_size': 10, 'status_code': 201}
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InvalidArgumentType(
            f"route {path!r}: unknown option {', '.join(map(repr, unknown))}"
            f" (the options: {', '.join(_OPTIONS)})"
        )
    extras = options.get("extras")
    found = dict(extras) if extras else {}
    for limit in _LIMITS:
        if limit in options:
            found[limit] = options[limit]  # type: ignore[literal-required]
    status_code = options.get("status_code")
    dependencies = options.get("dependencies")
    if status_code is not None:
        if type(status_code) is not int:
            raise InvalidArgumentType(
                f"status_code of route {path!r} must be an int, not {status_code!r}"
            )
        if not 100 <= status_code <= 599:
            raise InvalidArgument(
                f"status_code of route {path!r} must run from 100 to 599, not {status_code}"
            )
        found["status_code"] = status_code
    if dependencies is not None:
        found["dependencies"] = check_dependencies(dependencies, f"route {path!r}")
    return found
