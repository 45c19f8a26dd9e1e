"""Under a real server: uvicorn on loopback, wrk as the load, the same apps and endpoints.

Run from the repository root with the virtualenv active::

    python bench/serve.py                # the default run, under two minutes
    python bench/serve.py --full         # longer and more rounds
    python bench/serve.py --quick --no-targets   # two apps, one endpoint, one second

Each app of ``bench/_frameworks.py`` runs in its own uvicorn process (one
worker, httptools, uvloop when installed) on a free loopback port that uvicorn
picks itself (port 0) and reports in its log, so there is no port race. ``wrk`` then
loads one (app, endpoint) pair at a time; the rounds go over every pair in a
rotating order and each pair keeps its best requests per second, reported with
the p99 latency of that same run. The floor target instead pairs the runs of
one round (asgilab's builds and the floor run next to each other) and takes the
median of those ratios, which a slow moment of the machine cannot tilt. Only
loopback is used.

Where the system lets a process choose its CPUs (Linux) and there are two or more,
the server under load and wrk each get one of their own: every server process is
pinned to the first CPU this script may use and wrk to the second. Left to the
scheduler, the two meet on one core now and then, and a paired ratio moves with
that luck: on two shared cores, twelve paired one-second runs of the floor and
asgilab spread half as much pinned (standard deviation 2.8 points against 5.9),
and both sides served ~10% more.

Every round starts a fresh server process per app. One process can be a few per
cent faster or slower than the next for its whole life (where its memory and
hash seeds fell, which core it got), and a single process per app made a whole
run hang on that luck; with a process per round, the best run of an app is the
best of several processes, as it is the best of several moments.

asgilab runs twice when its mypyc build can be made (``bench/_compiled.py``; see
``routers.py``): as the interpreted package and as ``asgilab (mypyc)``, the same
app with its router compiled (the App and the Request are Python in both), imported
from ``build/mypyc/`` in its own server process. The targets are checked against
the compiled build when it ran (``--no-compiled`` serves the interpreted one only).

``wrk`` must be on PATH: on Debian/Ubuntu ``apt-get install -y wrk``; on macOS
``brew install wrk``. The script says so and stops when it is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import _harness as h
from _compiled import LABEL, add_flag, race_compiled
from _frameworks import FRAMEWORKS, PEERS, REQUESTS, Request, build_all

__all__ = ["Cpus", "Run", "main", "parse_wrk", "running", "split_cpus"]

BENCH = Path(__file__).resolve().parent
COMPILED = LABEL  # asgilab with its router compiled by mypyc: the same app, another build
WRK_MISSING = (
    "wrk is not on PATH. Install it, then run this again:\n"
    "  Debian/Ubuntu: apt-get install -y wrk   (as root; apt-get update first)\n"
    "  macOS:         brew install wrk"
)


@dataclass(frozen=True, slots=True)
class Run:
    """One wrk run against one (app, endpoint) pair."""

    requests_per_s: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors: a run with errors does not count


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(output: str) -> Run:
    """Read wrk's ``--latency`` report.

    >>> parse_wrk("  99%    1.50ms\\nRequests/sec:  12345.67\\n")
    Run(requests_per_s=12345.67, p99_ms=1.5, errors=0)
    """
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Run(float(rate[1]), float(p99[1]) * UNITS[p99[2]], errors)


@dataclass(frozen=True, slots=True)
class Cpus:
    """The CPU the servers run on and the one wrk runs on."""

    server: int
    load: int


def split_cpus() -> Cpus | None:
    """Two CPUs of this process's, one for the servers and one for wrk (None: cannot pin)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return Cpus(cpus[0], cpus[1]) if len(cpus) >= 2 else None


