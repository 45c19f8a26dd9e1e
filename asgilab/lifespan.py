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

__all__ = ["NOT_RUNNING", "Lifespan", "run_lifespan", "warn_if_not_running"]

logger = logging.getLogger("asgilab.lifespan")

Lifespan = Callable[["App"], contextlib.AbstractAsyncContextManager[Mapping[str, Any] | None]]


# Why a lifespan may not be running, as request.state's error and the warning below say it.
NOT_RUNNING = (
    "the app's lifespan is not running (the server sent no lifespan events? "
    "uvicorn --lifespan on; Daphne sends none)"
)


def warn_if_not_running(app: App) -> None:
    """Log a warning if ``app`` has a lifespan that is not running; the App calls this at
    its first request, so a server that sends no lifespan events is noticed at once,
    not at the first ``request.state.db`` that fails.

    The warning reads: ``the app has a lifespan, but the app's lifespan is not running
    (the server sent no lifespan events? uvicorn --lifespan on; Daphne sends none):
    request.state has nothing it yields, and background tasks run in each request's own
    task after its response``.
    """
    if app.lifespan is not None and not app.background.started:
        logger.warning(
            "the app has a lifespan, but %s: request.state has nothing it yields, and "
            "background tasks run in each request's own task after its response",
            NOT_RUNNING,
        )


async def run_lifespan(app: App, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the ASGI lifespan protocol: startup, wait, drain background work, shutdown.

    A failure is reported once: in the ``lifespan.startup.failed`` (or
    ``.shutdown.failed``) message, with its traceback, which the server logs (uvicorn,
    Granian) or raises (Hypercorn), as the ASGI spec asks. It is neither logged here
    nor raised again: each would print the same traceback a second time.
    """
    started = False
    failure: Exception | None = None
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
            # From here the shutdown drains background tasks: requests may queue them.
            app.background.started = True
            await send({"type": "lifespan.startup.complete"})
            started = True
            await receive()  # lifespan.shutdown
            # Drain while the lifespan's resources (a db pool...) still exist.
            await app.background.drain(app.shutdown_timeout)
        app.lifespan_state = None  # they are closed now: no request may be handed them
    except Exception as exc:
        failure = exc
    except BaseException as exc:  # cancelled, or Ctrl-C: tell the server, then go on ending
        await _send_failure(send, started, exc)
        raise
    finally:
        # No lifespan runs any more: a late request's tasks run in its own task.
        app.background.started = False
    if failure is not None:
        # NOTE: sent outside the `except` block, so that an error the server raises from
        # send (Hypercorn does) does not chain the original traceback a second time.
        await _send_failure(send, started, failure)
        return
    await send({"type": "lifespan.shutdown.complete"})


async def _send_failure(send: Send, started: bool, exc: BaseException) -> None:
    """Tell the server the startup (or, once ``started``, the shutdown) failed, and why."""
    phase = "shutdown" if started else "startup"
    message = "".join(traceback.format_exception(exc))
    await send({"type": f"lifespan.{phase}.failed", "message": message})
