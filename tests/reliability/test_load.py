"""A bounded load test: uvicorn in a subprocess on loopback, many concurrent httpx clients,
mixed routes (some streaming, some bad input) for about 18 seconds.

It asserts what must hold under load on any machine, fast or slow: every request
answered, every valid one 2xx (no 5xx), every bad one its exact 4xx, every kind of
request in the mix sent, no connection dropped, and the server's resident memory
steady, the last third of the run within 10% of the first. How many requests that is,
and how fast, depends on the machine: those figures are printed in the terminal
summary and written to test-artifacts/load.json, not asserted.
"""

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .support import (
    REPORT_LINES,
    free_port,
    rss_kib,
    start_uvicorn,
    stop_process,
    wait_for_http,
)

DURATION = 18.0  # seconds of measured load
MAX_REQUESTS = 20_000  # a bound in count as well as in time
CLIENTS = 24  # concurrent httpx clients, one keep-alive connection each
RECONNECT_EVERY = 50  # each client starts a new connection this often
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "load.json"

STREAMED = b"".join(b"%d\n" % n for n in range(50))

# method, path, body, expected status, expected body (None: not checked), valid input?
MIX: list[tuple[str, str, bytes | None, int, bytes | None, bool]] = [
    ("GET", "/", None, 200, b"ok", True),
    ("GET", "/items/42", None, 200, b'{"id":42}', True),
    ("GET", "/search?page=2&tag=a&tag=b", None, 200, None, True),
    ("POST", "/json", b'{"a":[1,2,3]}', 200, b'{"type":"dict"}', True),
    ("GET", "/stream?n=50", None, 200, STREAMED, True),
    ("GET", "/files/a/b/c.txt", None, 200, b'{"rest":"a/b/c.txt"}', True),
    ("HEAD", "/items/3", None, 200, b"", True),
    ("GET", "/items/7", None, 200, b'{"id":7}', True),
    ("GET", "/stream?n=50", None, 200, STREAMED, True),
    ("GET", "/", None, 200, b"ok", True),
    ("GET", "/items/1000000", None, 200, b'{"id":1000000}', True),
    ("POST", "/json", b"[1,2,3]", 200, b'{"type":"list"}', True),
    ("GET", "/search?tag=x", None, 200, b'{"page":1,"tags":["x"],"params":1}', True),
    ("GET", "/files/%C3%A9t%C3%A9", None, 200, '{"rest":"été"}'.encode(), True),
    ("GET", "/files/%zz", None, 400, None, False),
    ("GET", "/search?page=x", None, 400, None, False),
    ("POST", "/json", b'{"a":', 400, None, False),
    ("POST", "/upload", b"x" * 2000, 413, None, False),
    ("GET", "/nowhere", None, 404, b"Not Found", False),
    ("DELETE", "/items/1", None, 405, None, False),
]


@dataclass
class Tally:
    """What the load run counted."""

    requests: int = 0
    valid: int = 0
    bad_input: int = 0
    server_errors_on_valid: int = 0  # 5xx for a valid request
    wrong_answers: list[str] = field(default_factory=list)  # status or body not as expected
    dropped: list[str] = field(default_factory=list)  # transport errors: dropped connections
    latencies: list[float] = field(default_factory=list)  # one per answered request
    sent: set[int] = field(default_factory=set)  # which entries of MIX were requested


async def one_client(base: str, n: int, tally: Tally, stop_at: float) -> None:
    i = n  # clients start at different points of the mix
    client = httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1))
    try:
        while time.monotonic() < stop_at and tally.requests < MAX_REQUESTS:
            method, path, body, status, expected, valid = MIX[i % len(MIX)]
            tally.sent.add(i % len(MIX))
            i += 1
            if i % RECONNECT_EVERY == 0:
                await client.aclose()
                client = httpx.AsyncClient(
                    base_url=base, timeout=30, limits=httpx.Limits(max_connections=1)
                )
            started = time.perf_counter()
            try:
                reply = await client.request(method, path, content=body)
            except httpx.TransportError as exc:
                tally.dropped.append(f"{method} {path}: {exc!r}")
                continue
            finally:
                tally.requests += 1
            tally.latencies.append(time.perf_counter() - started)
            if valid:
                tally.valid += 1
                if reply.status_code >= 500:
                    tally.server_errors_on_valid += 1
            else:
                tally.bad_input += 1
            if reply.status_code != status or (expected is not None and reply.content != expected):
                tally.wrong_answers.append(f"{method} {path} -> {reply.status_code}")
    finally:
        await client.aclose()


