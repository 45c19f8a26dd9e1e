"""Dependencies: what a handler needs, computed before it runs, once per request.

A handler declares what it needs as a parameter default, ``Depends(func)``; a route
or a router lists what must run before its handlers for its effect alone (an auth
check) in ``extras["dependencies"]``::

    async def current_user(request):
        user = USERS.get(request.headers.get("x-token", ""))
        if user is None:
            raise HTTPException(401)
        return user

    @app.get("/me")
    async def me(request, user: User = Depends(current_user)):
        return {"name": user.name}

A dependency is called as a handler is: the request if its first parameter is
positional, path parameters by name, and ``Depends(...)`` parameters of its own
(nesting). It may be ``async def``, a plain ``def`` (run in the thread pool), or a
generator of either kind that ``yield``s its value once: the code after ``yield``
runs after the response is sent, and when the handler (or a later dependency)
raised, that exception is thrown in at the ``yield`` so the generator may log it or
roll back. Raising ``HTTPException`` refuses the request with that answer, through
the App's exception handlers, as a handler's error would.

Everything is inspected when the route is registered, into a :class:`Plan`: the
dependencies in the order they run (each after those it needs), cycles refused
naming the chain, a parameter nothing can fill refused naming function and
parameter. A request runs the plan and nothing else: each dependency once, its
value shared by every parameter that asks for it. A route without dependencies has
no plan and pays nothing.

>>> async def token(request): return "t0k3n"
>>> async def user(request, token: str = Depends(token)): return {"token": token}
>>> async def me(request, user: dict = Depends(user)): ...
>>> plan = Plan.build("/me", {}, (), [("user", user)])
>>> [step.name for step in plan.steps]
['token', 'user']
"""

from __future__ import annotations

import enum
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .background import is_async_callable, run_sync
from .converters import converter_name
from .errors import AsgilabError, ClientDisconnect, InvalidArgumentType, InvalidHandler

if TYPE_CHECKING:
    from .request import Request

__all__ = [
    "Dependency",
    "DependencyError",
    "Depends",
    "Plan",
    "Step",
    "check_annotation",
    "finish_dependencies",
    "path_converters",
]

logger = logging.getLogger("asgilab.dependencies")

# Where a request's pending clean-ups wait for the App's after-response step.
CLEANUP_KEY = "asgilab.cleanup"

# A route's parameters and their converters: {id:int} -> ("id", "int"), {id} -> ("id", "").
_PARAM = re.compile(r"\{([^{}:]+)(?::([^{}]*))?\}")

# The types a built-in converter produces (see converter_name), as string annotations read
# them (``from __future__ import annotations``).
_CONVERTED_NAMES = {"int": "int", "float": "float", "uuid.UUID": "uuid", "UUID": "uuid"}

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class DependencyError(AsgilabError, RuntimeError):
    """A generator dependency that did not yield exactly once."""


@dataclass(frozen=True, slots=True, repr=False)
class Dependency:
    """The marker :func:`Depends` puts in a signature: ``func`` fills this parameter."""

    func: Callable[..., Any]

    def __repr__(self) -> str:
        return f"Depends({_name(self.func)})"


def Depends(func: Callable[..., Any]) -> Any:
    """Declare a parameter filled by ``func``'s value, computed once per request.

    Typed ``Any`` so that ``user: User = Depends(current_user)`` passes a type checker.

    >>> async def current_user(request): ...
    >>> Depends(current_user)
    Depends(current_user)
    """
    if not callable(func):
        raise InvalidArgumentType(
            f"Depends() takes a function, not {func!r}; pass the function itself, "
            "e.g. Depends(current_user), not Depends(current_user())"
        )
    return Dependency(func)


def path_converters(path: str) -> dict[str, str]:
    """The parameters of route ``path`` and their converter names ("" for none).

    >>> path_converters("/users/{user_id:int}/files/{name}")
    {'user_id': 'int', 'name': ''}
    """
    return {name: converter for name, converter in _PARAM.findall(path)}


def check_annotation(label: str, param: inspect.Parameter, path: str, converter: str) -> None:
    """Refuse path parameter ``param`` annotated as a type its route passes as a string.

    ``async def user(request, user_id: int)`` on ``/users/{user_id}`` would receive
    ``"42"``: the annotation promises what no converter delivers. Annotations of
    ``int``, ``float`` and ``uuid.UUID`` need a converter; ``str``, ``Any``, none, and
    custom converters pass.

    >>> import textwrap
    >>> def user(request, user_id: int): ...
    >>> param = inspect.signature(user).parameters["user_id"]
    >>> try:
    ...     check_annotation("handler user", param, "/users/{user_id}", "")
    ... except InvalidHandler as exc:
    ...     print(textwrap.fill(str(exc), 80))
    handler user: parameter 'user_id' is annotated int, yet route '/users/{user_id}'
    passes it as a str; use {user_id:int} in the route, or annotate it str
    """
    if converter not in ("", "str", "path"):
        return  # a converter of its own kind: it knows what it gives
    annotation = param.annotation
    wanted = (
        _CONVERTED_NAMES.get(annotation)
        if isinstance(annotation, str)
        else converter_name(annotation)
    )
    if wanted is None:
        return
    shown = annotation if isinstance(annotation, str) else annotation.__qualname__
    if wanted == "uuid" and not isinstance(annotation, str):
        shown = "uuid.UUID"
    raise InvalidHandler(
        f"{label}: parameter {param.name!r} is annotated {shown}, yet route {path!r} passes "
        f"it as a str; use {{{param.name}:{wanted}}} in the route, or annotate it str"
    )


