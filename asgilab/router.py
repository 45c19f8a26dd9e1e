"""The router: routes registered in a radix tree, and the way back from a name to a URL.

A :class:`Router` is a :class:`~asgilab.tree.Tree` (the tree of routes and the one walk
that searches it: :meth:`~Router.match`, :meth:`~Router.lookup`,
:meth:`~Router.allowed_methods`, :meth:`~Router.redirect_slash`) that also decides what
may go in: it parses each pattern with its own converters, refuses a route that would
take another function's requests or a name that would make ``url_for`` ambiguous,
replaces a route registered again by its own function (the notebook way, see
:mod:`asgilab.routes`), copies the routes of another router under a prefix
(:meth:`~Router.include`), and builds URLs back from route names (:meth:`~Router.url_for`).

>>> router = Router()
>>> async def user(request): ...
>>> async def users(request): ...
>>> route = router.add("/users/{user_id:int}", user)
>>> route = router.add("/users", users, methods=["GET", "POST"])
>>> m = router.match("GET", "/users/42")
>>> m.route.name, m.params
('user', {'user_id': 42})
>>> router.match("GET", "/users/abc") is None
True
>>> sorted(router.allowed_methods("/users"))
['GET', 'HEAD', 'POST']
>>> router.lookup("PUT", "/users")
Miss(method='PUT', path='/users', allowed=['GET', 'HEAD', 'POST'], redirect=None)
>>> router.lookup("GET", "/users/").redirect, router.redirect_slash("GET", "/users/")
('/users', '/users')
>>> router.url_for("user", user_id=7)
'/users/7'
>>> print(router)
<root>
└── /users  GET users, POST users
    └── /{user_id:int}  GET user

Decisions worth knowing:

* Each router has its own converters (:meth:`~Router.register_converter`): no global
  registry.
* ``url_for`` refuses what would not route back: a value a converter refuses, a ``.`` or
  ``..`` segment (clients resolve them), a path starting with ``//`` (another host).
* Two routes of one shape may not share a method, with one exception, the notebook way: a
  route registered again by its own function (the same one, or one a re-run cell defined
  again, see :func:`redefines`) replaces the old route in place (see :meth:`Router.add`).
* How a path is read and which route wins is the tree's business: see :mod:`asgilab.tree`.
  Showing the tree and narrating a lookup (``str(router)``, :meth:`Router.explain`) are
  :mod:`asgilab.explain`'s, which only reads the tree.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar, Unpack

from ._mypyc import mypyc_attr
from .converters import BUILTIN_CONVERTERS, RANK_OTHER, Converter
from .errors import InvalidPattern, RouteConflict, URLBuildError
from .explain import Explanation, explain_lookup, tree_text
from .patterns import Pattern, Segment, parse_pattern
from .routes import (
    MOUNT_METHODS,
    MOUNT_PATH,
    NO_EXTRAS,
    Route,
    RouteOptions,
    check_dependencies,
    conflict_message,
    methods_text,
    prepared,
    redefines,
    route_extras,
)
from .tree import Match, Miss, Node, NodeKind, Tree, split_path

__all__ = [
    "Match",
    "Miss",
    "Node",
    "NodeKind",
    "Route",
    "Router",
    "prepared",
    "redefines",
    "split_path",
]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


@mypyc_attr(allow_interpreted_subclasses=True)
class Router(Tree):
    """Routes, the radix tree to find them, and the way back from a name to a URL.

    Register with :meth:`add` or the decorators, look up with :meth:`match`, and ask the
    tree why with :meth:`explain`. ``dependencies`` apply to every route of the router,
    before each route's own (a group of routes that share an authentication check):
    they are kept in each route's ``extras["dependencies"]``, which the App resolves.

    A route at ``""`` serves a group's prefix: ``include(router, prefix="/api/articles")``
    makes it ``/api/articles`` (no slash, no redirect). On a router used directly (or
    included with no prefix) it is the root, ``/``.

    >>> async def auth(request): ...
    >>> articles = Router(dependencies=[auth])
    >>> @articles.get("")
    ... async def index(request): ...
    >>> api = Router()
    >>> api.include(articles, prefix="/api/articles")
    >>> route = api.match("GET", "/api/articles").route
    >>> route.path, route.extras["dependencies"] == (auth,)
    ('/api/articles', True)
    """

    def __init__(self, *, dependencies: Sequence[Callable[..., Any]] = ()) -> None:
        super().__init__()
        # Every route, in registration order.
        self.routes: list[Route] = []
        # What every route of this router depends on, before its own dependencies.
        self.dependencies: tuple[Callable[..., Any], ...] = check_dependencies(
            dependencies, "Router"
        )
        # The routes registered at "" (a group's prefix), kept at "/" until included.
        self._at_prefix: set[Route] = set()
        # Converters this router knows: the built-in ones plus register_converter()'s.
        self.converters: dict[str, Converter] = dict(BUILTIN_CONVERTERS)
        # Method sets already in use, shared between routes (memory: big route sets repeat
        # the same few).
        self._method_sets: dict[frozenset[str], frozenset[str]] = {}
        # Name -> (route, pattern, name given explicitly?), for url_for and name clashes.
        self._by_name: dict[str, list[tuple[Route, Pattern, bool]]] = {}
        # Name -> (the first path with that name, whether other paths have it too, the path
        # where it was given explicitly or None): all _check_name needs, since a name given
        # explicitly can only ever name one path.
        # PERF: checking clashes against this, not by scanning _by_name, keeps adding many
        # routes that share a derived name linear; three fields take less memory per name
        # than two sets of paths.
        self._name_paths: dict[str, tuple[str, bool, str | None]] = {}
        # Segment text -> parsed Segment: big route sets repeat segments a lot.
        self._segments: dict[str, Segment] = {}

    def __repr__(self) -> str:
        return f"<Router with {len(self.routes)} routes>"

    # -- registration ---------------------------------------------------------------------

    def register_converter(
        self,
        name: str,
        regex: str,
        *,
        parse: Callable[[str], Any] = str,
        format: Callable[[Any], str] = str,
    ) -> Converter:
        """Teach this router a converter: ``{year:year}`` after ``register_converter("year", ...)``.

        >>> router = Router()
        >>> _ = router.register_converter("year", r"[0-9]{4}", parse=int)
        >>> _ = router.add("/archive/{y:year}", lambda request: None, name="archive")
        >>> router.match("GET", "/archive/2024").params
        {'y': 2024}
        """
        if not name.isidentifier():
            raise InvalidPattern(f"converter name {name!r} is not a Python identifier")
        if name in self.converters:
            known = ", ".join(sorted(self.converters))
            raise InvalidPattern(f"converter {name!r} is already registered (known: {known})")
        try:
            converter = Converter(name, regex, parse=parse, format=format, rank=RANK_OTHER)
        except re.error as exc:
            raise InvalidPattern(f"invalid regex {regex!r} for converter {name!r}: {exc}") from None
        self.converters[name] = converter
        return converter

    def add(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None = None,
        name: str | None = None,
        extras: Mapping[str, Any] | None = None,
        prepare: Callable[[Route], object] | None = None,
    ) -> Route:
        """Register ``endpoint`` for ``path`` (``methods=None`` means GET) and return the Route.

        ``prepare(route)``, when given, runs before anything is added; what it returns
        becomes ``route.handler``, and it may refuse the route by raising: the App builds
        its handler there, once, so that a refused handler leaves no route behind (a
        notebook cell can be fixed and run again).

        Running the cell again is the notebook way, so a route may take a method of its
        shape from another route *of its own function*: the same function object, or one
        that :func:`redefines` it (same module and qualified name, compiled anew; never a
        lambda). The old route is then replaced in place, by the new one as a whole: its
        place in ``routes`` and in the tree, with the new function, name, methods and
        extras (methods the old route had and the new one lacks go with it; url_for knows
        the new name). A method held by another function is a :class:`RouteConflict`.
        Routes the new one does not collide with stay, even of the same function: the same
        function at another path, or stacked ``@get`` and ``@post`` on one function.

        >>> router = Router()
        >>> async def page(request): return "old"
        >>> _ = router.add("/page", page, ["GET", "POST"])
        >>> async def page(request): return "new"  # the cell, edited and run again
        >>> _ = router.add("/page", page, ["GET"])
        >>> router.routes, router.match("GET", "/page").route.endpoint is page
        ([Route(path='/page', name='page', methods=['GET'])], True)
        """
        route_name = name if name is not None else getattr(endpoint, "__name__", None)
        return self._register(
            path, endpoint, methods, route_name, name is not None, extras, prepare
        )

    def _register(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None,
        route_name: str | None,
        explicit: bool,
        extras: Mapping[str, Any] | None,
        prepare: Callable[[Route], object] | None,
    ) -> Route:
        """:meth:`add`, with the route's name decided (``explicit``: given by the caller)."""
        if isinstance(methods, str):
            # A str is an iterable of one-letter "methods": ["P", "O", "S", "T"].
            raise InvalidPattern(
                f"route {path!r}: methods must be a list of names, e.g. [{methods!r}], "
                f"not the string {methods!r}"
            )
        at_prefix = path == ""
        if at_prefix:
            path = "/"  # the root, until include() puts it at a prefix
        if self.dependencies:
            extras = dict(extras or {})
            extras["dependencies"] = self.dependencies + tuple(extras.get("dependencies", ()))
        pattern = parse_pattern(path, self.converters, self._segments)
        method_set = frozenset(m.upper() for m in (methods if methods is not None else ["GET"]))
        if not method_set:
            raise InvalidPattern(f"route {path!r} has no methods (give at least one, e.g. ['GET'])")
        # PERF (memory): big route sets repeat the same few method sets; share them.
        method_set = self._method_sets.setdefault(method_set, method_set)
        route = Route(
            path,
            endpoint,
            method_set,
            route_name,
            MappingProxyType(dict(extras)) if extras else NO_EXTRAS,
        )
        # Everything is checked before the tree changes: a refused route leaves no trace.
        found = self.find(pattern)
        replaced = self._replaced(found, route, pattern) if found is not None else []
        self._check_name(route, explicit, replaced)
        if prepare is not None:
            prepared(route, prepare(route))
        self._add(route, pattern, explicit, replaced)
        if at_prefix:
            self._at_prefix.add(route)
        return route

    def mount(
        self,
        prefix: str,
        app: Callable[..., Any],
        name: str | None = None,
        prepare: Callable[[Route], object] | None = None,
    ) -> list[Route]:
        """Hand every request to ``prefix`` and below it (any method, HTTP or websocket) to
        the ASGI ``app``: a folder of files, another framework's app, another App.

        A mount is two routes in the tree, with ``extras["mount"]`` the app: ``prefix``
        itself and ``prefix/{path:path}``; ``name`` names the second, so
        ``url_for(name, path="css/site.css")`` builds a URL below the prefix (``prepare``:
        as for :meth:`add`). The App
        gives the mounted app ``root_path`` (what it had, plus ``prefix``) and the full
        ``path``, as the ASGI spec says; lifespan events are not forwarded (start what
        the mounted app needs in the App's own lifespan).

        >>> async def files(scope, receive, send): ...
        >>> router = Router()
        >>> _ = router.mount("/static", files, name="static")
        >>> router.match("GET", "/static/css/site.css").params
        {'path': 'css/site.css'}
        >>> router.url_for("static", path="a.css")
        '/static/a.css'
        >>> print(router)
        <root>
        └── /static  mount files
        """
        if not prefix.startswith("/") or prefix.endswith("/") or "{" in prefix:
            raise InvalidPattern(
                f"mount prefix {prefix!r} must start with '/', not end with '/' and have no"
                " parameters (e.g. '/static')"
            )
        if not callable(app):
            raise InvalidPattern(
                f"mount {prefix!r}: {app!r} is not an ASGI app (an async callable taking"
                " scope, receive, send), e.g. StaticFiles('public')"
            )
        extras = {"mount": app}
        at = self._register(prefix, app, MOUNT_METHODS, None, False, extras, prepare)
        below = self._register(
            prefix + MOUNT_PATH, app, MOUNT_METHODS, name, name is not None, extras, prepare
        )
        return [at, below]

    def _add(self, route: Route, pattern: Pattern, explicit: bool, replaced: list[Route]) -> None:
        """Put the checked ``route`` in the tree, replacing the ``replaced`` routes, and make
        its name known."""
        self.place(route, pattern, replaced)
        if replaced:
            self._replace(replaced, route)
        else:
            self.routes.append(route)
        path, route_name = route.path, route.name
        if route_name is not None:
            self._by_name.setdefault(route_name, []).append((route, pattern, explicit))
            first = self._name_paths.get(route_name)
            if first is None:
                self._name_paths[route_name] = (path, False, path if explicit else None)
            else:
                first_path, several, explicit_path = first
                if explicit_path is None and explicit:
                    explicit_path = path
                self._name_paths[route_name] = (
                    first_path,
                    several or path != first_path,
                    explicit_path,
                )

    def _replace(self, replaced: list[Route], route: Route) -> None:
        """Put ``route`` where the first of ``replaced`` was; forget them all, names too."""
        gone = set(replaced)
        first = min(self.routes.index(old) for old in replaced)
        self.routes[first] = route
        if len(replaced) > 1:
            self.routes[:] = [r for r in self.routes if r not in gone]
        for old_name in {old.name for old in replaced if old.name is not None}:
            entries = [e for e in self._by_name[old_name] if e[0] not in gone]
            if entries:
                self._by_name[old_name] = entries
                self._name_paths[old_name] = _name_summary(entries)
            else:
                del self._by_name[old_name], self._name_paths[old_name]

    def _replaced(self, node: Node, route: Route, pattern: Pattern) -> list[Route]:
        """The routes at ``node`` (``route``'s shape) that ``route`` replaces; a clash refused.

        Each method of ``route`` that the node has already must be held by a route of the
        same function, or of the function it redefines (a re-run cell): that route is
        replaced. Held by another function, it is a RouteConflict.
        """
        replaced: list[Route] = []
        for method in sorted(route.methods):
            target = node.targets.get(method)
            if target is None or target.route in replaced:
                continue
            other = target.route
            if other.endpoint is not route.endpoint and not redefines(
                route.endpoint, other.endpoint
            ):
                raise RouteConflict(conflict_message(route, other, pattern.shape))
            replaced.append(other)
        return replaced

    def _check_name(self, route: Route, explicit: bool, replaced: list[Route]) -> None:
        """Refuse a name that would make url_for ambiguous (``replaced`` routes aside).

        NOTE: a name must lead url_for to one pattern. Reusing a name for the same path
        (e.g. one name per method) is fine; for another path it is an error when either
        name was given explicitly. Two *derived* names (the same function registered at
        two paths) are allowed, and url_for() on that name then says it is ambiguous.
        """
        if route.name is None or route.name not in self._name_paths:
            return
        summary = self._name_paths[route.name]
        if replaced:
            # PERF: only a re-registration summarises the name again, without the old routes.
            entries = [e for e in self._by_name[route.name] if e[0] not in replaced]
            if not entries:
                return
            summary = _name_summary(entries)
        first_path, several, explicit_path = summary
        if explicit:
            # Given explicitly: no other path may have this name, derived or not.
            clash = several or first_path != route.path
        else:
            # Derived: only a name given explicitly at another path refuses it.
            clash = explicit_path is not None and explicit_path != route.path
        if clash:
            # Some other path has the name: find one such route to name in the message.
            for other, _, other_explicit in self._by_name[route.name]:
                clashes = other.path != route.path and (explicit or other_explicit)
                if clashes and other not in replaced:
                    break
            raise RouteConflict(
                f"name {route.name!r} of {methods_text(route.methods)} {route.path} is already"
                f" used by {methods_text(other.methods)} {other.path} (url_for would be"
                " ambiguous; give one of them another name=)"
            )

    def route(
        self, path: str, methods: Iterable[str] | None = None, **options: Unpack[RouteOptions]
    ) -> Callable[[Endpoint], Endpoint]:
        """Decorator form of :meth:`add`; returns the function unchanged.

        The options are the App's (see :meth:`App.route <asgilab.app.App.route>`), kept
        in ``route.extras``: a router built alone and included in an App carries them.
        ``status_code`` (the status of a handler's answer) and ``dependencies`` (callables
        resolved before the handler, after the router's own) are checked now.
        """
        extras = route_extras(path, options)
        name = options.get("name")

        def register(endpoint: Endpoint) -> Endpoint:
            self.add(path, endpoint, methods=methods, name=name, extras=extras)
            return endpoint

        return register

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Endpoint], Endpoint]:
        """``@router.get(path)``: register a GET route (which serves HEAD too)."""
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Endpoint], Endpoint]:
        """``@router.post(path)``: register a POST route."""
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Endpoint], Endpoint]:
        """``@router.put(path)``: register a PUT route."""
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Endpoint], Endpoint]:
        """``@router.patch(path)``: register a PATCH route."""
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Endpoint], Endpoint]:
        """``@router.delete(path)``: register a DELETE route."""
        return self.route(path, ["DELETE"], **options)

    def include(
        self, other: "Router", prefix: str = "", prepare: Callable[[Route], object] | None = None
    ) -> None:
        """Copy every route of ``other`` into this router, under ``prefix`` (a route group).

        The routes are copied now: routes added to ``other`` later are not seen. Route names
        are kept as they are, so a clash with an existing name is reported. Everything is
        checked before anything is added, each copy prepared by ``prepare`` (see :meth:`add`): a
        refused include leaves this router unchanged. Including the same routes again (a
        re-run cell) replaces the copies made before, as :meth:`add` replaces a route.
        """
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise InvalidPattern(
                f"include prefix {prefix!r} must start with '/' and not end with '/' (e.g. '/api')"
            )
        converters = dict(self.converters)
        for conv_name, converter in other.converters.items():
            # (An equal converter is the same: a re-run cell registers it again.)
            if converters.setdefault(conv_name, converter) != converter:
                raise InvalidPattern(
                    f"converter {conv_name!r} of the included router differs from this router's"
                    " (register it once, or give one of them another name)"
                )
        explicit = {r for entries in other._by_name.values() for r, _, e in entries if e}
        copies = []
        for r in other.routes:
            # A route at "" serves the prefix itself (the root, under no prefix).
            path = (prefix or "/") if r in other._at_prefix else prefix + r.path
            extras = r.extras
            if self.dependencies:
                extras = MappingProxyType(
                    {**extras, "dependencies": self.dependencies + extras.get("dependencies", ())}
                )
            copies.append((Route(path, r.endpoint, r.methods, r.name, extras), r in explicit))
        at_prefix = {
            copy for (copy, _), r in zip(copies, other.routes, strict=True) if r in other._at_prefix
        }
        # The check parses into a copy of the segment cache: a refused include must not
        # leave segments built with converters this router does not have.
        segments = dict(self._segments)
        checked = []
        for route, is_explicit in copies:
            pattern = parse_pattern(route.path, converters, segments)
            node = self.find(pattern)
            replaced = self._replaced(node, route, pattern) if node is not None else []
            self._check_name(route, is_explicit, replaced)
            if prepare is not None:
                prepared(route, prepare(route))
            checked.append((route, pattern, is_explicit))
        self.converters = converters
        self._segments = segments
        for route, pattern, is_explicit in checked:
            # Found again: an earlier copy may have made (or replaced at) this node.
            node = self.find(pattern)
            replaced = self._replaced(node, route, pattern) if node is not None else []
            self._add(route, pattern, is_explicit, replaced)
        if not prefix:
            self._at_prefix |= at_prefix  # still at "": a later include puts them at its prefix

    def url_for(self, route_name: str, /, **params: Any) -> str:
        """The path of the route ``route_name``, with ``params`` converted and percent-encoded.

        >>> router = Router()
        >>> _ = router.add("/files/{name}", lambda request: None, name="file")
        >>> router.url_for("file", name="a b/c")
        '/files/a%20b%2Fc'

        NOTE: ``route_name`` is positional-only, so a parameter may be called ``name``.
        (When the module is compiled with mypyc, which ignores ``/``, a route parameter
        spelled ``route_name`` would collide with it.)
        """
        entries = self._by_name.get(route_name)
        if not entries:
            import difflib  # here: only a name that is not there needs it

            close = difflib.get_close_matches(route_name, list(self._by_name), n=3, cutoff=0.6)
            if close:
                hint = f" (did you mean {', '.join(repr(c) for c in close)}?)"
            else:
                hint = f" (known: {', '.join(repr(n) for n in sorted(self._by_name)) or 'none'})"
            raise URLBuildError(f"no route named {route_name!r}{hint}")
        paths = {route.path: pattern for route, pattern, _ in entries}
        if len(paths) > 1:
            listed = ", ".join(sorted(paths))
            raise URLBuildError(
                f"route name {route_name!r} is ambiguous: it names {listed}"
                " (give each route its own name=)"
            )
        ((path, pattern),) = paths.items()
        return pattern.build(params, what=f"route {route_name!r} ({path})")

    # -- showing the tree and the walk -------------------------------------------------------

    def explain(self, method: str, path: str) -> Explanation:
        """The lookup of ``method path`` step by step: nodes tried, rejections, backtracks.

        The walk is the one :meth:`match` takes (without the static fast path), reporting
        to the :class:`Miss` of :mod:`asgilab.explain` that puts each step in words. So
        ``explain(...).match == match(...)``, always.

        >>> router = Router()
        >>> _ = router.add("/users/new", lambda request: None, name="new")
        >>> _ = router.add("/users/{id:int}", lambda request: None, name="user")
        >>> print(router.explain("GET", "/users/7"))
        GET /users/7
          enter     /: segments ['users', '7']
          enter     users: static 'users'
          enter     {id:int}: {id:int} accepts '7'
          match     {id:int}: GET -> Route(path='/users/{id:int}', name='user', methods=['GET'])
        """
        return explain_lookup(self, method, path)

    def __str__(self) -> str:
        """The tree, one node per line, with the routes that end at each node."""
        return tree_text(self.root)


def _name_summary(entries: list[tuple[Route, Pattern, bool]]) -> tuple[str, bool, str | None]:
    """What ``Router._name_paths`` keeps for a name that these (non-empty) entries have."""
    first_path = entries[0][0].path
    several = any(route.path != first_path for route, _, _ in entries)
    explicit_path = next((route.path for route, _, explicit in entries if explicit), None)
    return first_path, several, explicit_path
