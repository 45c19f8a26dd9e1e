"""Work that runs after the response has been sent.

A handler that must send an e-mail should not make the client wait for it. It
attaches a :class:`BackgroundTask` to its response (or adds one to
``request.background``); once the last byte is sent, the App hands the tasks to
its :class:`BackgroundRunner`, which

* runs at most ``limit`` tasks at once (the rest wait their turn, in order),
* lets at most ``max_queue`` wait: once that many do, ``request.background.add``
  raises :class:`BackgroundQueueFull`, which the App answers with 503 Service
  Unavailable and ``Retry-After`` -- refused *before* the response, while the
  client can still be told, rather than accepted and then dropped at shutdown,
* gives each task an optional ``timeout`` and ``retries`` count,
* logs failures instead of raising them (the response is gone; there is nobody
  to raise to),
* and on lifespan shutdown *drains*: waits for running and queued tasks up to a
  deadline, then cancels what is left and says so in the log.

That drain needs a lifespan. A server that sends no lifespan events (Daphne; uvicorn
with ``--lifespan off``; an asgilab App mounted inside Starlette, whose own lifespan
runs instead) would stop with the queue still full and drop its tasks without a word.
So the runner knows whether a lifespan is running (:attr:`BackgroundRunner.started`,
set by :func:`asgilab.lifespan.run_lifespan`), and :meth:`BackgroundRunner.after_response`
queues tasks only then; otherwise it runs them at once, in order, in the request's own
task after its response was sent, as Starlette does: servers wait for a request's task
before they stop, and one that cancels it instead (Daphne, at shutdown) still waits for
it to end, which the runner lets the tasks take up to ``shutdown_timeout`` to do.

``App(background_limit=100, background_queue=1000, shutdown_timeout=30)`` sets
the three. The queue bound holds for ``request.background``; a task handed over
in ``Response(background=...)`` is queued after its response is sent, when
refusing it is too late, so it is always accepted (beyond the bound if need be).

The runner uses no loop-bound primitive (no ``asyncio.Semaphore``): a counter and
a queue, so one App can serve several event loops in turn (as tests do).

>>> import asyncio
>>> done = []
>>> async def main():
...     runner = BackgroundRunner(limit=2)
...     for n in range(3):
...         runner.submit(BackgroundTask(done.append, n))
...     await runner.drain(deadline=5)
>>> asyncio.run(main()); sorted(done)
[0, 1, 2]
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Self

from .errors import HTTPException, InvalidArgument

# NOTE: asyncio is imported in the functions that run on a loop, not here: ``import asgilab``
# (a script that builds a router, the ``asgilab routes`` command) needs no event loop, and
# asyncio, with the ssl, socket and subprocess modules beneath it, would be the heaviest
# part of it. By the time a function here runs, a loop (so asyncio) is up, and the import
# is a lookup in ``sys.modules``.
if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "RETRY_AFTER",
    "BackgroundQueueFull",
    "BackgroundRunner",
    "BackgroundTask",
    "BackgroundTasks",
    "caller_loop",
    "is_async_callable",
    "run_sync",
]

logger = logging.getLogger("asgilab.background")

# One pool for every blocking call asgilab makes on a user's behalf (sync handlers,
# sync background tasks, sync iterators, file reads). asyncio's default executor
# has min(32, cpus + 4) threads, six on a 2-core machine: too few for handlers
# that wait on I/O. Created on first use so importing asgilab starts no thread.
_executor: ThreadPoolExecutor | None = None

# The event loop a thread-pool thread was handed its work from: a plain ``def`` handler
# reads its request's body through it (Request.read_body). A context variable, set in the
# copy of the context the thread runs in, so it is there for that call and nowhere else.
_caller_loop: contextvars.ContextVar[asyncio.AbstractEventLoop] = contextvars.ContextVar(
    "asgilab_caller_loop"
)


def caller_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that handed this thread its work through :func:`run_sync`, or None
    (the loop's own thread, or a thread asgilab did not start)."""
    return _caller_loop.get(None)


