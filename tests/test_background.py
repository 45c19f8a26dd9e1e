"""The background runner: order, concurrency limit, timeout, retries, logged failures, drain."""

import asyncio
import logging
import threading

import pytest

from asgilab.background import (
    BackgroundQueueFull,
    BackgroundRunner,
    BackgroundTask,
    BackgroundTasks,
    caller_loop,
    run_sync,
)


def test_tasks_run_sync_and_async() -> None:
    done: list[str] = []

    async def note(value: str) -> None:
        done.append(value)

    async def main() -> bool:
        runner = BackgroundRunner()
        runner.submit(BackgroundTask(note, "async"))
        runner.submit(BackgroundTask(done.append, "sync"))
        return await runner.drain(5)

    assert asyncio.run(main()) is True
    assert sorted(done) == ["async", "sync"]


def test_sync_tasks_run_off_the_event_loop_thread() -> None:
    threads: list[str] = []

    async def main() -> None:
        runner = BackgroundRunner()
        runner.submit(BackgroundTask(lambda: threads.append(threading.current_thread().name)))
        await runner.drain(5)

    asyncio.run(main())
    assert threads[0].startswith("asgilab-sync")


def test_concurrency_limit_is_respected() -> None:
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    async def main() -> BackgroundRunner:
        runner = BackgroundRunner(limit=2)
        runner.submit(BackgroundTasks([BackgroundTask(work) for _ in range(7)]))
        assert runner.pending == 7
        await runner.drain(10)
        return runner

    runner = asyncio.run(main())
    assert peak == 2
    assert runner.completed == 7
    assert runner.pending == 0


def test_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise ValueError("smtp down")

    async def main() -> BackgroundRunner:
        runner = BackgroundRunner()
        runner.submit(BackgroundTask(broken))
        await runner.drain(5)
        return runner

    with caplog.at_level(logging.WARNING, "asgilab.background"):
        runner = asyncio.run(main())
    assert runner.failed == 1
    assert [r.getMessage() for r in caplog.records] == [
        "background task test_failure_is_logged_not_raised.<locals>.broken "
        "failed: ValueError('smtp down') (attempt 1 of 1), giving up"
    ]


def test_retries_until_success(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("refused")

    async def main() -> BackgroundRunner:
        runner = BackgroundRunner()
        runner.submit(BackgroundTask(flaky).options(retries=2))
        await runner.drain(5)
        return runner

    with caplog.at_level(logging.WARNING, "asgilab.background"):
        runner = asyncio.run(main())
    assert len(attempts) == 3
    assert (runner.completed, runner.failed) == (1, 0)
    assert [r.getMessage().split(" failed: ")[1] for r in caplog.records] == [
        "ConnectionError('refused') (attempt 1 of 3), retrying",
        "ConnectionError('refused') (attempt 2 of 3), retrying",
    ]


def test_timeout_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> BackgroundRunner:
        runner = BackgroundRunner()
        runner.submit(BackgroundTask(slow).options(timeout=0.01, retries=1))
        await runner.drain(5)
        return runner

    with caplog.at_level(logging.WARNING, "asgilab.background"):
        runner = asyncio.run(main())
    assert runner.failed == 1
    assert [r.getMessage().split("slow ")[1] for r in caplog.records] == [
        "timed out after 0.01 s (attempt 1 of 2), retrying",
        "timed out after 0.01 s (attempt 2 of 2), giving up",
    ]


def test_a_timeout_error_of_the_task_itself_is_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    async def connect() -> None:
        raise TimeoutError("the mail server did not answer")  # its own, not the runner's

    async def main() -> None:
        runner = BackgroundRunner()
        runner.submit(BackgroundTask(connect).options(timeout=5))
        await runner.drain(5)

    with caplog.at_level(logging.WARNING, "asgilab.background"):
        asyncio.run(main())
    assert caplog.records[0].getMessage().split("connect ")[1] == (
        "failed: TimeoutError('the mail server did not answer') (attempt 1 of 1), giving up"
    )
    assert caplog.records[0].exc_info is not None  # its traceback, unlike a timeout's


def test_a_sync_task_takes_a_timeout_or_retries_not_both() -> None:
    # Its thread cannot be stopped: a retry would run beside the late attempt.
    with pytest.raises(ValueError, match="give it a timeout or retries, not both"):
        BackgroundTask(print, "mail").options(timeout=1, retries=1)
    BackgroundTask(print, "mail").options(timeout=1)
    BackgroundTask(print, "mail").options(retries=1)


def test_drain_deadline_cancels_running_and_drops_queued(caplog: pytest.LogCaptureFixture) -> None:
    cancelled: list[bool] = []

    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> tuple[bool, int]:
        runner = BackgroundRunner(limit=1)
        runner.submit(BackgroundTask(stuck))
        runner.submit(BackgroundTask(stuck))
        finished = await runner.drain(0.05)
        return finished, runner.pending

    with caplog.at_level(logging.ERROR, "asgilab.background"):
        assert asyncio.run(main()) == (False, 0)
    assert cancelled == [True]
    assert caplog.records[0].getMessage() == (
        "background drain deadline of 0.05 s reached: cancelling 1 running task(s), "
        "dropping 1 queued task(s); App(shutdown_timeout=...) gives them longer"
    )


def test_arguments_named_timeout_reach_the_function() -> None:
    seen: dict[str, object] = {}

    def call(url: str, timeout: float) -> None:
        seen.update(url=url, timeout=timeout)

    async def main() -> None:
        runner = BackgroundRunner()
        tasks = BackgroundTasks()
        tasks.add(call, "http://x", timeout=3).options(timeout=5)
        runner.submit(tasks)
        await runner.drain(5)

    asyncio.run(main())
    assert seen == {"url": "http://x", "timeout": 3}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries must be 0 or more, got -1"),
        ({"timeout": 0}, "timeout must be positive seconds or None, got 0"),
    ],
)
def test_bad_options(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as info:
        BackgroundTask(print).options(**options)  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": 0}, "background limit must be at least 1, got 0"),
        ({"max_queue": -1}, "background queue must be 0 or more, got -1"),
    ],
)
def test_bad_limit(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError) as info:
        BackgroundRunner(**options)
    assert str(info.value) == message


