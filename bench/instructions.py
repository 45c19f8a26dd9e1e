"""Instructions per request, counted by valgrind: the cost that machine noise cannot move.

Run from the repository root with the virtualenv active::

    python bench/instructions.py            # the floor and asgilab, three endpoints: ~1 minute
    python bench/instructions.py --full     # the peers too: ~2 minutes on two cores
    python bench/instructions.py --quick    # the floor and asgilab on GET / only

Under a real server (``serve.py``) one process can be several per cent faster
than the next for its whole life, so a change worth 1% cannot be seen there
without many rounds. This script counts instead: each app runs in a child
process under valgrind's cachegrind, and the child feeds it requests through
uvicorn's own httptools protocol, the per-request work of the server in Python
and Cython, with a stand-in transport where the socket would be (the kernel's
share of serving is the same for every app, and is left out). Two children per
(app, endpoint) serve different numbers of requests; the difference of their
instruction counts over the difference of the request counts is what one
request costs, with startup and imports cancelled out. On one machine and
build, the counts repeat to within a few instructions from run to run, however
busy the machine is.

Instructions are not time: a cache miss or a mispredicted branch costs dozens
to hundreds of cycles, and is not counted. So read the table as what each app adds
to the same server's work, and keep the issue's speed targets with
``serve.py``; this script judges no target (it exits 0 unless it cannot run).

asgilab's mypyc build, the same package with its router compiled
(``bench/_compiled.py``), is counted too when it can be had, as ``asgilab (mypyc)``:
beside the interpreted column it shows what compiling the router buys a request
(``--no-compiled`` leaves it out).

Of the flags every benchmark shares, ``--rounds`` and ``--no-targets`` have no
use here: one count is as good as the best of several, and no target is judged.
``valgrind`` must be on PATH (Debian/Ubuntu: ``apt-get install -y valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import _harness as h
from _compiled import LABEL, add_flag, race_compiled
from _frameworks import FRAMEWORKS, REQUESTS, Request, check_response

__all__ = ["main", "parse_instructions", "per_request", "wire"]

BENCH = Path(__file__).resolve().parent
VALGRIND_MISSING = (
    "valgrind is not on PATH. Install it, then run this again:\n"
    "  Debian/Ubuntu: apt-get install -y valgrind   (as root; apt-get update first)\n"
    "  macOS:         not available on Apple silicon; use serve.py there"
)
# Requests sent before the counted ones in both children, so that both count a
# server that has warmed up (the interpreter specialises its code as it runs).
WARM_UP = 400
CHILD_TIMEOUT_S = 600  # a child that never finishes fails the run instead of stalling it


def wire(request: Request) -> bytes:
    """``request`` as the bytes a client sends for it.

    >>> wire(Request("GET /", "GET", "/", b"", "text/plain", "")).split(b"\\r\\n")[0]
    b'GET / HTTP/1.1'
    """
    lines = [f"{request.method} {request.path} HTTP/1.1", "Host: 127.0.0.1:8000"]
    if request.body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(request.body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body


def parse_instructions(valgrind_log: str) -> int:
    """The total instruction count in cachegrind's summary.

    >>> parse_instructions("==7== I   refs:      1,193,498,181\\n")
    1193498181
    """
    found = re.search(r"I\s+refs:\s+([\d,]+)", valgrind_log)
    if found is None:
        raise RuntimeError(f"cannot read valgrind's summary:\n{valgrind_log[-2000:]}")
    return int(found[1].replace(",", ""))


def per_request(short: tuple[int, int], long: tuple[int, int]) -> float:
    """Instructions per request from two (requests served, instructions) runs.

    >>> per_request((100, 5_000_000), (300, 9_000_000))
    20000.0
    """
    (n1, i1), (n2, i2) = short, long
    return (i2 - i1) / (n2 - n1)


# --------------------------------------------------------------------------- the child


class _Transport:
    """Where uvicorn's protocol writes its answers, in place of a socket.

    The protocol calls ``write``, ``get_extra_info``, ``is_closing``, ``close``,
    ``pause_reading`` and ``resume_reading`` (``set_protocol`` only on a websocket
    upgrade, which never happens here). The warm-up's answers are parsed (with
    httptools, as a client would) and checked, and each one's length is noted;
    from then on the answers are only counted by length, so that the client's
    parsing stays out of the count, and the lengths must add up exactly.
    """

    _ADDRESSES: ClassVar[dict[str, tuple[str, int]]] = {
        "sockname": ("127.0.0.1", 8000),
        "peername": ("127.0.0.1", 50000),
    }

    def __init__(self, request: Request) -> None:
        import httptools

        self.request = request
        self.parser: Any = httptools.HttpResponseParser(self)
        self.parsing = True
        self.written = 0  # bytes, in all
        self.answer_end = 0  # self.written when the last parsed answer was complete
        self.lengths: set[int] = set()  # of the parsed answers
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.wrong = ""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += len(data)
        if self.parsing:
            self.parser.feed_data(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._ADDRESSES.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        # uvicorn closes after an error, a "connection: close" or an idle keep-alive:
        # none of them may happen in a run that counts.
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def count_by_length(self) -> int:
        """Stop parsing; from now on answers are counted by their one length, returned."""
        if len(self.lengths) != 1:
            raise RuntimeError(f"the answers differ in length: {sorted(self.lengths)} bytes")
        self.parsing = False
        return next(iter(self.lengths))

    # what the response parser calls
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        if not self.wrong:
            status = self.parser.get_status_code()
            self.wrong = check_response(self.request, status, self.headers, bytes(self.body))
        self.headers, self.body = {}, bytearray()
        self.lengths.add(self.written - self.answer_end)
        self.answer_end = self.written


def child(name: str, label: str, counted: int) -> int:
    """Serve ``WARM_UP + counted`` requests of endpoint ``label`` to app ``name`` in-process.

    One request at a time on one keep-alive connection, each sent once the last
    answer is complete, as wrk sends them (no pipelining), so uvicorn does per
    request what it does under ``serve.py``: parse, start a task for the app,
    write, re-arm the keep-alive timer. The date and server headers are set once,
    as uvicorn's server loop sets them once a second.
    """
    from email.utils import formatdate

    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    request = next(r for r in REQUESTS if r.label == label)
    config = Config(FRAMEWORKS[name].factory(), access_log=False, log_level="warning")
    config.load()  # wraps the app as uvicorn serves it (its proxy-headers middleware)
    state = ServerState()
    state.default_headers = [(b"date", formatdate(usegmt=True).encode()), *config.encoded_headers]
    if importlib.util.find_spec("uvloop"):
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    answered: asyncio.Future[None] | None = None

    class Protocol(HttpToolsProtocol):
        def on_response_complete(self) -> None:
            super().on_response_complete()
            if answered is not None:
                answered.set_result(None)

    transport = _Transport(request)
    protocol = Protocol(config, state, app_state={}, _loop=loop)
    protocol.connection_made(transport)  # type: ignore[arg-type]
    raw = wire(request)

    async def serve(requests: int) -> None:
        nonlocal answered
        for _ in range(requests):
            answered = loop.create_future()
            protocol.data_received(raw)
            await answered

    loop.run_until_complete(serve(WARM_UP))
    if transport.wrong:
        print(f"{name} answered {label} wrongly: {transport.wrong}", file=sys.stderr)
        return 1
    length = transport.count_by_length()
    before = transport.written
    loop.run_until_complete(serve(counted))
    alike = not transport.closed and transport.written - before == counted * length
    protocol.connection_lost(None)  # which closes the transport, as the server would
    loop.close()
    if not alike:
        print(f"{name} {label}: the counted answers were not all alike", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- the parent


def instructions_of(name: str, label: str, counted: int, compiled: str | None) -> int:
    """All the instructions of one child: startup, warm-up and ``counted`` requests."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every child
    if compiled is not None:
        # Ahead of site-packages, where the interpreted package is installed.
        env["PYTHONPATH"] = compiled
    command = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        sys.executable, str(BENCH / "instructions.py"), "--child", name, label, str(counted),
    ]  # fmt: skip
    run = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=BENCH, timeout=CHILD_TIMEOUT_S
    )
    if run.returncode != 0:
        raise RuntimeError(f"{name} {label}: the child failed:\n{run.stderr[-2000:]}")
    return parse_instructions(run.stderr)


