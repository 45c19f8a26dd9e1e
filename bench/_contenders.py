"""The routers in the race: how each is built, timed and asked for its answer.

``routers.py`` races them; this module only adapts them to one shape. Each
contender loads a route set written in asgilab syntax (``{name}``,
``{rest:path}``), converted to the router's own (``:name``, ``<name>``,
``*rest``, ...), with one distinct handler per route so that any answer can be
traced back to the route it names. ``runner()`` returns the loop that is timed:
the router's native lookup over prepared inputs and nothing else; ``resolve()``
asks the same question once and normalises the answer for the correctness check.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTENDERS",
    "PARAM",
    "Contender",
    "Endpoint",
    "Lookup",
    "Result",
    "Routes",
    "available",
    "make_endpoints",
    "route_key",
    "to_syntax",
]

# A route is (METHOD, pattern in asgilab syntax); a result is (route key, params).
Routes = list[tuple[str, str]]
Result = tuple[str, dict[str, str]] | None
Endpoint = Callable[..., Any]

PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def route_key(method: str, pattern: str) -> str:
    """How results name a route, whatever the router: ``'GET /users/{user}'``."""
    return f"{method} {pattern}"


def make_endpoints(routes: Routes) -> dict[str, Endpoint]:
    """One distinct handler per route; results are mapped back to keys through them."""

    def make(key: str) -> Endpoint:
        def endpoint(*args: Any) -> str:
            return key

        return endpoint

    return {route_key(m, p): make(route_key(m, p)) for m, p in routes}


def to_syntax(pattern: str, style: Callable[[str, str], str]) -> str:
    """Rewrite ``{name}`` / ``{name:path}`` with ``style(name, converter)``."""
    return PARAM.sub(lambda m: style(m[1], m[2] or "str"), pattern)


# --------------------------------------------------------------------------- contenders


class Contender(ABC):
    """One router in the race: how to build it, time it and read its answer.

    ``runner`` returns a function that loops over prepared ``items`` calling the
    router's native lookup and nothing else; ``resolve`` asks the same question
    once and turns the answer into a :data:`Result` for the correctness check.
    """

    name: str  # column label
    distribution: str  # whose version the header prints
    static_only = False  # the floor answers static paths only

    def __init__(self, routes: Routes, endpoints: dict[str, Endpoint]) -> None:
        self.routes = routes
        self.endpoints = endpoints
        self.key_of = {fn: key for key, fn in endpoints.items()}
        self.build()

    @abstractmethod
    def build(self) -> None: ...

    def items(self, lookups: Sequence[Lookup]) -> list[Any]:
        return [(lookup.method, lookup.path) for lookup in lookups]

    @abstractmethod
    def runner(self) -> Callable[[list[Any]], None]: ...

    @abstractmethod
    def resolve(self, method: str, path: str) -> Result: ...

    def note(self) -> str | None:
        """Anything the reader must know about how this router was timed."""
        return None


class Asgilab(Contender):
    name, distribution = "asgilab", "asgilab"

    def build(self) -> None:
        from asgilab.router import Router

        self.router = Router()
        for i, (method, pattern) in enumerate(self.routes):
            endpoint = self.endpoints[route_key(method, pattern)]
            self.router.add(pattern, endpoint, methods=[method], name=f"r{i}")
        self.lazy = False

    def check_eager(self, match: Any) -> None:
        """If ``Match`` computes ``route`` or ``params`` on access, time that access too."""
        lazy_kinds = (property, functools.cached_property)
        self.lazy = any(
            isinstance(inspect.getattr_static(type(match), attr, None), lazy_kinds)
            for attr in ("route", "params")
        )

    def runner(self) -> Callable[[list[Any]], None]:
        match = self.router.match
        if self.lazy:

            def run_forcing(items: list[Any]) -> None:
                for method, path in items:
                    m = match(method, path)
                    if m is not None:
                        m.route, m.params  # noqa: B018 (the access is the work being timed)

            return run_forcing

        def run(items: list[Any]) -> None:
            for method, path in items:
                match(method, path)

        return run

    def resolve(self, method: str, path: str) -> Result:
        m = self.router.match(method, path)
        if m is None:
            return None
        self.check_eager(m)
        return self.key_of[m.route.endpoint], {k: str(v) for k, v in m.params.items()}

    def note(self) -> str | None:
        if self.lazy:
            return "asgilab: Match computes route/params lazily, so the timing reads both"
        return None


class Falcon(Contender):
    name, distribution = "falcon", "falcon"

    def build(self) -> None:
        from falcon.routing import CompiledRouter

        # Falcon routes to a resource per URI template whose on_<method>
        # attributes are the responders: group the routes by template.
        resources: dict[str, Any] = {}
        for method, pattern in self.routes:
            resource = resources.setdefault(pattern, type("Resource", (), {})())
            setattr(resource, f"on_{method.lower()}", self.endpoints[route_key(method, pattern)])
        self.router = CompiledRouter()
        for pattern, resource in resources.items():
            self.router.add_route(pattern, resource)
        self.router.find("/")  # compiles the generated finder, which build time must include

    def items(self, lookups: Sequence[Lookup]) -> list[Any]:
        return [lookup.path for lookup in lookups]

    def runner(self) -> Callable[[list[Any]], None]:
        find = self.router.find

        def run(items: list[Any]) -> None:
            for path in items:
                find(path)

        return run

    def resolve(self, method: str, path: str) -> Result:
        found = self.router.find(path)
        if found is None:
            return None
        _resource, method_map, params, _template = found
        key = self.key_of.get(method_map.get(method))  # type: ignore[arg-type]
        return None if key is None else (key, dict(params))


class Xrtr(Contender):
    name, distribution = "xrtr", "xrtr"

    def build(self) -> None:
        import xrtr  # type: ignore[import-not-found,unused-ignore]

        def style(name: str, converter: str) -> str:
            return f"*{name}" if converter == "path" else f":{name}"

        self.tree = xrtr.RadixTree()
        for method, pattern in self.routes:
            endpoint = self.endpoints[route_key(method, pattern)]
            self.tree.insert(to_syntax(pattern, style), endpoint, [method])
        self.tree.get("/", "GET")

    def items(self, lookups: Sequence[Lookup]) -> list[Any]:
        return [(lookup.path, lookup.method) for lookup in lookups]

    def runner(self) -> Callable[[list[Any]], None]:
        get = self.tree.get

        def run(items: list[Any]) -> None:
            for path, method in items:
                get(path, method)

        return run

    def resolve(self, method: str, path: str) -> Result:
        endpoint, _middlewares, params = self.tree.get(path, method)
        key = self.key_of.get(endpoint)
        return None if key is None else (key, dict(params))


class Sanic(Contender):
    name, distribution = "sanic", "sanic-routing"

    def build(self) -> None:
        from sanic_routing import BaseRouter
        from sanic_routing.exceptions import BaseException as SanicRoutingError

        class Router(BaseRouter):  # type: ignore[misc,unused-ignore]
            def get(self, **kwargs: Any) -> Any:
                raise NotImplementedError

        def style(name: str, converter: str) -> str:
            return f"<{name}:path>" if converter == "path" else f"<{name}>"

        self.error: type[Exception] = SanicRoutingError
        self.router = Router()
        for method, pattern in self.routes:
            endpoint = self.endpoints[route_key(method, pattern)]
            self.router.add(to_syntax(pattern, style), endpoint, methods=[method])
        self.router.finalize()

    def runner(self) -> Callable[[list[Any]], None]:
        resolve = self.router.resolve
        error = self.error

        def run(items: list[Any]) -> None:
            for method, path in items:
                # try/except costs nothing when nothing is raised, unlike a
                # contextlib.suppress() entered around every timed lookup.
                try:  # noqa: SIM105
                    resolve(path, method=method)
                except error:
                    pass

        return run

    def resolve(self, method: str, path: str) -> Result:
        try:
            _route, handler, params = self.router.resolve(path, method=method)
        except self.error:
            return None
        return self.key_of[handler], {k: str(v) for k, v in params.items()}


class Werkzeug(Contender):
    name, distribution = "werkzeug", "werkzeug"

    def build(self) -> None:
        from werkzeug.exceptions import HTTPException
        from werkzeug.routing import Map, Rule

        def style(name: str, converter: str) -> str:
            return f"<path:{name}>" if converter == "path" else f"<{name}>"

        self.error: type[Exception] = HTTPException
        rules = [
            Rule(to_syntax(pattern, style), endpoint=route_key(method, pattern), methods=[method])
            for method, pattern in self.routes
        ]
        self.adapter = Map(rules).bind("")
        with contextlib.suppress(HTTPException):
            self.adapter.match("/", "GET")  # builds the state machine

    def runner(self) -> Callable[[list[Any]], None]:
        match = self.adapter.match
        error = self.error

        def run(items: list[Any]) -> None:
            for method, path in items:
                try:  # noqa: SIM105 (see Sanic.runner)
                    match(path, method)
                except error:
                    pass

        return run

    def resolve(self, method: str, path: str) -> Result:
        try:
            key, params = self.adapter.match(path, method)
        except self.error:
            return None
        return str(key), {k: str(v) for k, v in params.items()}


class Starlette(Contender):
    name, distribution = "starlette", "starlette"

    def build(self) -> None:
        from starlette.routing import Match, Route

        self.full, self.partial = Match.FULL, Match.PARTIAL
        self.starlette_routes = [
            Route(pattern, self.endpoints[route_key(method, pattern)], methods=[method])
            for method, pattern in self.routes
        ]

    def items(self, lookups: Sequence[Lookup]) -> list[Any]:
        return [
            {"type": "http", "method": lookup.method, "path": lookup.path, "root_path": ""}
            for lookup in lookups
        ]

    def find(self, scope: dict[str, Any]) -> Any:
        """Starlette's ``Router.app`` loop, minus calling the endpoint."""
        partial = None
        for route in self.starlette_routes:
            match, child_scope = route.matches(scope)
            if match is self.full:
                return child_scope
            if match is self.partial and partial is None:
                partial = child_scope
        return None  # a partial match would be a 405, not a route

    def runner(self) -> Callable[[list[Any]], None]:
        find = self.find

        def run(items: list[Any]) -> None:
            for scope in items:
                find(scope)

        return run

    def resolve(self, method: str, path: str) -> Result:
        child = self.find({"type": "http", "method": method, "path": path, "root_path": ""})
        if child is None:
            return None
        return self.key_of[child["endpoint"]], {k: str(v) for k, v in child["path_params"].items()}


