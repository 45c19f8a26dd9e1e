"""One error contract: every answer the App makes itself (400, 404, 405, 413, 500) goes
through the exception handlers, and an HTTPException never escapes the App."""

import asyncio
import logging
from typing import Any

import httpx
import pytest
from reliability.support import asgi_request

from asgilab import App, HTTPException, Request
from asgilab.errors import InvalidArgument
from asgilab.responses import JSONResponse
from asgilab.types import ASGIApp


def call(app: ASGIApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def raw(app: ASGIApp, raw_path: bytes, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send a raw ASGI request (httpx would re-encode a bad path)."""
    reply = asyncio.run(asgi_request(app, method, raw_path))
    return reply.status, dict(reply.headers), reply.body


def shaped_app(**options: Any) -> App:
    """An app whose one HTTPException handler shapes every error as JSON."""
    app = App(**options)

    @app.exception_handler(HTTPException)
    async def shape(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": exc.status_code, "detail": exc.detail}, exc.status_code, headers=exc.headers
        )

    @app.get("/api/articles/{slug}")
    async def article(request: Request, slug: str) -> str:
        return slug

    @app.post("/api/articles")
    async def create(request: Request) -> Any:
        return await request.json()

    @app.post("/api/small", max_body_size=4)
    async def small(request: Request) -> bytes:
        return await request.body()

    @app.get("/api/boom")
    async def boom(request: Request) -> None:
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize(
    ("raw_path", "status"),
    [
        (b"/api/articles/%ff", 400),
        (b"/api/articles/%zz", 400),
        (b"/api/articles/\xff", 400),
        (b"/nowhere", 404),
    ],
)
def test_answers_the_app_makes_itself_go_through_the_handler(raw_path: bytes, status: int) -> None:
    code, headers, body = raw(shaped_app(), raw_path)
    assert (code, headers["content-type"]) == (status, "application/json")
    assert body.startswith(b'{"error":%d' % status)


def test_405_413_and_bad_json_go_through_the_handler() -> None:
    app = shaped_app()
    response = call(app, "DELETE", "/api/articles")
    assert response.status_code == 405
    assert response.json() == {"error": 405, "detail": "Method Not Allowed"}
    assert response.headers["allow"] == "OPTIONS, POST"
    response = call(app, "POST", "/api/small", content=b"too long")
    assert response.status_code == 413
    assert response.json()["error"] == 413
    response = call(app, "POST", "/api/articles", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"] == 400


def test_a_500_is_logged_with_its_traceback_even_when_a_handler_shapes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = shaped_app()

    @app.exception_handler(Exception)
    async def oops(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": 500}, 500)

    with caplog.at_level(logging.ERROR, logger="asgilab.app"):
        response = call(app, "GET", "/api/boom")
    assert (response.status_code, response.json()) == (500, {"error": 500})
    records = [r for r in caplog.records if r.exc_info]
    assert len(records) == 1
    assert "GET /api/boom: unhandled RuntimeError" in records[0].getMessage()


@pytest.mark.parametrize(
    ("detail", "content_type", "body"),
    [
        (
            {"field": "title", "problem": "missing"},
            "application/json",
            b'{"field":"title","problem":"missing"}',
        ),
        (["a", 1], "application/json", b'["a",1]'),
        ("gone", "text/plain; charset=utf-8", b"gone"),
        (None, "text/plain; charset=utf-8", b"Conflict"),
    ],
)
def test_detail_is_any_json_value(detail: Any, content_type: str, body: bytes) -> None:
    app = App()

    @app.get("/")
    async def index(request: Request) -> None:
        raise HTTPException(409, detail, headers={"x-why": "test"})

    response = call(app, "GET", "/")
    assert response.status_code == 409
    assert response.headers["content-type"] == content_type
    assert response.headers["x-why"] == "test"
    assert response.content == body


@pytest.mark.parametrize(
    ("attribute", "value", "status", "logged"),
    [
        ("detail", object(), 409, True),
        ("status_code", "409", 500, True),
        ("status_code", 1000, 500, True),
        ("headers", {"x": object()}, 409, True),
        ("headers", None, 409, False),
    ],
)
def test_an_http_exception_spoilt_after_construction_never_escapes(
    attribute: str, value: Any, status: int, logged: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()

    @app.get("/")
    async def index(request: Request) -> None:
        exc = HTTPException(409)
        setattr(exc, attribute, value)
        raise exc

    with caplog.at_level(logging.ERROR, logger="asgilab.app"):
        response = call(app, "GET", "/")
    assert response.status_code == status
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert any("HTTPException" in r.getMessage() for r in caplog.records) is logged


def test_http_exception_refuses_a_bad_status() -> None:
    with pytest.raises(InvalidArgument, match="HTTP status codes run from 100 to 599, not 99"):
        HTTPException(99)
