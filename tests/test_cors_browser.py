"""CORS as a browser enforces it: headless Chromium, two uvicorn servers, cross-origin fetch.

Server A serves a page; server B an asgilab API whose CORSMiddleware allows A's origin
(``http://127.0.0.1:<port A>``). The page's script fetches from B. The same page loaded
as ``http://localhost:<port A>`` is another origin, which B does not allow: there the
browser rejects the ``fetch`` with a ``TypeError``, although a simple request still
reached B (CORS hides the answer; it does not stop the request), while a refused
preflight keeps the real request from being sent at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from processes import CHROMIUM, CHROMIUM_FLAGS

from asgilab import App
from asgilab.cors import CORSMiddleware
from asgilab.request import Request
from asgilab.responses import HTMLResponse, JSONResponse, Response
from asgilab.server import Server, serve
from asgilab.types import Receive, Scope, Send

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no system Chromium (Debian: apt-get install chromium)"
    ),
    pytest.mark.slow,
    pytest.mark.server,
]

# The page's scripts: each returns what the page saw, or the error its fetch rejected with.
SIMPLE_GET = """async (url) => {
  try {
    const reply = await fetch(url);
    return {status: reply.status, body: await reply.json(),
            total: reply.headers.get("X-Total"), secret: reply.headers.get("X-Secret")};
  } catch (error) {
    return {error: `${error.name}: ${error.message}`};
  }
}"""
PREFLIGHTED_PUT = """async (url) => {
  try {
    const reply = await fetch(url, {
      method: "PUT",
      headers: {"Content-Type": "application/json", "X-Request-Id": "42"},
      body: JSON.stringify({name: "pear"}),
    });
    return {status: reply.status, body: await reply.json()};
  } catch (error) {
    return {error: `${error.name}: ${error.message}`};
  }
}"""


def page_app() -> App:
    app = App()

    @app.get("/")
    async def page(request: Request) -> Response:
        return HTMLResponse("<!doctype html><title>origin A</title><p>origin A</p>")

    return app


def api_app(page_origin: str) -> App:
    app = App()

    @app.get("/items")
    async def items(request: Request) -> Response:
        return JSONResponse(["apple"], headers={"X-Total": "1", "X-Secret": "s"})

    @app.put("/items")
    async def put_items(request: Request) -> dict[str, Any]:
        return {"stored": await request.json(), "request_id": request.headers["x-request-id"]}

    app.add_middleware(
        CORSMiddleware,
        allow_origins=[page_origin],
        allow_methods=["GET", "PUT"],
        allow_headers=["X-Request-Id"],
        expose_headers=["X-Total"],
    )
    return app


class Recorder:
    """The API as served: it notes each request's method, path and Origin, then passes it on."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str | None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = dict(scope["headers"]).get(b"origin")
            self.seen.append(
                (scope["method"], scope["path"], origin.decode() if origin is not None else None)
            )
        await self.app(scope, receive, send)


@dataclass
class Servers:
    page: Server
    api: Server
    recorder: Recorder

    @property
    def allowed(self) -> str:
        """The page's origin the API allows."""
        return f"http://127.0.0.1:{self.page.port}"

    @property
    def other(self) -> str:
        """The same page under another name: another origin, which the API does not allow."""
        return f"http://localhost:{self.page.port}"

    @property
    def items(self) -> str:
        return f"{self.api.url}/items"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    page = serve(page_app(), lifespan="off")  # the port is known once bound, before it starts
    recorder = Recorder(api_app(f"http://127.0.0.1:{page.port}"))
    with page, serve(recorder, lifespan="off") as api:
        yield Servers(page, api, recorder)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, servers: Servers) -> Iterator[Any]:
    page = browser.new_page()
    servers.recorder.seen.clear()
    try:
        yield page
    finally:
        page.close()


def test_simple_get_is_read_by_the_allowed_origin(page: Any, servers: Servers) -> None:
    page.goto(servers.allowed + "/", timeout=30_000)
    seen = page.evaluate(SIMPLE_GET, servers.items)
    # X-Secret is not exposed: the script sees null, though the server sent it.
    assert seen == {"status": 200, "body": ["apple"], "total": "1", "secret": None}
    assert servers.recorder.seen == [("GET", "/items", servers.allowed)]


def test_preflighted_put_is_asked_about_then_sent(page: Any, servers: Servers) -> None:
    page.goto(servers.allowed + "/", timeout=30_000)
    seen = page.evaluate(PREFLIGHTED_PUT, servers.items)
    assert seen == {"status": 200, "body": {"stored": {"name": "pear"}, "request_id": "42"}}
    assert servers.recorder.seen == [
        ("OPTIONS", "/items", servers.allowed),
        ("PUT", "/items", servers.allowed),
    ]


def test_simple_get_from_another_origin_rejects_yet_reaches_the_server(
    page: Any, servers: Servers
) -> None:
    page.goto(servers.other + "/", timeout=30_000)
    seen = page.evaluate(SIMPLE_GET, servers.items)
    assert seen == {"error": "TypeError: Failed to fetch"}
    # CORS kept the answer from the script, not the request from the server.
    assert servers.recorder.seen == [("GET", "/items", servers.other)]


def test_refused_preflight_keeps_the_request_from_being_sent(page: Any, servers: Servers) -> None:
    page.goto(servers.other + "/", timeout=30_000)
    seen = page.evaluate(PREFLIGHTED_PUT, servers.items)
    assert seen == {"error": "TypeError: Failed to fetch"}
    assert servers.recorder.seen == [("OPTIONS", "/items", servers.other)]