@contextlib.contextmanager
def pinned_to_load_cpu(cpus: Cpus | None) -> Iterator[None]:
    """Run this process, and so every child it starts (wrk), on the load CPU."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpus.load})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.contextmanager
def running(name: str, compiled: str | None = None, cpu: int | None = None) -> Iterator[str]:
    """uvicorn serving framework ``name`` in a child process; yields its base URL.

    With ``compiled`` (the directory of the mypyc build), the child imports asgilab from
    there: it goes first on PYTHONPATH, and ``-P`` keeps the working directory (where
    the interpreted package may sit) off ``sys.path``. With ``cpu``, the server runs on
    that CPU alone (it is moved there as it starts, before it imports anything).

    uvicorn binds port 0 itself (the kernel picks a free port, no race) and
    prints the port it got, which is read from its log. (Handing it a socket
    with ``--fd`` instead loses TCP_NODELAY, which caps it near 1,400 req/s.)
    """
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    python = [sys.executable] if compiled is None else [sys.executable, "-P"]
    command = [
        *python, "-m", "uvicorn", FRAMEWORKS[name].factory_path, "--factory",
        "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", "0", "--http", "httptools",
        "--loop", loop, "--log-level", "info", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=child_env(compiled))
    log: list[str] = []
    try:
        if cpu is not None:
            os.sched_setaffinity(server.pid, {cpu})
        url = wait_until_up(server, name, log)
        # Keep reading its log so a chatty app never blocks on a full pipe.
        threading.Thread(target=log.extend, args=(server.stderr,), daemon=True).start()
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def child_env(compiled: str | None) -> dict[str, str] | None:
    """The environment of a child that imports asgilab's compiled copy (None: inherit)."""
    if compiled is None:
        return None
    return {**os.environ, "PYTHONPATH": os.pathsep.join([compiled, str(BENCH)])}


def wait_until_up(server: subprocess.Popen[str], name: str, log: list[str]) -> str:
    """Read uvicorn's log until it says where it listens (or that it failed)."""
    if server.stderr is None:
        raise RuntimeError("uvicorn was started without a pipe for its log")
    timer = threading.Timer(20, server.kill)  # a server that never starts cannot stall us
    timer.start()
    try:
        for line in server.stderr:
            log.append(line)
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                return found[1]
    finally:
        timer.cancel()
    server.wait()
    raise RuntimeError(f"{name} did not start: {''.join(log[-3:]).strip()}")


def lua_for(request: Request, folder: Path) -> Path | None:
    """A wrk script for requests with a body (wrk sends GETs without one)."""
    if not request.body:
        return None
    script = folder / f"{request.method.lower()}{request.path.replace('/', '_')}.lua"
    body = request.body.decode().replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(
        f'wrk.method = "{request.method}"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n',
        encoding="utf-8",
    )
    return script


