"""``asgilab serve`` and ``asgilab.serve()`` over raw loopback sockets: forwarded headers are
the client's words unless a proxy is named, a request head is bounded, and the connection
cap answers 503."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from asgilab.server import SERVER_DEFAULTS, serve

from .support import (
    HERE,
    free_port,
    parse_replies,
    raw_http,
    stop_process,
    wait_for_http,
    whoami,
)

pytestmark = pytest.mark.server

FORWARDED = b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"


@contextmanager
def asgilab_serve(*flags: str) -> Iterator[str]:
    """``asgilab serve support:whoami`` on a free loopback port; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "asgilab", "serve", "support:whoami", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *flags], cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", process)
        yield url
    finally:
        stop_process(process)


def who(url: str, headers: bytes = FORWARDED) -> bytes:
    """What the app was told about the client of a request sent from loopback."""
    request = b"GET / HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n" % headers
    [reply] = parse_replies(raw_http(url, request))
    return reply.body


def test_forwarded_headers_from_loopback_are_not_believed_by_default() -> None:
    # Issue 22: uvicorn believes X-Forwarded-* from 127.0.0.1, so anything on the machine
    # (a local process, a server-side request forgery) could pose as any client.
    with asgilab_serve() as url:
        assert who(url) == b"127.0.0.1 http"
        # A request head is bounded: httptools, uvicorn's pick, buffered all of one that
        # never ended (20 MB of one header: +20 MiB, and no answer).
        start = time.monotonic()
        endless = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 1024 * 1024
        replies = parse_replies(raw_http(url, endless, timeout=5))
        assert [reply.status for reply in replies] == [400]
        assert time.monotonic() - start < 3


def test_named_proxies_are_believed_and_the_connection_cap_answers_503() -> None:
    flags = ("--forwarded-allow-ips", "127.0.0.1", "--limit-concurrency", "3")
    with asgilab_serve(*flags) as url, ExitStack() as idle:
        assert who(url) == b"203.0.113.7 https"
        host, port = url.removeprefix("http://").rsplit(":", 1)
        for _ in range(2):  # two connections that send nothing, and this request's
            idle.enter_context(socket.create_connection((host, int(port)), timeout=5))
        request = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        [reply] = parse_replies(raw_http(url, request))
        assert (reply.status, reply.body) == (503, b"Service Unavailable")


def test_the_in_process_server_shares_the_defaults() -> None:
    with serve(whoami, lifespan="off") as server:
        assert {k: getattr(server._server.config, k) for k in SERVER_DEFAULTS} == dict(
            SERVER_DEFAULTS
        )
        assert who(server.url) == b"127.0.0.1 http"
    with serve(whoami, lifespan="off", forwarded_allow_ips="127.0.0.1") as server:
        assert who(server.url) == b"203.0.113.7 https"