async def forever() -> None:
    await asyncio.Event().wait()


def test_a_full_queue_refuses_the_next_task_with_503(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[list[int], BackgroundQueueFull]:
        runner = BackgroundRunner(limit=2, max_queue=3)
        sizes = []
        for _ in range(4):  # requests: one task each
            tasks = BackgroundTasks(runner=runner)
            tasks.add(forever)
            runner.submit(tasks)
            sizes.append(runner.pending)
        tasks = BackgroundTasks(runner=runner)
        tasks.add(forever)  # the fifth fits: 2 running, 3 waiting
        with pytest.raises(BackgroundQueueFull) as info:
            tasks.add(forever)  # the sixth does not, even from the same request
        assert len(tasks) == 1
        runner.submit(tasks)
        sizes.append(runner.pending)
        with pytest.raises(BackgroundQueueFull):
            BackgroundTasks(runner=runner).add(forever)
        assert runner.refused == 2
        await runner.drain(0)
        return sizes, info.value

    with caplog.at_level(logging.WARNING, "asgilab.background"):
        sizes, error = asyncio.run(main())
    assert sizes == [1, 2, 3, 4, 5]
    assert (error.status_code, error.detail, error.headers) == (
        503,
        "server busy: its background queue is full (2 waiting, 2 running; "
        "App(background_queue=3)); retry later",
        {"retry-after": "5"},
    )
    # Once per spell of refusals, not once per refused request.
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "background queue full (2 waiting, 2 running): requests that add a task get 503 "
        "until it drains; raise App(background_queue=3) or App(background_limit=2), "
        "or make the tasks quicker"
    ]


def test_a_collector_without_a_runner_takes_any_number() -> None:
    tasks = BackgroundTasks()
    for n in range(5000):
        tasks.add(print, n)
    assert len(tasks) == 5000


def test_a_queue_of_zero_runs_or_refuses() -> None:
    async def main() -> int:
        runner = BackgroundRunner(limit=1, max_queue=0)
        runner.submit(BackgroundTasks([BackgroundTask(forever)]))
        with pytest.raises(BackgroundQueueFull):
            runner.check_room()
        await runner.drain(0)
        return runner.pending

    assert asyncio.run(main()) == 0