async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking ``func`` in the thread pool, with the caller's context variables.

    ``func`` may wait for a coroutine on the loop that called it (see :func:`caller_loop`):
    that is how a plain ``def`` handler reads its request's body.
    """
    import asyncio

    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=40, thread_name_prefix="asgilab-sync")
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(_caller_loop.set, loop)  # in the copy only: the loop's own context has none
    call = functools.partial(context.run, func, *args, **kwargs)
    return await loop.run_in_executor(_executor, call)


def is_async_callable(func: Callable[..., Any]) -> bool:
    """Whether calling ``func`` gives an awaitable: a coroutine function or async ``__call__``."""
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(func, "__call__", None)  # noqa: B004 -- an object with an async __call__
    return call is not None and inspect.iscoroutinefunction(call)


class BackgroundTask:
    """One call to make after the response: ``BackgroundTask(send_email, to, subject=s)``.

    ``func`` may be async or sync (sync ones run in the thread pool). Its own
    arguments are passed through untouched, which is why the task's options are
    set with :meth:`options` rather than as keywords that could clash with them
    (a ``timeout=`` meant for ``httpx.post`` must reach ``httpx.post``).
    """

    __slots__ = ("args", "func", "kwargs", "retries", "timeout")

    def __init__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.timeout: float | None = None
        self.retries = 0

    def options(self, *, timeout: float | None = None, retries: int = 0) -> Self:
        """Set a per-attempt ``timeout`` (seconds) and how many times to retry; returns the task.

        >>> async def ping(host): ...
        >>> BackgroundTask(ping, "db").options(timeout=2, retries=1)
        BackgroundTask(ping, args=('db',), timeout=2, retries=1)
        """
        if retries < 0:
            raise InvalidArgument(f"retries must be 0 or more, got {retries}")
        if timeout is not None and timeout <= 0:
            raise InvalidArgument(f"timeout must be positive seconds or None, got {timeout}")
        if timeout is not None and retries and not is_async_callable(self.func):
            # A thread cannot be stopped: the retry would run beside the attempt that
            # timed out, and an e-mail would go out twice.
            raise InvalidArgument(
                f"{self.name} is a sync function, which its timeout cannot stop, so a retry "
                "would run beside the late attempt: give it a timeout or retries, not both"
            )
        self.timeout = timeout
        self.retries = retries
        return self

    @property
    def name(self) -> str:
        """The function's qualified name, as the log shows it."""
        return getattr(self.func, "__qualname__", repr(self.func))

    async def __call__(self) -> None:
        """Run once, without timeout or retries (the runner adds those)."""
        if is_async_callable(self.func):
            await self.func(*self.args, **self.kwargs)
        else:
            await run_sync(self.func, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.func, "__name__", repr(self.func))
        return (
            f"BackgroundTask({name}, args={self.args!r}, timeout={self.timeout!r}, "
            f"retries={self.retries!r})"
        )


# Seconds a client refused with 503 is asked to wait: a queue that filled up drains in
# about as long as its tasks take, which the runner cannot know; this is a polite guess.
RETRY_AFTER = 5


class BackgroundQueueFull(HTTPException):
    """The App's background queue is full: 503 Service Unavailable, ``Retry-After: 5``.

    Raised by ``request.background.add`` (so by the handler, before its response):
    a handler that cannot do without the task can catch it and do the work inline.
    """

    def __init__(self, runner: BackgroundRunner) -> None:
        super().__init__(
            503,
            f"server busy: its background queue is full ({len(runner._queue)} waiting, "
            f"{len(runner._running)} running; App(background_queue={runner.max_queue})); "
            "retry later",
            headers={"retry-after": str(RETRY_AFTER)},
        )


