"""The lifespan under stress: a startup that fails stops uvicorn with the reason, and a
shutdown lets in-flight requests finish within the graceful deadline (and cuts those
that would outlive it)."""

import threading

import httpx
import pytest

from asgilab.client import Client, LifespanError
from asgilab.server import serve

from .support import failing_app, free_port, hostile_app, start_uvicorn, stop_process, wait_until

REASON = "database unreachable at db.internal:5432"


def test_startup_failure_in_process_names_the_reason() -> None:
    with pytest.raises(LifespanError) as caught, Client(failing_app(), lifespan="on"):
        pass
    message = str(caught.value)
    assert message.startswith("lifespan startup failed: Traceback (most recent call last):")
    assert f"ConnectionError: {REASON}" in message


@pytest.mark.server
def test_startup_failure_stops_uvicorn_with_the_reason() -> None:
    port = free_port()
    process = start_uvicorn(
        "--factory", "--lifespan", "on", "--port", str(port), app="support:failing_app"
    )
    assert wait_until(lambda: process.poll() is not None, timeout=30), "uvicorn kept running"
    output = stop_process(process)
    assert process.returncode == 3, output
    assert f"ConnectionError: {REASON}" in output
    assert "Application startup failed. Exiting." in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def request_in_thread(url: str) -> tuple[threading.Thread, list[object]]:
    """Start ``GET url`` in a thread; the list receives the response or the error."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(httpx.get(url, timeout=20))
        except httpx.HTTPError as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.server
def test_shutdown_lets_in_flight_requests_finish() -> None:
    app = hostile_app()
    server = serve(app, lifespan="on", timeout_graceful_shutdown=10).start()
    threads = [request_in_thread(server.url + "/slow?ms=800") for _ in range(3)]
    assert wait_until(lambda: app.stats["slow_started"] == 3)
    server.stop()  # returns once uvicorn has exited
    for thread, _ in threads:
        thread.join(20)
    answers = [result[0] for _, result in threads]
    assert [(r.status_code, r.text) for r in answers if isinstance(r, httpx.Response)] == [
        (200, "slow done")
    ] * 3
    assert app.stats["slow_finished"] == 3
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


# uvicorn logs the cancelled handler's CancelledError at ERROR: that is expected here.
@pytest.mark.server
def test_shutdown_deadline_cuts_requests_that_would_outlive_it() -> None:
    app = hostile_app()
    server = serve(app, lifespan="on", timeout_graceful_shutdown=0.5).start()
    thread, result = request_in_thread(server.url + "/slow?ms=8000")
    assert wait_until(lambda: app.stats["slow_started"] == 1)
    server.stop()
    thread.join(20)
    assert not thread.is_alive()
    # uvicorn cancels the handler at the deadline; no response had started, so it answers
    # 500 itself and closes.
    answer = result[0]
    assert isinstance(answer, httpx.Response), answer
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    assert app.stats["slow_finished"] == 0