def test_runner_survives_a_new_event_loop() -> None:
    runner = BackgroundRunner(limit=1)
    done: list[int] = []

    async def main(n: int) -> None:
        runner.submit(BackgroundTask(done.append, n))
        runner.submit(BackgroundTask(done.append, n + 1))
        await runner.drain(5)

    asyncio.run(main(1))
    asyncio.run(main(3))
    assert done == [1, 2, 3, 4]


def test_a_loop_torn_down_mid_work_leaves_the_queue_for_the_next_loop() -> None:
    # asyncio.run cancels what still runs when its coroutine returns. The cancelled task
    # must not start a queued one then: on a loop being torn down it would never run,
    # yet count as running for good, and the next loop would wait on it.
    runner = BackgroundRunner(limit=1)
    done: list[int] = []

    async def slow(n: int) -> None:
        await asyncio.sleep(0.05)
        done.append(n)

    async def leave_early() -> None:
        for n in range(3):
            runner.submit(BackgroundTask(slow, n))

    async def finish() -> None:
        runner.submit(BackgroundTask(slow, 3))
        assert await runner.drain(5)

    asyncio.run(leave_early())
    assert (runner.pending, done) == (2, [])  # 0 was cancelled; 1 and 2 still queued
    asyncio.run(finish())
    assert done == [1, 2, 3]


def test_without_a_lifespan_tasks_run_in_the_callers_task_in_order() -> None:
    # No lifespan will drain a queue (Daphne, a mount inside Starlette): after_response
    # runs the tasks itself, in the request's task, which the server waits for.
    runner, done = BackgroundRunner(limit=1), []

    async def slow(name: str) -> None:
        await asyncio.sleep(0.01)
        done.append(name)

    async def main() -> list[str]:
        await runner.after_response(BackgroundTasks([BackgroundTask(slow, "a")]))
        await runner.after_response(BackgroundTask(done.append, "b"))
        return list(done)

    assert asyncio.run(main()) == ["a", "b"]
    assert (runner.pending, runner.completed) == (0, 2)


def test_while_a_lifespan_runs_tasks_are_queued_for_its_drain() -> None:
    runner, done = BackgroundRunner(), []
    runner.started = True

    async def main() -> tuple[list[str], list[str]]:
        await runner.after_response(BackgroundTask(done.append, "a"))
        before = list(done)  # queued, not yet run: the response is not kept waiting
        await runner.drain()
        return before, list(done)

    assert asyncio.run(main()) == ([], ["a"])


def test_an_inline_task_fails_timeouts_and_retries_as_a_queued_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = BackgroundRunner()

    async def broken() -> None:
        raise ValueError("smtp down")

    asyncio.run(runner.after_response(BackgroundTask(broken).options(retries=1)))
    assert runner.failed == 1
    assert [r.getMessage() for r in caplog.records] == [
        "background task test_an_inline_task_fails_timeouts_and_retries_as_a_queued_one."
        "<locals>.broken failed: ValueError('smtp down') (attempt 1 of 2), retrying",
        "background task test_an_inline_task_fails_timeouts_and_retries_as_a_queued_one."
        "<locals>.broken failed: ValueError('smtp down') (attempt 2 of 2), giving up",
    ]


def test_a_sync_call_knows_the_loop_that_handed_it_over() -> None:
    async def main() -> tuple[object, object]:
        return asyncio.get_running_loop(), await run_sync(caller_loop)

    loop, seen = asyncio.run(main())
    assert seen is loop
    assert caller_loop() is None  # nor does it leak into the caller's context


@pytest.mark.parametrize(
    ("deadline", "finished", "message"),
    [
        (5.0, ["sent"], None),
        (
            0.01,
            [],
            "background task test_a_server_that_cancels_the_request_still_gives_its_tasks_the_"
            "deadline.<locals>.mail still running 0.01 s after the server cancelled its "
            "request: cancelling it",
        ),
    ],
)
def test_a_server_that_cancels_the_request_still_gives_its_tasks_the_deadline(
    deadline: float, finished: list[str], message: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    # Daphne has no lifespan and, at shutdown, cancels every request's task and waits.
    runner, done = BackgroundRunner(), []

    async def mail() -> None:
        await asyncio.sleep(0.1)
        done.append("sent")

    async def main() -> None:
        request = asyncio.ensure_future(runner.after_response(BackgroundTask(mail), deadline))
        await asyncio.sleep(0.02)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request

    asyncio.run(main())
    assert done == finished
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ([message] if message else [])
