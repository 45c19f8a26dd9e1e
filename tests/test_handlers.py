"""How a Handler calls its function, chosen once at registration, and what a result becomes.

Whatever the CallWith, Handler.__call__ (the general way) gives the same result as the
App's direct call would."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asgilab.dependencies import Depends
from asgilab.errors import InvalidReturn
from asgilab.handlers import CallWith, Handler, render_result, to_response
from asgilab.request import Request
from asgilab.responses import JSONResponse, Response
from asgilab.router import Router


async def by_request(request: Any) -> Any:
    return ("request",)


async def by_one_param(request: Any, user_id: Any) -> Any:
    return ("one", user_id)


async def by_params(request: Any, a: Any, b: Any) -> Any:
    return ("params", a, b)


async def by_keywords(request: Any, **params: Any) -> Any:
    return ("keywords", params)


async def by_some(request: Any, a: Any) -> Any:
    return ("some", a)


async def without_request() -> Any:
    return ("no request",)


def in_thread(request: Any, user_id: Any) -> Any:
    return ("thread", user_id)


async def answer() -> str:
    return "42"


async def only_depends(value: Any = Depends(answer)) -> Any:
    return ("depends", value)


@pytest.mark.parametrize(
    ("path", "func", "extras", "call_with", "result"),
    [
        ("/", by_request, {}, CallWith.REQUEST, ("request",)),
        ("/u/{user_id}", by_one_param, {}, CallWith.ONE_PARAM, ("one", "7")),
        ("/{a}/{b}", by_params, {}, CallWith.PARAMS, ("params", "1", "2")),
        ("/{a}/{b}", by_keywords, {}, CallWith.PARAMS, ("keywords", {"a": "1", "b": "2"})),
        ("/{a}/{b}", by_some, {}, CallWith.HANDLER, ("some", "1")),
        ("/", without_request, {}, CallWith.HANDLER, ("no request",)),
        ("/", by_request, {"max_files": 1}, CallWith.HANDLER, ("request",)),
        ("/u/{user_id}", in_thread, {}, CallWith.HANDLER, ("thread", "7")),
        # A first parameter that is a Depends(...) is not the request.
        ("/", only_depends, {}, CallWith.HANDLER, ("depends", "42")),
        ("/", by_request, {"dependencies": (answer,)}, CallWith.HANDLER, ("request",)),
    ],
)
def test_a_handler_picks_its_call_by_its_signature_once(
    path: str, func: Any, extras: dict[str, Any], call_with: CallWith, result: Any
) -> None:
    handler = Handler(Router().add(path, func, extras=extras), None)
    assert handler.call_with is call_with
    params = (
        {"user_id": "7"} if "user_id" in path else {"a": "1", "b": "2"} if "{a}" in path else {}
    )
    request = Request({"type": "http", "path_params": params}, receive=None)  # type: ignore[arg-type]
    assert asyncio.run(handler(request, params)) == result


def test_a_route_with_form_limits_hands_them_to_its_request() -> None:
    handler = Handler(Router().add("/", by_request, extras={"max_files": 1}), None)
    request = Request({"type": "http"}, receive=None)  # type: ignore[arg-type]
    asyncio.run(handler(request, {}))
    assert request.form_limits == handler.form_limits is not None


@pytest.mark.parametrize(
    ("result", "headers", "body"),
    [
        ("héllo", [(b"content-type", b"text/plain; charset=utf-8")], "héllo".encode()),
        ({"id": 1}, [(b"content-type", b"application/json")], b'{"id":1}'),
        ([1, 2], [(b"content-type", b"application/json")], b"[1,2]"),
        ("x" * 2000, [(b"content-type", b"text/plain; charset=utf-8")], b"x" * 2000),
    ],
)
def test_the_commonest_results_become_prebuilt_headers_and_a_body(
    result: Any, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    length = (b"content-length", str(len(body)).encode())
    assert render_result(result, "h") == ([*headers, length], body)


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        (None, 204, b""),
        (b"\x00raw", 200, b"\x00raw"),
        (JSONResponse({"a": 1}, 201), 201, b'{"a":1}'),
    ],
)
def test_other_results_become_a_response(result: Any, status: int, body: bytes) -> None:
    response = render_result(result, "h")
    assert isinstance(response, Response)
    assert (response.status_code, response.body) == (status, body)


def test_a_result_that_cannot_be_sent_names_the_handler() -> None:
    with pytest.raises(InvalidReturn) as info:
        render_result(42, "count")
    assert str(info.value) == (
        "handler count returned int; return a Response, dict, list, str, bytes or None"
    )


@pytest.mark.parametrize(
    ("result", "status", "expected", "body"),
    [
        ({"a": 1}, 201, 201, b'{"a":1}'),
        (None, 201, 201, b""),
        (None, 200, 200, b""),
        (None, 204, 204, b""),
        (None, None, 204, b""),
        (JSONResponse({"a": 1}, 202), 201, 202, b'{"a":1}'),
    ],
)
def test_a_status_code_applies_to_values_not_to_responses(
    result: Any, status: int | None, expected: int, body: bytes
) -> None:
    response = to_response(result, "h", status)
    assert (response.status_code, response.body) == (expected, body)


def test_a_body_for_a_status_without_one_names_the_handler() -> None:
    with pytest.raises(InvalidReturn) as info:
        to_response({"a": 1}, "create", 204)
    assert str(info.value) == (
        "handler create returned dict, yet its route answers 204, which has no body; return None"
    )