def load(url: str, request: Request, script: Path | None, seconds: int, connections: int) -> Run:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run(
        [*command, url + request.path], capture_output=True, text=True, timeout=seconds + 30
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def extra_flags(parser: argparse.ArgumentParser) -> None:
    add_flag(parser)
    parser.add_argument("--seconds", type=int, help="wrk duration per run (default 1, --full 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")


def main(argv: Sequence[str] | None = None) -> int:
    mode, args = h.parse_args(__doc__.splitlines()[0] if __doc__ else "", argv, extra_flags)
    # Many short runs beat a few long ones on a shared machine: the best of them
    # is more likely to have had the CPU to itself. An odd count makes the floor
    # target's median one round's ratio, which two stray rounds cannot move.
    rounds = args.rounds or {"quick": 1, "default": 5, "full": 7}[mode.name]
    mode = h.Mode(mode.name, rounds, mode.sample_s, mode.enforce, mode.json_path)
    if shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        return 3
    seconds = args.seconds or {"quick": 1, "default": 1, "full": 3}[mode.name]
    env = h.environment(["uvicorn", "httptools", "uvloop", "starlette", "falcon", "blacksheep"])
    env["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    h.print_header("Under uvicorn, wrk on loopback", mode, env)
    cpus = split_cpus()
    where = f"; servers on CPU {cpus.server}, wrk on CPU {cpus.load}" if cpus else ""
    print(
        f"  wrk -t1 -c{args.connections} -d{seconds}s per run; one uvicorn worker per app{where}\n"
    )

    names, missing = available(mode)
    compiled = race_compiled(names, missing, wanted=not args.no_compiled)
    requests = REQUESTS[:1] if mode.name == "quick" else REQUESTS
    # Every error-free run, by endpoint, app and round: the best of each app is
    # reported, and the floor target pairs runs of the same round.
    runs: dict[str, dict[str, dict[int, Run]]] = {r.label: {} for r in requests}
    served: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp, pinned_to_load_cpu(cpus):
        scripts = {r.label: lua_for(r, Path(tmp)) for r in requests}
        for round_ in range(mode.rounds):
            with contextlib.ExitStack() as stack:
                urls = start_all(stack, names, compiled, missing, cpus)
                for url in urls.values():
                    warm_up(url, requests)
                pairs = [(r, name) for r in requests for name in urls]
                shift = round_ % len(pairs)
                for request, name in pairs[shift:] + pairs[:shift]:
                    script = scripts[request.label]
                    run = load(urls[name], request, script, seconds, args.connections)
                    if run.errors:
                        print(
                            f"  {name} {request.label}: {run.errors} errors in a run (not counted)"
                        )
                    else:
                        runs[request.label].setdefault(name, {})[round_] = run
                served |= urls.keys()
    best = {
        label: {name: max(by_round.values(), key=rate) for name, by_round in by.items()}
        for label, by in runs.items()
    }
    shown = [n for n in [*FRAMEWORKS, COMPILED] if n in served]
    report(best, shown, missing)
    payload = {
        "environment": env,
        "mode": mode.name,
        "missing": missing,
        "seconds": seconds,
        "connections": args.connections,
        "runs": {
            label: {
                n: {"requests_per_s": r.requests_per_s, "p99_ms": r.p99_ms} for n, r in by.items()
            }
            for label, by in best.items()
        },
        "requests_per_s_by_round": {
            label: {
                n: {r: run.requests_per_s for r, run in rounds.items()} for n, rounds in by.items()
            }
            for label, by in runs.items()
        },
    }
    judged = COMPILED if COMPILED in served else "asgilab"
    print(f"The targets are checked against the {judged} build.")
    payload["targets_build"] = judged
    return h.finish(targets(best, runs, missing, judged), mode, payload)


def start_all(
    stack: contextlib.ExitStack,
    names: list[str],
    compiled: str | None,
    missing: dict[str, str],
    cpus: Cpus | None = None,
) -> dict[str, str]:
    """A fresh uvicorn for each app, stopped with ``stack``; their URLs by app name."""
    urls = {}
    cpu = cpus.server if cpus else None
    for name in names:
        if name in missing:  # it failed to start in an earlier round
            continue
        try:
            if name == COMPILED:
                urls[name] = stack.enter_context(running("asgilab", compiled, cpu))
            else:
                urls[name] = stack.enter_context(running(name, cpu=cpu))
        except RuntimeError as error:
            missing[name] = str(error)
    return urls


def warm_up(url: str, requests: Sequence[Request], count: int = 200) -> None:
    """Send each request ``count`` times over one connection, uncounted.

    A new process answers its first requests slower (caches, lazily built
    objects); a few hundred of each is enough, and far cheaper than a wrk run.
    """
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        for request in requests:
            headers = {"content-type": "application/json"} if request.body else {}
            for _ in range(count):
                connection.request(request.method, request.path, request.body or None, headers)
                connection.getresponse().read()
    finally:
        connection.close()


def available(mode: h.Mode) -> tuple[list[str], dict[str, str]]:
    """Which apps to serve (the quick run: the floor and asgilab, or a peer)."""
    apps, missing = build_all()
    names = list(apps)
    if mode.name == "quick":
        names = ["bare", *[n for n in names if n != "bare"][:1]]
    return names, missing


def report(best: dict[str, dict[str, Run]], names: list[str], missing: dict[str, str]) -> None:
    print("Requests per second (best run) · p99 latency of that run")
    rows = []
    for label, by in best.items():
        cells = [
            f"{by[n].requests_per_s:,.0f} · {by[n].p99_ms:.1f} ms" if n in by else "-"
            for n in names
        ]
        rows.append([label, *cells])
    print(h.render_table(["endpoint", *names], rows))
    for name, why in missing.items():
        print(f"  {name}: {why}")
    print()
    for build in ["asgilab", COMPILED]:
        if build not in names:
            continue
        others = [n for n in names if n not in ("asgilab", COMPILED)]
        print(f"Ratios: {build} req/s / other req/s")
        rows = [
            [
                label,
                *(
                    h.format_ratio(by[build].requests_per_s / by[n].requests_per_s)
                    if build in by and n in by
                    else "-"
                    for n in others
                ),
            ]
            for label, by in best.items()
        ]
        print(h.render_table(["endpoint", *(f"vs {n}" for n in others)], rows))
        print()


def rate(run: Run) -> float:
    return run.requests_per_s


def paired_ratio(rounds_a: dict[int, Run], rounds_b: dict[int, Run]) -> tuple[float, list[float]]:
    """The median over rounds of a's req/s / b's req/s in the same round, and the ratios.

    >>> a = {0: Run(90.0, 1.0, 0), 1: Run(100.0, 1.0, 0), 2: Run(50.0, 1.0, 0)}
    >>> b = {0: Run(100.0, 1.0, 0), 1: Run(100.0, 1.0, 0), 2: Run(100.0, 1.0, 0)}
    >>> paired_ratio(a, b)
    (0.9, [0.9, 1.0, 0.5])
    """
    ratios = [
        a.requests_per_s / rounds_b[r].requests_per_s for r, a in rounds_a.items() if r in rounds_b
    ]
    return (statistics.median(ratios) if ratios else math.nan), ratios


def targets(
    best: dict[str, dict[str, Run]],
    runs: dict[str, dict[str, dict[int, Run]]],
    missing: dict[str, str],
    build: str = "asgilab",
) -> list[h.Target]:
    """The issue's server targets for ``build`` ("asgilab" or the compiled one).

    The floor target compares runs made in the same round, minutes apart at most
    and seconds apart as a rule (the two builds and the floor run next to each
    other), and takes the median over rounds: a slow moment of the machine then
    lowers both sides of one ratio instead of one side of the whole comparison.
    The peers, far behind, are compared best run to best run.
    """
    floor_target = f"{build} ≥ 90% of the bare floor's req/s on each endpoint (median of rounds)"
    peers_target = f"{build} ahead of every peer on each endpoint"
    if build in missing:
        return [
            h.Target(floor_target, None, missing[build]),
            h.Target(peers_target, None, missing[build]),
        ]
    to_floor, to_peers, details = {}, {}, {}
    for label, by in best.items():
        if build not in by:
            continue
        if "bare" in by:
            to_floor[label], ratios = paired_ratio(runs[label][build], runs[label]["bare"])
            details[label] = " ".join(f"{r:.0%}" for r in ratios)
        peers = [by[p].requests_per_s for p in PEERS if p in by]
        if peers:
            to_peers[label] = by[build].requests_per_s / max(peers)
    return [
        h.Target(
            floor_target,
            all(r >= 0.9 for r in to_floor.values()) if to_floor else None,
            ", ".join(f"{k} {v:.0%} (rounds: {details[k]})" for k, v in to_floor.items())
            or "not measured",
        ),
        h.Target(
            peers_target,
            all(r > 1.0 for r in to_peers.values()) if to_peers else None,
            ", ".join(f"{k} {v:.2f}x the fastest peer" for k, v in to_peers.items())
            or "no peer measured in this run",
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
