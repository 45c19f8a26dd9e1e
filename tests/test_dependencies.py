"""Dependencies: Depends(...) parameters and route-level ``extras["dependencies"]``, run
once per request before the handler; generator clean-ups after the response; the refusals
made at registration; and a route's ``status_code`` for returned values."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from asgilab import Client
from asgilab.app import App
from asgilab.dependencies import Depends
from asgilab.errors import HTTPException, InvalidArgument, InvalidArgumentType, InvalidHandler
from asgilab.handlers import CallWith, Handler
from asgilab.request import Request
from asgilab.responses import PlainTextResponse
from asgilab.router import Router

# -- the smallest app guarding a group of routes with one dependency ----------------------

TOKENS = {"s3cret": "ada"}


async def require_token(request: Request) -> str:
    """Refuse a request without a known token; the user's name otherwise."""
    user = TOKENS.get(request.headers.get("x-token", ""))
    if user is None:
        raise HTTPException(401, "a valid x-token header is required")
    return user


def admin_app() -> App:
    admin = Router()
    guarded = {"dependencies": (require_token,)}  # router-level, once the decorators store it

    async def stats(request: Request) -> dict[str, int]:
        return {"users": len(TOKENS)}

    async def whoami(request: Request, user: str = Depends(require_token)) -> str:
        return user

    admin.add("/stats", stats, extras=guarded)
    admin.add("/whoami", whoami, extras=guarded)
    app = App()

    @app.get("/")
    async def home(request: Request) -> str:
        return "public"

    app.include(admin, prefix="/admin")
    return app


@pytest.mark.parametrize(
    ("path", "token", "status", "body"),
    [
        ("/", None, 200, "public"),
        ("/admin/stats", None, 401, "a valid x-token header is required"),
        ("/admin/stats", "wrong", 401, "a valid x-token header is required"),
        ("/admin/stats", "s3cret", 200, '{"users":1}'),
        ("/admin/whoami", "s3cret", 200, "ada"),
        ("/admin/whoami", None, 401, "a valid x-token header is required"),
    ],
)
def test_a_dependency_guards_a_group_of_routes(
    path: str, token: str | None, status: int, body: str
) -> None:
    headers = {"x-token": token} if token else {}
    response = Client(admin_app()).get(path, headers=headers)
    assert (response.status_code, response.text) == (status, body)