class Floor(Contender):
    name, distribution = "floor", "python"
    static_only = True

    def build(self) -> None:
        table = {
            (method, pattern): self.endpoints[route_key(method, pattern)]
            for method, pattern in self.routes
            if "{" not in pattern
        }

        def floor(method: str, path: str) -> Endpoint | None:
            return table.get((method, path))

        self.floor = floor

    def runner(self) -> Callable[[list[Any]], None]:
        floor = self.floor

        def run(items: list[Any]) -> None:
            for method, path in items:
                floor(method, path)

        return run

    def resolve(self, method: str, path: str) -> Result:
        endpoint = self.floor(method, path)
        return None if endpoint is None else (self.key_of[endpoint], {})


CONTENDERS: dict[str, type[Contender]] = {
    c.name: c for c in (Asgilab, Falcon, Xrtr, Sanic, Werkzeug, Starlette, Floor)
}


def available(name: str) -> str | None:
    """``None`` if the contender can be built here, else why not (one line)."""
    module = {"asgilab": "asgilab.router", "sanic": "sanic_routing"}.get(name, name)
    if name == "floor":
        return None
    try:
        __import__(module)
    except ImportError as error:
        if name == "asgilab":
            return f"asgilab.router not available yet ({error})"
        return f"{CONTENDERS[name].distribution} is not installed: pip install -e '.[bench]'"
    return None


@dataclass(frozen=True, slots=True)
class Lookup:
    """One timed question and the answer every router must give."""

    method: str
    path: str
    expected: Result