def dependency_of(param: inspect.Parameter) -> Callable[..., Any] | None:
    """The function a ``Depends(...)`` default names, else None."""
    default = param.default
    return default.func if isinstance(default, Dependency) else None


class Kind(enum.Enum):
    """How a dependency is called and its value taken, decided at registration."""

    ASYNC = "await func(...)"
    SYNC = "func(...) in the thread pool"
    ASYNC_GENERATOR = "the first value of an async generator; the rest after the response"
    GENERATOR = "the first value of a generator, in the thread pool; the rest after"


@dataclass(frozen=True, slots=True)
class Step:
    """One dependency of a route, inspected once: what it is given and how it is called."""

    func: Callable[..., Any]
    name: str
    kind: Kind
    # Whether its first positional parameter receives the Request.
    takes_request: bool
    # The route's path parameters it takes by name.
    path_params: tuple[str, ...]
    # Its Depends(...) parameters: (parameter name, index of the step that fills it).
    depends: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """The dependencies of one route, in the order they run: each after those it needs.

    ``handler_depends`` are the handler's own ``Depends`` parameters, as (parameter
    name, index of the step that fills it); ``cleans_up`` says whether a generator is
    among the steps, whose rest must run after the response.
    """

    steps: tuple[Step, ...]
    handler_depends: tuple[tuple[str, int], ...]
    cleans_up: bool

    @classmethod
    def build(
        cls,
        path: str,
        converters: Mapping[str, str],
        effects: Iterable[Callable[..., Any]],
        handler_depends: Sequence[tuple[str, Callable[..., Any]]],
    ) -> Plan:
        """Inspect every dependency of route ``path`` (its parameters: ``converters``):
        ``effects`` run for their effect first, then what the handler's parameters need."""
        steps: list[Step] = []
        index: dict[int, int] = {}  # id(func) -> its step; a function runs once per request

        def visit(func: Callable[..., Any], chain: tuple[Callable[..., Any], ...]) -> int:
            if id(func) in index:
                return index[id(func)]
            if any(func is f for f in chain):
                loop = [*chain[[id(f) for f in chain].index(id(func)) :], func]
                raise InvalidHandler(
                    f"dependency cycle in route {path!r}: {' -> '.join(map(_name, loop))}; "
                    "a dependency cannot need itself"
                )
            takes_request, path_params, needs = _inspect(func, path, converters)
            depends = tuple((name, visit(sub, (*chain, func))) for name, sub in needs)
            index[id(func)] = len(steps)
            steps.append(Step(func, _name(func), _kind(func), takes_request, path_params, depends))
            return index[id(func)]

        for func in effects:
            if isinstance(func, Dependency):  # dependencies=[Depends(check)] reads as well
                func = func.func
            if not callable(func):
                raise InvalidArgumentType(
                    f"route {path!r}: dependencies must be functions, not {func!r}"
                )
            visit(func, ())
        wanted = tuple((name, visit(func, ())) for name, func in handler_depends)
        cleans_up = any(s.kind in (Kind.ASYNC_GENERATOR, Kind.GENERATOR) for s in steps)
        return cls(tuple(steps), wanted, cleans_up)

    async def solve(
        self, request: Request, params: Mapping[str, Any], exits: list[Any]
    ) -> dict[str, Any]:
        """Run every step for ``request``; the handler's ``Depends`` arguments by name.

        Each generator started is appended to ``exits`` as soon as it has yielded, so
        that it is finished even when a later step raises.
        """
        values: list[Any] = []
        for step in self.steps:
            kwargs = {name: params[name] for name in step.path_params if name in params}
            for name, at in step.depends:
                kwargs[name] = values[at]
            args = (request,) if step.takes_request else ()
            kind = step.kind
            if kind is Kind.ASYNC:
                value = await step.func(*args, **kwargs)
            elif kind is Kind.SYNC:
                value = await run_sync(step.func, *args, **kwargs)
            elif kind is Kind.ASYNC_GENERATOR:
                agen = step.func(*args, **kwargs)
                try:
                    value = await agen.__anext__()
                except StopAsyncIteration:
                    raise DependencyError(f"dependency {step.name} did not yield") from None
                exits.append(agen)
            else:
                gen = step.func(*args, **kwargs)
                value = await run_sync(next, gen, _DONE)
                if value is _DONE:
                    raise DependencyError(f"dependency {step.name} did not yield")
                exits.append(gen)
            values.append(value)
        return {name: values[at] for name, at in self.handler_depends}

    async def run(
        self,
        request: Request,
        params: Mapping[str, Any],
        call: Callable[[dict[str, Any]], Any],
    ) -> Any:
        """Solve the plan, then ``await call(values)`` (the handler); generators are left
        for :func:`finish_dependencies`, after the response, with the error if one came."""
        exits: list[Any] = []
        try:
            result = await call(await self.solve(request, params, exits))
        except (ClientDisconnect, Exception) as exc:
            if exits:
                if isinstance(exc, ClientDisconnect):
                    await _finish(exits, exc)  # no response will be sent: finish now
                else:
                    _after_response(request, exits, exc)
            raise
        except BaseException as exc:  # cancelled: nothing will be sent, finish now
            if exits:
                await _finish(exits, exc)
            raise
        if exits:
            _after_response(request, exits, None)
        return result


