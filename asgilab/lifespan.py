"""The ASGI lifespan protocol: what runs once when the server starts and stops.

A server sends ``lifespan.startup``; the App enters the user's lifespan context
(``App(lifespan=...)``, an async context manager taking the app) and answers
``lifespan.startup.complete``, or ``lifespan.startup.failed`` with the error, so
the server refuses to serve. What the context yields (a dict, or None) becomes
every request's starting ``request.state``: the server keeps it in the lifespan
scope's ``"state"`` and copies it into each request's scope (Starlette's
semantics); a server without that gets the copy from the App instead. (What is
set on ``app.state`` is another bag: the app's own, set when the app is built, not
opened and closed by the lifespan.)

On ``lifespan.shutdown`` the App first drains its background tasks (up to
``shutdown_timeout``), while the lifespan's resources still exist, then leaves the
context and answers ``lifespan.shutdown.complete`` (or ``.failed``).

>>> import contextlib
>>> @contextlib.asynccontextmanager
... async def lifespan(app):
...     pool = "connected"          # open a database pool, say
...     yield {"db": pool}          # -> request.state.db
...     # close it here
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import AsgilabError
from .types import Receive, Scope, Send

if TYPE_CHECKING:
    from .app import App

__all__ = ["Lifespan", "run_lifespan"]

logger = logging.getLogger("asgilab.lifespan")

Lifespan = Callable[["App"], contextlib.AbstractAsyncContextManager[Mapping[str, Any] | None]]


async def run_lifespan(app: App, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the ASGI lifespan protocol: startup, wait, drain background work, shutdown."""
    started = False
    await receive()  # lifespan.startup
    app.lifespan_state = None  # a new lifespan: nothing of an earlier one's resources
    try:
        context = app.lifespan(app) if app.lifespan is not None else contextlib.nullcontext()
        async with context as state:
            if state is not None:
                if not isinstance(state, Mapping):
                    raise AsgilabError(
                        f"the lifespan yielded {type(state).__name__}; yield a dict "
                        "(its keys become request.state attributes) or None"
                    )
                if "state" in scope:
                    # The server copies this into each request's scope["state"].
                    scope["state"].update(state)
                else:
                    app.lifespan_state = dict(state)
            await send({"type": "lifespan.startup.complete"})
            started = True
            await receive()  # lifespan.shutdown
            # Drain while the lifespan's resources (a db pool...) still exist.
            await app.background.drain(app.shutdown_timeout)
        app.lifespan_state = None  # they are closed now: no request may be handed them
    except BaseException as exc:
        message = "".join(traceback.format_exception(exc))
        if started:
            logger.error("lifespan shutdown failed", exc_info=exc)
            await send({"type": "lifespan.shutdown.failed", "message": message})
        else:
            logger.error("lifespan startup failed", exc_info=exc)
            await send({"type": "lifespan.startup.failed", "message": message})
        raise
    await send({"type": "lifespan.shutdown.complete"})
