"""Handlers that fail: an exception (async or in the thread pool), a return value the App
cannot send, a value JSON refuses, a timeout inside the handler. Each is a plain 500
with no traceback and no detail of the error (debug off), logged on the server, and
the app keeps serving."""

import logging

import pytest

from .conftest import Live
from .support import (
    SECRET,
    Hostile,
    assert_clean_error,
    assert_still_serving,
    hostile_app,
    inprocess,
    over_the_wire,
)

# route, the log line the App writes
FAULTS = [
    ("/raise", "GET /raise: unhandled RuntimeError"),
    ("/raise-sync", "GET /raise-sync: unhandled KeyError"),
    ("/unsupported", "GET /unsupported: unhandled InvalidReturn"),
    ("/unencodable", "GET /unencodable: unhandled ValueError"),
    ("/timeout", "GET /timeout: unhandled TimeoutError"),
]


@pytest.mark.parametrize(("path", "logged"), FAULTS)
def test_handler_fault_is_a_bare_500_in_process(
    hostile: Hostile, caplog: pytest.LogCaptureFixture, path: str, logged: str
) -> None:
    with caplog.at_level(logging.ERROR, "asgilab.app"):
        reply = inprocess(hostile, "GET", path.encode())
    assert (reply.status, reply.body) == (500, b"Internal Server Error")
    assert_clean_error(reply.status, reply.body, 500)
    assert [r.getMessage() for r in caplog.records] == [logged]
    assert caplog.records[0].exc_info is not None  # the traceback goes to the log
    assert inprocess(hostile, "GET", b"/items/7").body == b'{"id":7}'


@pytest.mark.server
@pytest.mark.parametrize(("path", "logged"), FAULTS)
def test_handler_fault_is_a_bare_500_over_the_wire(live: Live, path: str, logged: str) -> None:
    replies = over_the_wire(live.url, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (replies[0].status, replies[0].body) == (500, b"Internal Server Error")
    assert len(replies) == 2, "a handler's 500 must not cost the client its connection"
    assert_still_serving(live.url, replies)


def test_debug_shows_the_traceback_and_only_then() -> None:
    # The contrast that makes the tests above meaningful: the same fault, debug on.
    hostile = hostile_app()
    hostile.app.debug = True
    reply = inprocess(hostile, "GET", b"/raise")
    assert reply.status == 500
    assert b"Traceback (most recent call last)" in reply.body
    assert SECRET.encode() in reply.body
