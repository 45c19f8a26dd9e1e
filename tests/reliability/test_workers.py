"""The scale-out path: ``uvicorn --workers 2`` (two processes, one listening socket)
serving the hostile app from its import string, correctly, from both workers."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .support import free_port, start_uvicorn, stop_process, wait_for_http

# (path, status, body) a worker must answer exactly, whichever one takes the connection.
EXPECTED = [
    ("/items/7", 200, b'{"id":7}'),
    (
        "/search?page=abc",
        400,
        b"query parameter 'page' must be int (ASCII digits, such as 42), got 'abc'",
    ),
    ("/files/%zz", 400, b"invalid path: invalid percent-escape '%zz' in path segment '%zz'"),
    ("/raise", 500, b"Internal Server Error"),
    ("/nowhere", 404, b"Not Found"),
]


def parent_of(pid: int) -> int:
    """The parent pid of ``pid`` (field 4 of /proc/<pid>/stat, after the command name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.mark.server
@pytest.mark.slow
def test_two_workers_serve_the_same_app() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_uvicorn("--factory", "--workers", "2", "--port", str(port))
    try:
        wait_for_http(url + "/items/7", process)

        def fetch(path: str) -> tuple[int, bytes]:
            # A new connection each time, so the kernel hands each one to either worker.
            reply = httpx.get(url + path, timeout=10, headers={"connection": "close"})
            return reply.status_code, reply.content

        def pid(_: int) -> int:
            answer: int = httpx.get(url + "/pid", timeout=10).json()["pid"]
            return answer

        pids: set[int] = set()
        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):  # bounded: at most 20 rounds of 16 requests
                answers = list(pool.map(fetch, [path for path, _, _ in EXPECTED] * 4))
                assert answers == [(status, body) for _, status, body in EXPECTED] * 4
                pids |= set(pool.map(pid, range(16)))
                if len(pids) == 2:
                    break
        assert len(pids) == 2, f"only worker(s) {pids} answered"
        assert {parent_of(p) for p in pids} == {process.pid}
    finally:
        output = stop_process(process)
    assert process.returncode == 0, output
    # The only tracebacks logged are those of the /raise handler, one per request.
    assert output.count("Traceback") == output.count("GET /raise: unhandled RuntimeError"), output