class BackgroundTasks:
    """An ordered collector of tasks: ``request.background`` is one, a Response takes one.

    ``request.background`` knows its App's runner and refuses a task the runner has
    no room for (:class:`BackgroundQueueFull`); one built by hand has no runner.

    >>> tasks = BackgroundTasks()
    >>> tasks.add(print, "sent").options(retries=2)
    BackgroundTask(print, args=('sent',), timeout=None, retries=2)
    >>> len(tasks)
    1
    """

    __slots__ = ("runner", "tasks")

    def __init__(
        self, tasks: Iterable[BackgroundTask] = (), *, runner: BackgroundRunner | None = None
    ) -> None:
        self.tasks: list[BackgroundTask] = list(tasks)
        self.runner = runner

    def add(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> BackgroundTask:
        """Add ``func(*args, **kwargs)``; returns the task so ``.options(...)`` can follow.

        Raises :class:`BackgroundQueueFull` when the runner has no room for it.
        """
        if self.runner is not None:
            self.runner.check_room(len(self.tasks) + 1)
        task = BackgroundTask(func, *args, **kwargs)
        self.tasks.append(task)
        return task

    # Starlette's spelling, so code moving over keeps working.
    def add_task(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> BackgroundTask:
        """Alias of :meth:`add`."""
        return self.add(func, *args, **kwargs)

    def __iter__(self) -> Iterator[BackgroundTask]:
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    async def __call__(self) -> None:
        """Run every task in order, once each (no runner: used when none is available)."""
        for task in self.tasks:
            await task()

    def __repr__(self) -> str:
        return f"BackgroundTasks({self.tasks!r})"


class BackgroundRunner:
    """Runs submitted tasks with a concurrency ``limit``, a bounded queue, timeouts,
    retries and a drain.

    ``submit`` never blocks and never raises: the response is already on the wire.
    The bound is kept earlier, by :meth:`check_room`, which ``request.background.add``
    calls while the handler can still answer 503. Requests in flight at the moment
    the queue fills may each still queue what they added before: the excess is
    bounded by how many requests run at once (the server's connection limit).
    """

    def __init__(self, limit: int = 100, max_queue: int = 1000) -> None:
        if limit < 1:
            raise InvalidArgument(f"background limit must be at least 1, got {limit}")
        if max_queue < 0:
            raise InvalidArgument(f"background queue must be 0 or more, got {max_queue}")
        self.limit = limit
        self.max_queue = max_queue
        # Whether a lifespan is running, whose shutdown will drain the queue: set by
        # run_lifespan once startup completes, cleared after the drain at shutdown.
        self.started = False
        self._running: set[asyncio.Task[None]] = set()
        # Tasks after_response runs in their request's own task (no lifespan running).
        self._inline = 0
        self._queue: deque[BackgroundTask] = deque()
        self.failed = 0  # tasks that failed every attempt (for tests and monitoring)
        self.completed = 0
        self.refused = 0  # tasks check_room turned away (each a 503)
        # Whether the last check_room refused: the log says so once per full spell.
        self._full = False

    @property
    def pending(self) -> int:
        """Tasks running or waiting."""
        return len(self._running) + self._inline + len(self._queue)

    @property
    def room(self) -> int:
        """How many more tasks may be submitted: free running slots plus free queue places."""
        free_slots = max(0, self.limit - len(self._running))
        return free_slots + max(0, self.max_queue - len(self._queue))

    def check_room(self, count: int = 1) -> None:
        """Raise :class:`BackgroundQueueFull` unless ``count`` more tasks fit.

        >>> runner = BackgroundRunner(limit=1, max_queue=1)
        >>> runner.check_room(2)  # one to run now, one to wait
        >>> runner.check_room(3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        asgilab.background.BackgroundQueueFull: 503: server busy: its background queue is full ...
        """
        if count <= self.room:
            self._full = False
            return
        self.refused += 1
        if not self._full:
            self._full = True
            logger.warning(
                "background queue full (%d waiting, %d running): requests that add a "
                "task get 503 until it drains; raise App(background_queue=%d) or "
                "App(background_limit=%d), or make the tasks quicker",
                len(self._queue),
                len(self._running),
                self.max_queue,
                self.limit,
            )
        raise BackgroundQueueFull(self)

    def submit(self, task: BackgroundTask | BackgroundTasks) -> None:
        """Queue a task (or each task of a collector) and start as many as the limit allows."""
        if isinstance(task, BackgroundTasks):
            self._queue.extend(task.tasks)
        else:
            self._queue.append(task)
        self._start_queued()

    async def after_response(
        self, tasks: BackgroundTask | BackgroundTasks, deadline: float = 30.0
    ) -> None:
        """Hand over a response's tasks once it is sent: queue them while a lifespan runs
        (its shutdown drains the queue); else run them here and now, in order.

        "Here" is the request's own task, which the server waits for, so the tasks run to
        completion under a server that sends no lifespan events, and their failures,
        timeouts and retries are handled and logged as the queue's are. The concurrency
        limit and the queue bound do not apply then: each request runs its own. A server
        that cancels the request's task meanwhile is stopping (Daphne cancels every
        application at shutdown, then waits for them): as the drain would, the task still
        gets ``deadline`` seconds (the App passes its ``shutdown_timeout``) to finish.

        >>> import asyncio
        >>> runner, done = BackgroundRunner(), []
        >>> asyncio.run(runner.after_response(BackgroundTask(done.append, "sent")))
        >>> done, runner.started  # no lifespan: it ran before after_response returned
        (['sent'], False)
        """
        if self.started:
            self.submit(tasks)
            return
        batch = tasks.tasks if isinstance(tasks, BackgroundTasks) else [tasks]
        for task in batch:
            self._inline += 1
            try:
                await self._run_inline(task, deadline)
            finally:
                self._inline -= 1

    async def _run_inline(self, task: BackgroundTask, deadline: float) -> None:
        import asyncio

        # Its own asyncio task, shielded: a cancel of the request's task does not reach it.
        running = asyncio.get_running_loop().create_task(
            self._run(task), name=f"asgilab-background:{task.name}"
        )
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            # NOTE: the server is stopping; a second cancel, or the deadline, ends the wait.
            if not running.done():
                try:
                    await asyncio.wait({running}, timeout=deadline)
                finally:
                    if not running.done():
                        logger.error(
                            "background task %s still running %s s after the server "
                            "cancelled its request: cancelling it",
                            task.name,
                            deadline,
                        )
                        running.cancel()
                        await asyncio.gather(running, return_exceptions=True)
            raise

    def _start_queued(self) -> None:
        import asyncio

        while self._queue and len(self._running) < self.limit:
            task = self._queue.popleft()
            running = asyncio.get_running_loop().create_task(
                self._run(task), name=f"asgilab-background:{task.name}"
            )
            self._running.add(running)
            running.add_done_callback(self._finished)

    def _finished(self, running: asyncio.Task[None]) -> None:
        self._running.discard(running)
        # A freed slot lets the next queued task start, unless the loop is ending: a
        # cancelled task means a drain past its deadline or a loop being torn down,
        # where a task started now would never run, yet count as running for good.
        if self._queue and not running.cancelled() and not running.get_loop().is_closed():
            self._start_queued()

    async def _run(self, task: BackgroundTask) -> None:
        import asyncio

        attempts = task.retries + 1
        for attempt in range(1, attempts + 1):
            # NOTE: a sync function in a thread cannot be stopped; on timeout we stop
            # waiting for it, and its thread finishes on its own.
            deadline = asyncio.timeout(task.timeout)
            try:
                async with deadline:
                    await task()
            except asyncio.CancelledError:
                logger.warning("background task %s cancelled", task.name)
                raise
            except Exception as exc:
                # expired(): the task's own TimeoutError (a socket's, say) is a failure.
                timed_out = deadline.expired()
                reason = f"timed out after {task.timeout} s" if timed_out else f"failed: {exc!r}"
                if attempt < attempts:
                    logger.warning(
                        "background task %s %s (attempt %d of %d), retrying",
                        task.name,
                        reason,
                        attempt,
                        attempts,
                    )
                    continue
                self.failed += 1
                logger.error(
                    "background task %s %s (attempt %d of %d), giving up",
                    task.name,
                    reason,
                    attempt,
                    attempts,
                    exc_info=not timed_out,
                )
                return
            else:
                self.completed += 1
                return

    async def drain(self, deadline: float = 30.0) -> bool:
        """Wait up to ``deadline`` seconds for every running and queued task; cancel the rest.

        Returns True when everything finished in time. Called on lifespan shutdown.
        """
        import asyncio

        end = time.monotonic() + deadline
        while self._running or self._queue:
            self._start_queued()
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.wait(set(self._running), timeout=remaining)
        if not (self._running or self._queue):
            return True
        logger.error(
            "background drain deadline of %s s reached: cancelling %d running task(s), "
            "dropping %d queued task(s); App(shutdown_timeout=...) gives them longer",
            deadline,
            len(self._running),
            len(self._queue),
        )
        self._queue.clear()
        running = set(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        return False

    def __repr__(self) -> str:
        return (
            f"BackgroundRunner(limit={self.limit}, max_queue={self.max_queue}, "
            f"running={len(self._running) + self._inline}, queued={len(self._queue)})"
        )