async def sample_rss(pid: int, samples: list[tuple[float, int]], stop_at: float) -> None:
    while time.monotonic() < stop_at:
        samples.append((time.monotonic(), rss_kib(pid)))
        await asyncio.sleep(0.25)


async def run_load(base: str, pid: int, duration: float) -> tuple[Tally, list[tuple[float, int]]]:
    # Warm-up, not counted: imports, caches and the allocator's first arenas settle.
    warm = Tally()
    await asyncio.gather(*(one_client(base, n, warm, time.monotonic() + 1.5) for n in range(8)))
    assert not warm.dropped and not warm.wrong_answers, (warm.dropped, warm.wrong_answers)
    tally = Tally()
    samples: list[tuple[float, int]] = []
    stop_at = time.monotonic() + duration
    await asyncio.gather(
        sample_rss(pid, samples, stop_at),
        *(one_client(base, n, tally, stop_at) for n in range(CLIENTS)),
    )
    return tally, samples


def third_means(samples: list[tuple[float, int]]) -> tuple[float, float]:
    """Mean RSS (KiB) over the first and the last third of the run, by time."""
    start, end = samples[0][0], samples[-1][0]
    third = (end - start) / 3
    first = [kib for t, kib in samples if t <= start + third]
    last = [kib for t, kib in samples if t >= end - third]
    return statistics.fmean(first), statistics.fmean(last)


@pytest.mark.server
@pytest.mark.slow
def test_load_under_uvicorn(record_property: Callable[[str, object], None]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_uvicorn("--factory", "--port", str(port))
    try:
        wait_for_http(base + "/", process)
        began = time.monotonic()
        tally, samples = asyncio.run(run_load(base, process.pid, DURATION))
        elapsed = time.monotonic() - began
        alive = process.poll() is None
    finally:
        output = stop_process(process)

    latencies = sorted(tally.latencies)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    rss_first, rss_last = third_means(samples)
    figures = {
        "requests": tally.requests,
        "valid": tally.valid,
        "bad_input": tally.bad_input,
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(tally.requests / DURATION),
        "server_errors_on_valid": tally.server_errors_on_valid,
        "wrong_answers": len(tally.wrong_answers),
        "dropped_connections": len(tally.dropped),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "rss_first_third_kib": round(rss_first),
        "rss_last_third_kib": round(rss_last),
        "rss_samples": len(samples),
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        record_property(key, value)
    REPORT_LINES.append(
        f"load: {tally.requests} requests ({tally.valid} valid, {tally.bad_input} bad input) "
        f"from {CLIENTS} clients in {DURATION:.0f} s, {figures['requests_per_second']}/s; "
        f"5xx on valid {tally.server_errors_on_valid}, wrong answers "
        f"{len(tally.wrong_answers)}, dropped connections {len(tally.dropped)}; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; server RSS {rss_first / 1024:.1f} MiB "
        f"(first third) -> {rss_last / 1024:.1f} MiB (last third); {ARTIFACT.name} written"
    )

    assert alive, output
    assert tally.sent == set(range(len(MIX))), "every kind of request in the mix was sent"
    assert len(tally.latencies) == tally.requests, "every request sent was answered"
    assert tally.server_errors_on_valid == 0, figures
    assert tally.dropped == [], tally.dropped[:5]
    assert tally.wrong_answers == [], tally.wrong_answers[:5]
    # Steady memory, relative to where the run started: the last third within 10% of
    # the first (a leak grows with the requests served; a machine's baseline does not).
    assert rss_last <= rss_first * 1.10, figures
    assert "Traceback" not in output, output
