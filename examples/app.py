"""A small asgilab app to try the command line on.

From the repository root::

    asgilab routes examples.app:app
    asgilab tree examples.app:app --highlight "GET /users/42"
    asgilab request examples.app:app GET /
    asgilab request examples.app:app POST /echo -d '{"hello": "world"}' --trace
    asgilab serve examples.app:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from asgilab.app import App
from asgilab.errors import HTTPException
from asgilab.request import Request

__all__ = ["app"]

USERS = {1: "ada", 42: "grace"}


@asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
    # What a real app would open once (a database pool) and share with every request.
    yield {"greeting": "hello from asgilab"}


app = App(lifespan=lifespan)


@app.get("/", name="home")
async def home(request: Request) -> str:
    greeting: str = request.state.greeting
    return greeting + "\n"


@app.get("/users/{user_id:int}", name="user")
async def user(request: Request, user_id: int) -> dict[str, Any]:
    if user_id not in USERS:
        raise HTTPException(404, f"no user {user_id}")
    return {"id": user_id, "name": USERS[user_id]}


@app.post("/echo", name="echo")
async def echo(request: Request) -> Any:
    return await request.json()
