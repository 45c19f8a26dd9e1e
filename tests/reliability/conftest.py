"""Fixtures for the reliability suite: a fresh hostile app, an in-process client, a live server.

The live server is one uvicorn (in a thread, on a free loopback port) per test module,
serving one hostile app: every test that sends it garbage also checks that it still
answers a good request afterwards, so a module is a long session of abuse.
"""

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from asgilab.client import Client
from asgilab.server import serve

from .support import REPORT_LINES, Hostile, hostile_app


@dataclass
class Live:
    """A running uvicorn and the hostile app it serves."""

    url: str
    hostile: Hostile


@pytest.fixture
def hostile() -> Hostile:
    """A fresh hostile app (counters at zero)."""
    return hostile_app()


@pytest.fixture
def client(hostile: Hostile) -> Iterator[Client]:
    """``asgilab.Client`` on the hostile app, lifespan running."""
    with Client(hostile) as client:
        yield client


# Both of uvicorn's HTTP/1.1 parsers: they refuse different things before the app sees them.
PARSERS = ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])


@pytest.fixture(scope="module", params=PARSERS)
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    """uvicorn with each HTTP parser in turn, serving a hostile app."""
    app = hostile_app()
    with serve(app, lifespan="on", http=request.param) as server:
        yield Live(server.url, app)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the reliability tests measured, with or without ``-s``."""
    if REPORT_LINES:
        terminalreporter.section("reliability figures")
        for line in REPORT_LINES:
            terminalreporter.write_line(line)