def test_a_refusal_goes_through_the_apps_exception_handlers() -> None:
    app = admin_app()

    @app.exception_handler(401)
    async def unauthorized(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("log in first", 401)

    response = Client(app).get("/admin/stats")
    assert (response.status_code, response.text) == (401, "log in first")


# -- what a dependency receives, and once per request ---------------------------------------


def test_each_dependency_runs_once_per_request_and_nests() -> None:
    calls: list[str] = []

    async def token(request: Request) -> str:
        calls.append("token")
        return request.headers.get("x-token", "")

    def user(token: str = Depends(token)) -> dict[str, str]:  # no request: a plain def
        calls.append("user")
        return {"token": token, "thread": threading.current_thread().name}

    async def audit(request: Request, user: dict[str, str] = Depends(user)) -> None:
        calls.append("audit")

    app = App()

    @app.route("/items/{item_id:int}", extras={"dependencies": (audit,)})
    async def item(
        request: Request,
        item_id: int,
        me: dict[str, str] = Depends(user),
        again: dict[str, str] = Depends(user),
    ) -> dict[str, Any]:
        return {"id": item_id, "token": me["token"], "same": me is again, "thread": me["thread"]}

    response = Client(app).get("/items/7", headers={"x-token": "t"})
    assert response.json() == {
        "id": 7,
        "token": "t",
        "same": True,
        "thread": response.json()["thread"],
    }
    assert response.json()["thread"].startswith("asgilab-sync")  # a plain def: the pool
    assert calls == ["token", "user", "audit"]  # each once, each after what it needs


def test_a_dependency_takes_path_parameters_by_name() -> None:
    async def load(request: Request, user_id: int) -> dict[str, int]:
        return {"id": user_id}

    app = App()

    @app.get("/users/{user_id:int}")
    async def user(request: Request, user: dict[str, int] = Depends(load)) -> dict[str, int]:
        return user

    assert Client(app).get("/users/42").json() == {"id": 42}


def test_routes_without_dependencies_keep_their_direct_call() -> None:
    async def check(request: Request) -> None: ...

    async def page(request: Request) -> str:
        return "ok"

    plain = Handler(Router().add("/", page), None)
    guarded = Handler(Router().add("/", page, extras={"dependencies": (check,)}), None)
    assert (plain.call_with, plain.plan) == (CallWith.REQUEST, None)
    assert guarded.call_with is CallWith.HANDLER
    assert [step.name for step in guarded.plan.steps] == [check.__qualname__]  # type: ignore[union-attr]


# -- generator dependencies: clean-up after the response ------------------------------------


def recording_app(events: list[str], fail: Exception | None) -> App:
    async def session() -> AsyncIterator[str]:
        events.append("open")
        try:
            yield "db"
        except Exception as exc:
            events.append(f"rollback {type(exc).__name__}")
            raise
        else:
            events.append("commit")
        finally:
            events.append("close")

    def lock() -> Iterator[str]:  # a plain generator: both halves in the thread pool
        events.append("lock")
        try:
            yield "lock"
        finally:
            events.append("unlock")

    app = App()

    @app.get("/")
    async def page(request: Request, db: str = Depends(session), held: str = Depends(lock)) -> str:
        events.append("handler")
        if fail is not None:
            raise fail
        return f"{db}+{held}"

    return app


def sent_first(app: App, events: list[str]) -> Any:
    """``app``, noting in ``events`` when its response starts."""

    async def noted(scope: Any, receive: Any, send: Any) -> None:
        async def noting(message: Any) -> None:
            if message["type"] == "http.response.start":
                events.append(f"sent {message['status']}")
            await send(message)

        await app(scope, receive, noting)

    return noted


@pytest.mark.parametrize(
    ("fail", "status", "events"),
    [
        (
            None,
            200,
            ["open", "lock", "handler", "sent 200", "unlock", "commit", "close"],
        ),
        (
            ValueError("boom"),
            500,
            ["open", "lock", "handler", "sent 500", "unlock", "rollback ValueError", "close"],
        ),
        (
            HTTPException(409),
            409,
            ["open", "lock", "handler", "sent 409", "unlock", "rollback HTTPException", "close"],
        ),
    ],
)
def test_generators_finish_after_the_response_with_the_handlers_error(
    fail: Exception | None, status: int, events: list[str]
) -> None:
    seen: list[str] = []
    response = Client(sent_first(recording_app(seen, fail), seen)).get("/")
    assert response.status_code == status
    assert seen == events


def test_a_failing_clean_up_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("cannot close")

    app = App()

    @app.get("/")
    async def page(request: Request, n: int = Depends(broken)) -> str:
        return "ok"

    with caplog.at_level(logging.ERROR, "asgilab.dependencies"):
        response = Client(app).get("/")
    assert (response.status_code, response.text) == (200, "ok")
    assert [r.getMessage() for r in caplog.records] == [
        f"dependency {broken.__qualname__} failed in its clean-up"
    ]


def test_a_generator_that_does_not_yield_is_a_server_error() -> None:
    async def empty() -> AsyncIterator[int]:
        return
        yield 1

    app = App()

    @app.get("/")
    async def page(request: Request, n: int = Depends(empty)) -> str:
        return "ok"

    assert Client(app).get("/").status_code == 500


# -- refused at registration -----------------------------------------------------------------


async def needs_token(request: Request, token: str) -> str:
    return token


async def ping(request: Request, pong: Any = Depends(lambda: None)) -> None: ...


def cycle() -> tuple[Callable[..., Any], Callable[..., Any]]:
    def a(x: Any = None) -> None: ...

    def b(y: Any = Depends(a)) -> None: ...

    a.__defaults__ = (Depends(b),)
    return a, b


A, B = cycle()


async def uses_a(request: Request, v: Any = Depends(A)) -> None: ...


async def typed_int(request: Request, user_id: int) -> None: ...


async def typed_float(request: Request, price: float) -> None: ...


async def typed_uuid(request: Request, key: uuid.UUID) -> None: ...


async def typed_str(request: Request, user_id: str) -> None: ...


async def dep_by_path(request: Request, user_id: Any = Depends(needs_token)) -> None: ...


async def annotated_dep(request: Request, user_id: int) -> None: ...


async def uses_annotated(request: Request, v: Any = Depends(annotated_dep)) -> None: ...


@pytest.mark.parametrize(
    ("path", "func", "extras", "message"),
    [
        (
            "/me",
            uses_a,
            {},
            f"dependency cycle in route '/me': {A.__qualname__} -> {B.__qualname__} -> "
            f"{A.__qualname__}; a dependency cannot need itself",
        ),
        (
            "/me",
            ping,
            {"dependencies": (needs_token,)},
            "dependency needs_token(request: 'Request', token: 'str') -> 'str': parameter "
            "'token' is neither the request, a path parameter of route '/me' (its parameters: "
            "none), nor Depends(...), and has no default; give it a default or declare where "
            "it comes from",
        ),
        (
            "/users/{user_id}",
            typed_int,
            {},
            "handler typed_int: parameter 'user_id' is annotated int, yet route "
            "'/users/{user_id}' passes it as a str; use {user_id:int} in the route, or "
            "annotate it str",
        ),
        (
            "/price/{price:str}",
            typed_float,
            {},
            "handler typed_float: parameter 'price' is annotated float, yet route "
            "'/price/{price:str}' passes it as a str; use {price:float} in the route, or "
            "annotate it str",
        ),
        (
            "/keys/{key}",
            typed_uuid,
            {},
            "handler typed_uuid: parameter 'key' is annotated uuid.UUID, yet route "
            "'/keys/{key}' passes it as a str; use {key:uuid} in the route, or annotate it str",
        ),
        (
            "/users/{user_id}",
            uses_annotated,
            {},
            "dependency annotated_dep(request: 'Request', user_id: 'int') -> 'None': "
            "parameter 'user_id' is annotated int, yet route '/users/{user_id}' passes it as "
            "a str; use {user_id:int} in the route, or annotate it str",
        ),
        (
            "/users/{user_id}",
            dep_by_path,
            {},
            "handler dep_by_path(request: 'Request', user_id: 'Any' = Depends(needs_token)) "
            "-> 'None': parameter 'user_id' is both a parameter of route '/users/{user_id}' "
            "and a Depends(...); rename one",
        ),
    ],
)
def test_what_cannot_be_served_is_refused_at_registration(
    path: str, func: Any, extras: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidHandler) as info:
        Handler(Router().add(path, func, extras=extras), None)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("path", "func"),
    [
        ("/users/{user_id}", typed_str),
        ("/users/{user_id:int}", typed_int),
        ("/price/{price:float}", typed_float),
        ("/keys/{key:uuid}", typed_uuid),
    ],
)
def test_annotations_that_match_their_converter_pass(path: str, func: Any) -> None:
    Handler(Router().add(path, func), None)


