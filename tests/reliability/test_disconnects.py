"""Clients that hang up mid-request and mid-stream: the handler's cleanup runs, no asyncio
task is left behind, and background work still drains when the server shuts down."""

import asyncio

import httpx
import pytest

from asgilab.server import serve

from .support import Hostile, asgi_request, hostile_app, raw_http, wait_until

HANGUPS = 10


def test_disconnects_in_process_leave_no_task(hostile: Hostile) -> None:
    async def run() -> None:
        before = asyncio.all_tasks()
        mid_stream = [
            asgi_request(hostile, "GET", b"/forever", disconnect=True) for _ in range(HANGUPS)
        ]
        mid_body = [
            asgi_request(
                hostile,
                "POST",
                b"/slurp",
                headers=[(b"content-length", b"100000")],
                chunks=[b"x" * 100],
                disconnect=True,
            )
            for _ in range(HANGUPS)
        ]
        replies = await asyncio.gather(*mid_stream, *mid_body)
        assert [r.status for r in replies[:HANGUPS]] == [200] * HANGUPS
        for _ in range(3):  # let done-callbacks run
            await asyncio.sleep(0)
        assert asyncio.all_tasks() == before

    asyncio.run(run())
    stats = hostile.stats
    assert (stats["forever_started"], stats["forever_cleaned"]) == (HANGUPS, HANGUPS)
    assert (stats["slurp_started"], stats["slurp_finished"]) == (HANGUPS, HANGUPS)


def tasks(url: str) -> int:
    """How many asyncio tasks the server's loop has, this request's own included."""
    count: int = httpx.get(url + "/tasks", timeout=10).json()["tasks"]
    return count


@pytest.mark.server
def test_disconnects_under_uvicorn_leave_no_task_and_background_drains() -> None:
    app = hostile_app()
    stats = app.stats
    server = serve(app, lifespan="on").start()
    try:
        baseline = tasks(server.url)
        queued = [httpx.get(server.url + "/background", timeout=10) for _ in range(5)]
        assert [r.text for r in queued] == ["queued"] * 5
        for _ in range(HANGUPS):
            # Mid-stream: take the first chunk, then hang up.
            with httpx.stream("GET", server.url + "/forever", timeout=10) as reply:
                assert next(reply.iter_bytes())
            # Mid-body: promise 100 kB, send 100 bytes, close the socket.
            raw_http(
                server.url,
                b"POST /slurp HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100,
                timeout=0.2,
            )
        assert wait_until(lambda: stats["forever_cleaned"] == HANGUPS), stats
        assert wait_until(lambda: stats["slurp_finished"] == HANGUPS), stats
        # Connection tasks end a moment after their sockets close: wait (bounded) for it.
        assert wait_until(lambda: tasks(server.url) == baseline, timeout=10), (
            f"{tasks(server.url)} tasks, {baseline} before"
        )
    finally:
        server.stop()
    # The lifespan shutdown drained the background jobs queued before the hang-ups.
    assert stats["background_done"] == 5
