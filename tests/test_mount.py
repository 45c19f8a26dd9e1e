"""Mounting any ASGI app under a prefix: scope, root_path, methods, websocket, listing."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from asgilab import App, Request, Router, StaticFiles
from asgilab.errors import InvalidPattern
from asgilab.types import Receive, Scope, Send


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path=kwargs.pop("root_path", ""))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


async def echo_scope(scope: Scope, receive: Receive, send: Send) -> None:
    """A three-line ASGI app that answers with what its scope says."""
    body = f"{scope['method']} root_path={scope['root_path']} path={scope['path']}"
    body += f" raw_path={scope['raw_path'].decode()}"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.encode()})


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("GET", "/sub", "GET root_path=/sub path=/sub raw_path=/sub"),
        ("GET", "/sub/", "GET root_path=/sub path=/sub/ raw_path=/sub/"),
        ("POST", "/sub/a/b", "POST root_path=/sub path=/sub/a/b raw_path=/sub/a/b"),
        ("PROPFIND", "/sub/x", "PROPFIND root_path=/sub path=/sub/x raw_path=/sub/x"),
        ("OPTIONS", "/sub/x", "OPTIONS root_path=/sub path=/sub/x raw_path=/sub/x"),
        ("GET", "/sub/caf%C3%A9", "GET root_path=/sub path=/sub/café raw_path=/sub/caf%C3%A9"),
    ],
)
def test_a_mounted_app_gets_the_full_path_and_the_prefix_as_root_path(
    method: str, url: str, expected: str
) -> None:
    app = App()
    app.mount("/sub", echo_scope)

    @app.get("/subway")
    async def subway(request: Request) -> str:
        return "not mounted"

    response = call(app, method, url)
    assert (response.status_code, response.text) == (200, expected)
    assert call(app, "GET", "/subway").text == "not mounted"


def test_the_outer_root_path_comes_first() -> None:
    app = App()
    app.mount("/sub", echo_scope)
    response = call(app, "GET", "/sub/x", root_path="/outer")
    assert response.text == "GET root_path=/outer/sub path=/outer/sub/x raw_path=/outer/sub/x"


def test_a_router_mount_is_kept_by_include_and_listed() -> None:
    router = Router()
    router.mount("/files", echo_scope, name="files")
    app = App()
    app.include(router, prefix="/api")
    response = call(app, "GET", "/api/files/a.txt")
    assert (
        response.text == "GET root_path=/api/files path=/api/files/a.txt raw_path=/api/files/a.txt"
    )
    assert app.url_for("files", path="a.txt") == "/api/files/a.txt"
    assert str(app.router) == "<root>\n└── /api/files  mount echo_scope"


def test_a_mount_prefix_is_checked() -> None:
    with pytest.raises(InvalidPattern, match="mount prefix 'sub/' must start with '/'"):
        App().mount("sub/", echo_scope)
    with pytest.raises(InvalidPattern, match="is not an ASGI app"):
        App().mount("/sub", "echo")  # type: ignore[arg-type]


def test_a_websocket_reaches_a_mounted_app() -> None:
    seen: list[Scope] = []

    async def ws(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()
        await send({"type": "websocket.close", "code": 1000})

    app = App()
    app.mount("/ws", ws)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws/chat", "raw_path": b"/ws/chat", "root_path": ""}
    asyncio.run(app(scope, receive, send))
    assert (seen[0]["root_path"], seen[0]["path"]) == ("/ws", "/ws/chat")
    assert sent == [{"type": "websocket.close", "code": 1000}]


def test_static_files_mounted(tmp_path: Path) -> None:
    (tmp_path / "site.css").write_text("body {}")
    app = App()
    app.mount("/static", StaticFiles(tmp_path), name="static")
    response = call(app, "GET", "/static/site.css")
    assert (response.status_code, response.text) == (200, "body {}")
    assert call(app, "GET", "/static/missing.css").status_code == 404
    assert call(app, "GET", "/static/../secret").status_code == 404
    assert app.url_for("static", path="site.css") == "/static/site.css"


def test_a_nested_app_runs_its_middleware_and_builds_its_urls() -> None:
    inner = App()

    @inner.middleware
    async def tag(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-inner"] = "yes"
        return response

    @inner.get("/items/{item_id:int}", name="item")
    async def item(request: Request, item_id: int) -> dict[str, Any]:
        return {"id": item_id, "url": request.url_for("item", item_id=item_id)}

    outer = App()
    outer.mount("/inner", inner)
    response = call(outer, "GET", "/inner/items/3")
    assert response.status_code == 200
    assert response.headers["x-inner"] == "yes"
    assert response.json() == {"id": 3, "url": "/inner/items/3"}


def test_a_starlette_app_mounted_routes_and_builds_urls() -> None:
    starlette = pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request as SRequest
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def user(request: SRequest) -> JSONResponse:
        return JSONResponse(
            {"id": request.path_params["uid"], "url": str(request.url_for("user", uid="7"))}
        )

    peer = Starlette(routes=[Route("/users/{uid}", user, name="user")])
    app = App()
    app.mount("/peer", peer)
    response = call(app, "GET", "/peer/users/3")
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "3", "url": "http://test/peer/users/7"}
    assert starlette