def _after_response(request: Request, exits: list[Any], error: BaseException | None) -> None:
    """Leave ``exits`` for the App to finish after the response (see finish_dependencies)."""
    request.scope[CLEANUP_KEY] = (exits, error)
    # NOTE: the App runs its after-response step when the request has background tasks
    # (or a form): touching request.background makes an empty set, so it runs.
    request.background  # noqa: B018


async def finish_dependencies(request: Request) -> None:
    """Finish the generator dependencies of ``request``, after its response is sent.

    The App calls this after sending; a request without any pays one dict lookup.
    """
    pending = request.scope.pop(CLEANUP_KEY, None)
    if pending is not None:
        exits, error = pending
        await _finish(exits, error)


async def _finish(exits: list[Any], error: BaseException | None) -> None:
    """Run the rest of each generator, the last started first, throwing ``error`` in.

    The response is gone: what a clean-up raises is logged, never raised, and the
    other clean-ups still run. The error thrown in, raised again, is the normal end.
    """
    for gen in reversed(exits):
        name = getattr(gen, "__qualname__", repr(gen))
        try:
            if inspect.isasyncgen(gen):
                again = await _finish_async(gen, error)
            else:
                again = await run_sync(_finish_sync, gen, error)
        except BaseException as exc:
            if exc is error:
                continue
            if not isinstance(exc, Exception):
                raise
            logger.exception("dependency %s failed in its clean-up", name)
            continue
        if again:
            logger.error("dependency %s yielded twice; a dependency yields once", name)


async def _finish_async(agen: Any, error: BaseException | None) -> bool:
    """Whether ``agen`` yielded again instead of finishing."""
    try:
        if error is None:
            await agen.__anext__()
        else:
            await agen.athrow(error)
    except StopAsyncIteration:
        return False
    await agen.aclose()
    return True


def _finish_sync(gen: Any, error: BaseException | None) -> bool:
    """Whether ``gen`` yielded again instead of finishing (runs in the thread pool)."""
    try:
        if error is None:
            next(gen)
        else:
            gen.throw(error)
    except StopIteration:
        return False
    gen.close()
    return True


# A marker: a generator that ended without yielding a value.
_DONE: Any = object()


def _name(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", repr(func)))


def _kind(func: Callable[..., Any]) -> Kind:
    if inspect.isasyncgenfunction(func):
        return Kind.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(func):
        return Kind.GENERATOR
    return Kind.ASYNC if is_async_callable(func) else Kind.SYNC


def _inspect(
    func: Callable[..., Any], path: str, converters: Mapping[str, str]
) -> tuple[bool, tuple[str, ...], list[tuple[str, Callable[..., Any]]]]:
    """A dependency's signature, read once: whether it takes the request, the path
    parameters it takes by name, and its ``Depends`` parameters. The rules are the
    handler's (see :class:`~asgilab.handlers.Handler`)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: call it bare
        return False, (), []
    label = f"dependency {_name(func)}{signature}"
    parameters = list(signature.parameters.values())
    takes_request = (
        bool(parameters) and parameters[0].kind in _POSITIONAL and not dependency_of(parameters[0])
    )
    if takes_request and parameters[0].name in converters:
        raise InvalidHandler(
            f"{label}: its first parameter {parameters[0].name!r} receives the Request, yet "
            f"it is a parameter of route {path!r}; add a `request` parameter before it"
        )
    rest = parameters[1:] if takes_request else parameters
    names: list[str] = []
    needs: list[tuple[str, Callable[..., Any]]] = []
    for param in rest:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            names.extend(n for n in converters if n not in names)
            continue
        sub = dependency_of(param)
        if sub is not None:
            needs.append((param.name, sub))
        elif param.name in converters:
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise InvalidHandler(
                    f"{label}: path parameter {param.name!r} of route {path!r} is "
                    "positional-only; path parameters are passed by name, so put the '/' before it"
                )
            check_annotation(label, param, path, converters[param.name])
            names.append(param.name)
        elif param.default is inspect.Parameter.empty:
            known = ", ".join(converters) or "none"
            raise InvalidHandler(
                f"{label}: parameter {param.name!r} is neither the request, a path parameter "
                f"of route {path!r} (its parameters: {known}), nor Depends(...), and has no "
                "default; give it a default or declare where it comes from"
            )
    return takes_request, tuple(names), needs