# -- status_code ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "result", "expected", "body", "content_type"),
    [
        (201, {"id": 1}, 201, b'{"id":1}', "application/json"),
        (201, [1], 201, b"[1]", "application/json"),
        (202, "queued", 202, b"queued", "text/plain; charset=utf-8"),
        (201, b"\x00", 201, b"\x00", "application/octet-stream"),
        (201, None, 201, b"", None),
        (204, None, 204, b"", None),
        (201, PlainTextResponse("mine", 200), 200, b"mine", "text/plain; charset=utf-8"),
        (204, {"id": 1}, 500, b"Internal Server Error", "text/plain; charset=utf-8"),
    ],
)
def test_a_routes_status_code_applies_to_returned_values(
    status: int, result: Any, expected: int, body: bytes, content_type: str | None
) -> None:
    app = App()

    @app.route("/", ["POST"], extras={"status_code": status})
    async def create(request: Request) -> Any:
        return result

    response = Client(app).post("/")
    assert (response.status_code, response.content) == (expected, body)
    assert response.headers.get("content-type") == content_type
    if expected == 201 and result is None:
        assert response.headers["content-length"] == "0"


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            "201",
            InvalidArgumentType,
            "status_code of route '/' must be a whole number, not '201'; e.g. status_code=201",
        ),
        (
            True,
            InvalidArgumentType,
            "status_code of route '/' must be a whole number, not True; e.g. status_code=201",
        ),
        (42, InvalidArgument, "status_code of route '/' must be an HTTP status (100-599), not 42"),
    ],
)
def test_a_status_code_that_is_no_status_is_refused(
    value: object, error: type[Exception], message: str
) -> None:
    async def create(request: Request) -> None: ...

    with pytest.raises(error) as info:
        Handler(Router().add("/", create, extras={"status_code": value}), None)
    assert str(info.value) == message
