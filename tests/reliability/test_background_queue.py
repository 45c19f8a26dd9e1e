"""A flood of requests that each queue background work: the queue stays bounded, the
requests past it get 503 with Retry-After (not a 200 whose work is dropped at shutdown),
and what was accepted still runs, within the shutdown deadline."""

import asyncio
import logging
import tracemalloc
from collections import Counter

import pytest

from asgilab.app import App
from asgilab.client import Client
from asgilab.request import Request

from .support import asgi_request

REQUESTS = 3000


def test_a_flood_of_long_tasks_is_bounded_and_refused_with_503() -> None:
    # Issue 22: 20,000 requests queueing a long task each were all answered 200, and
    # 19,900 tasks waited in memory (+251 MiB) until shutdown dropped them.
    app = App()  # the defaults: 100 tasks running, 1,000 waiting
    # This test plays the lifespan (it drains at the end), so the tasks queue as under one.
    app.background.started = True
    done: list[int] = []

    async def main() -> tuple[Counter[tuple[int, str | None]], int, int]:
        release = asyncio.Event()

        async def long_task(n: int) -> None:
            await release.wait()
            done.append(n)

        @app.get("/work/{n:int}")
        async def work(request: Request, n: int) -> str:
            request.background.add(long_task, n)
            return "queued"

        replies: Counter[tuple[int, str | None]] = Counter()
        growth = 0
        for n in range(REQUESTS):
            if n == REQUESTS // 2:
                tracemalloc.start()  # the second half: all past the bound
            reply = await asgi_request(app, "GET", b"/work/%d" % n)
            replies[reply.status, reply.header("retry-after")] += 1
        growth = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        pending = app.background.pending
        release.set()
        assert await app.background.drain(10)
        return replies, pending, growth

    replies, pending, growth = asyncio.run(main())
    assert replies == {(200, None): 1100, (503, "5"): REQUESTS - 1100}
    assert pending == 1100
    # 1,500 refused requests hold on to nothing (~2 KB; 1,500 more queued tasks held ~330 KB).
    assert growth < 100 * 1024, f"{growth} bytes still allocated after the refused requests"
    assert sorted(done) == list(range(1100))  # every accepted task ran


def test_queued_tasks_are_drained_at_shutdown_and_the_rest_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App(background_limit=2, background_queue=50, shutdown_timeout=0.5)
    done: list[int] = []

    async def quick(n: int) -> None:
        await asyncio.sleep(0.001)
        done.append(n)

    async def stuck() -> None:
        await asyncio.Event().wait()

    @app.post("/quick/{n:int}")
    async def queue_quick(request: Request, n: int) -> None:
        request.background.add(quick, n)

    @app.post("/stuck")
    async def queue_stuck(request: Request) -> None:
        request.background.add(stuck)

    with Client(app) as client:
        assert {client.post(f"/quick/{n}").status_code for n in range(40)} == {204}
    assert sorted(done) == list(range(40))  # the lifespan shutdown drained the queue

    with caplog.at_level(logging.ERROR, "asgilab.background"), Client(app) as client:
        assert [client.post("/stuck").status_code for _ in range(53)] == [204] * 52 + [503]
    assert caplog.records[-1].getMessage() == (
        "background drain deadline of 0.5 s reached: cancelling 2 running task(s), "
        "dropping 50 queued task(s); App(shutdown_timeout=...) gives them longer"
    )