def measure(name: str, label: str, counts: tuple[int, int], compiled: str | None) -> float:
    """Instructions per request of app ``name`` on endpoint ``label``."""
    short, long = counts
    return per_request(
        (short, instructions_of(name, label, short, compiled)),
        (long, instructions_of(name, label, long, compiled)),
    )


def extra_flags(parser: argparse.ArgumentParser) -> None:
    add_flag(parser)
    parser.add_argument(
        "--child", nargs=3, metavar=("APP", "ENDPOINT", "N"), help=argparse.SUPPRESS
    )


def main(argv: Sequence[str] | None = None) -> int:
    mode, args = h.parse_args(__doc__.splitlines()[0] if __doc__ else "", argv, extra_flags)
    if args.child:
        name, label, counted = args.child
        return child(name, label, int(counted))
    if shutil.which("valgrind") is None:
        print(VALGRIND_MISSING, file=sys.stderr)
        return 3
    env = h.environment(["uvicorn", "httptools", "uvloop", "starlette", "falcon", "blacksheep"])
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True)
    env["valgrind"] = version.stdout.strip().removeprefix("valgrind-")
    print(
        "Instructions per request, counted by valgrind's cachegrind "
        f"({mode.name} run; through uvicorn's httptools protocol, no sockets)"
    )
    print("  " + " · ".join(f"{key} {value}" for key, value in env.items()))
    print()

    from _frameworks import build_all

    apps, missing = build_all()
    # Each child takes seconds under valgrind, most of them starting Python and importing:
    # the peers, a comparison rather than a check of asgilab, wait for --full.
    names = list(apps) if mode.name == "full" else [n for n in ("bare", "asgilab") if n in apps]
    missing = {n: why for n, why in missing.items() if mode.name == "full" or n == "asgilab"}
    endpoints = REQUESTS
    counts = (WARM_UP // 2, WARM_UP * 2)  # requests counted by the short and the long child
    if mode.name == "quick":
        endpoints, counts = REQUESTS[:1], (40, 120)
    compiled = race_compiled(names, missing, wanted=not args.no_compiled)
    jobs = [(n, r.label) for r in endpoints for n in names]
    # Counts do not depend on what else runs: every core can count at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(
                measure,
                "asgilab" if n == LABEL else n,
                label,
                counts,
                compiled if n == LABEL else None,
            )
            for n, label in jobs
        ]
        results = [f.result() for f in futures]
    table: dict[str, dict[str, float]] = {r.label: {} for r in endpoints}
    for (shown, label), instructions in zip(jobs, results, strict=True):
        table[label][shown] = instructions
    report(table, names, missing)
    if mode.json_path is not None:
        h.write_json(
            mode.json_path,
            {"environment": env, "mode": mode.name, "missing": missing, "instructions": table},
        )
        print(f"\nResults written to {mode.json_path}")
    return 0


def report(table: dict[str, dict[str, float]], names: list[str], missing: dict[str, str]) -> None:
    rows = [[label, *(f"{by[n]:,.0f}" for n in names)] for label, by in table.items()]
    print(h.render_table(["endpoint", *names], rows))
    for name, why in missing.items():
        print(f"  {name}: {why}")
    if "bare" not in names:
        return
    print("\nWhat each app adds to the bare floor's instructions (+ its share of the total)")
    others = [n for n in names if n != "bare"]
    rows = [
        [
            label,
            *(f"{by[n] - by['bare']:+,.0f} ({(by[n] - by['bare']) / by[n]:.1%})" for n in others),
        ]
        for label, by in table.items()
    ]
    print(h.render_table(["endpoint", *others], rows))


if __name__ == "__main__":
    sys.exit(main())
