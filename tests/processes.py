"""Servers in child processes, for the tests that need a real one: ports, waiting, stopping.

One copy for every test that starts JupyterLab, ``asgilab serve`` or uvicorn in a subprocess,
and of how the browser tests launch Debian's Chromium (never a browser download).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Any

import httpx

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "free_port", "stop_process", "wait_for_http", "wait_until"]

# Debian's Chromium (package `chromium`), which Playwright drives through executable_path.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless in a container as root, and quiet: no background connections to Google's hosts,
# which this machine's closed network would refuse many at a time.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A loopback port that was free a moment ago (the child process binds it itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``condition()`` until true or ``timeout`` seconds pass; return the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def wait_for_http(url: str, process: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """Return once ``url`` answers 200; fail with the process's output if it dies or never does."""

    def up() -> bool:
        if process.poll() is not None:
            return True
        try:
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    ready = wait_until(up, timeout, interval=0.1)
    if process.poll() is not None or not ready:
        output = stop_process(process)
        raise AssertionError(f"{process.args!r} did not start serving {url}:\n{output}")


def stop_process(process: subprocess.Popen[Any], timeout: float = 15.0) -> str:
    """Stop a server as a supervisor would (SIGTERM, then SIGKILL); return its output."""
    if process.poll() is None:
        process.terminate()
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=timeout)
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return output or ""
