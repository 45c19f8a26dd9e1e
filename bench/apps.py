"""The framework layer: the same three endpoints, called in-process, in every framework.

Run from the repository root with the virtualenv active::

    python bench/apps.py                 # the default run, well under 2 minutes
    python bench/apps.py --quick --no-targets
    python bench/apps.py --json results/apps.json

Each app (asgilab's ``App``, a bare hand-written ASGI callable as the floor,
Starlette, Falcon's ASGI app, BlackSheep) gets the requests of
``bench/_frameworks.py`` straight through its ASGI interface: a fresh scope dict
per request (as a server builds one), a ``receive`` that hands over the body, a
``send`` that drops the messages. No client, no socket: what is left is the
framework's own cost per request. Every app's answers are checked once before
timing. Rounds are interleaved across apps and each keeps its best.

The second table is about the in-process client: the cost per request of a
direct ASGI call, of ``httpx.AsyncClient`` over ``httpx.ASGITransport``, and of
asgilab's ``Client`` (and its ``AsyncClient`` twin) on the same bare app, so
what asgilab adds on top of httpx shows on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import _harness as h
from _frameworks import FRAMEWORKS, PEERS, REQUESTS, Request, bare, build_all, check_response

__all__ = ["direct_call_ns", "lifespan", "main", "scope_for"]

ASGIApp = Callable[..., Any]


def scope_for(request: Request, state: dict[str, Any]) -> dict[str, Any]:
    """The HTTP scope a server would build for ``request`` (copied per request)."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"asgilab-bench"), (b"accept", b"*/*")]
    if request.body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(request.body)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": state,
    }


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[dict[str, Any]]:
    """Run the app's lifespan startup (BlackSheep needs it) and, on exit, shutdown.

    Yields the lifespan state that requests then carry, as a server would. An app
    that returns at once does not do lifespan, which is allowed.
    """
    state: dict[str, Any] = {}
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    task = asyncio.ensure_future(app(scope, inbox.get, replies.put))
    await inbox.put({"type": "lifespan.startup"})
    reply = asyncio.ensure_future(replies.get())
    await asyncio.wait([task, reply], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if not reply.done():
        reply.cancel()
    elif reply.result()["type"] == "lifespan.startup.failed":
        raise RuntimeError(f"lifespan startup failed: {reply.result().get('message', '')}")
    try:
        yield state
    finally:
        if not task.done():
            await inbox.put({"type": "lifespan.shutdown"})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)


async def call(
    app: ASGIApp, scope: dict[str, Any], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One request, keeping the answer, for the check before timing."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(scope), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, content


async def direct_call_ns(app: ASGIApp, scope: dict[str, Any], body: bytes, number: int) -> float:
    """ns per request for ``number`` direct calls, the loop being the only overhead."""
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(message: dict[str, Any]) -> None:
        pass

    start = time.perf_counter_ns()
    for _ in range(number):
        await app(scope.copy(), receive, send)
    return (time.perf_counter_ns() - start) / number


def timed(
    loop: asyncio.AbstractEventLoop, measure: Callable[[int], Any], sample_s: float
) -> Callable[[], float]:
    """A sampler running ``measure(number)`` on ``loop``, ``number`` calibrated to ``sample_s``."""
    once = loop.run_until_complete(measure(1))
    once = loop.run_until_complete(measure(1))  # the first call may warm caches
    number = max(1, int(sample_s * 1e9 / max(once, 1.0)))
    return lambda: float(loop.run_until_complete(measure(number)))


# --------------------------------------------------------------------------- the framework layer


def run_frameworks(
    loop: asyncio.AbstractEventLoop, mode: h.Mode
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """req/s per endpoint per app (best of interleaved rounds), and why an app is missing."""
    apps, missing = build_all()
    stack = contextlib.AsyncExitStack()
    states: dict[str, dict[str, Any]] = {}
    for name, app in list(apps.items()):
        try:
            states[name] = loop.run_until_complete(stack.enter_async_context(lifespan(app)))
        except RuntimeError as error:
            missing[name] = str(error)
            del apps[name]
    results: dict[str, dict[str, float]] = {}
    try:
        for request in REQUESTS:
            samplers: dict[str, Callable[[], float]] = {}
            for name, app in list(apps.items()):
                scope = scope_for(request, states[name])
                problem = check_response(
                    request, *loop.run_until_complete(call(app, scope, request.body))
                )
                if problem:
                    missing[name] = f"wrong answer to {request.label}: {problem}"
                    del apps[name]
                    continue
                measure = functools.partial(direct_call_ns, app, scope, request.body)
                samplers[name] = timed(loop, measure, mode.sample_s)
            best = h.interleaved_best(samplers, mode.rounds)
            results[request.label] = {name: 1e9 / ns for name, ns in best.items()}
    finally:
        loop.run_until_complete(stack.aclose())
    return results, missing


# --------------------------------------------------------------------------- the client


def load_clients() -> tuple[Any, Any, str]:
    """asgilab's ``Client`` and ``AsyncClient`` (either may be ``None``) and why not."""
    try:
        import asgilab.client as module
    except ImportError as error:
        return None, None, f"asgilab.Client not available yet ({error})"
    sync = getattr(module, "Client", None)
    twin = getattr(module, "AsyncClient", None)
    return sync, twin, "" if sync else "asgilab.client has no Client yet"


def run_clients(loop: asyncio.AbstractEventLoop, mode: h.Mode) -> tuple[dict[str, float], str]:
    """µs per request on the bare app: direct, httpx, asgilab's clients (if present)."""
    import httpx

    request = REQUESTS[1]  # GET /users/42: routing, conversion and JSON, a small body
    sync_client_cls, async_client_cls, why = load_clients()
    scope = scope_for(request, {})
    httpx_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bare), base_url="http://testserver"
    )

    async def through(client: Any, number: int) -> float:
        start = time.perf_counter_ns()
        for _ in range(number):
            (await client.get(request.path)).raise_for_status()
        return (time.perf_counter_ns() - start) / number

    samplers: dict[str, Callable[[], float]] = {
        "direct ASGI call": timed(
            loop, functools.partial(direct_call_ns, bare, scope, b""), mode.sample_s
        ),
        "httpx.AsyncClient + ASGITransport": timed(
            loop, functools.partial(through, httpx_client), mode.sample_s
        ),
    }
    cleanups: list[Callable[[], Any]] = [lambda: loop.run_until_complete(httpx_client.aclose())]
    if async_client_cls is not None:
        twin = async_client_cls(bare)
        loop.run_until_complete(twin.__aenter__())
        cleanups.append(lambda: loop.run_until_complete(twin.__aexit__(None, None, None)))
        samplers["asgilab.AsyncClient"] = timed(
            loop, functools.partial(through, twin), mode.sample_s
        )
    if sync_client_cls is not None:
        client = sync_client_cls(bare)
        client.__enter__()
        cleanups.append(lambda: client.__exit__(None, None, None))

        def sync_sample(number: int) -> float:
            start = time.perf_counter_ns()
            for _ in range(number):
                client.get(request.path).raise_for_status()
            return (time.perf_counter_ns() - start) / number

        client.get(request.path)
        once = sync_sample(1)
        number = max(1, int(mode.sample_s * 1e9 / max(once, 1.0)))
        samplers["asgilab.Client (sync)"] = functools.partial(sync_sample, number)
    try:
        best = h.interleaved_best(samplers, mode.rounds)
    finally:
        for cleanup in reversed(cleanups):
            cleanup()
    return {name: ns / 1000 for name, ns in best.items()}, why


# --------------------------------------------------------------------------- report


def report(results: dict[str, dict[str, float]], missing: dict[str, str]) -> None:
    names = [n for n in FRAMEWORKS if n not in missing]
    print("Framework layer, in-process ASGI calls: requests per second (higher is better)")
    rows = [[label, *(f"{by[n]:,.0f}" for n in names)] for label, by in results.items()]
    print(h.render_table(["endpoint", *names], rows))
    for name, why in missing.items():
        print(f"  {name}: {why}")
    print()
    if "asgilab" in names:
        peers = [p for p in PEERS if p in names]
        print("Ratios: asgilab req/s / other req/s (above 1.00x means asgilab is faster)")
        headers = ["endpoint", *(f"vs {p}" for p in peers), "vs fastest peer", "of the floor"]
        rows = []
        for label, by in results.items():
            fastest = max((by[p] for p in peers), default=None)
            rows.append(
                [
                    label,
                    *(h.format_ratio(by["asgilab"] / by[p]) for p in peers),
                    h.format_ratio(by["asgilab"] / fastest if fastest else None),
                    h.format_ratio(by["asgilab"] / by["bare"] if "bare" in by else None),
                ]
            )
        print(h.render_table(headers, rows))
        print()


def report_clients(micros: dict[str, float], why: str) -> None:
    print("In-process client, GET /users/42 on the bare app: µs per request (lower is better)")
    httpx_us = micros["httpx.AsyncClient + ASGITransport"]
    rows = [[name, f"{us:,.1f}", h.format_ratio(us / httpx_us)] for name, us in micros.items()]
    print(h.render_table(["how", "µs", "x httpx"], rows))
    if why:
        print(f"  asgilab.Client: not available yet — {why}")
    print()


def targets(
    results: dict[str, dict[str, float]],
    missing: dict[str, str],
    micros: dict[str, float],
    why: str,
) -> list[h.Target]:
    out = []
    name = "asgilab ≥ 1.25x the fastest peer on each endpoint"
    if "asgilab" in missing:
        out.append(h.Target(name, None, missing["asgilab"]))
    else:
        ratios = {}
        for label, by in results.items():
            fastest = max(by[p] for p in PEERS if p in by)
            ratios[label] = by["asgilab"] / fastest
        out.append(
            h.Target(
                name,
                all(r >= 1.25 for r in ratios.values()),
                ", ".join(f"{label} {r:.2f}x" for label, r in ratios.items()),
            )
        )
    httpx_us = micros["httpx.AsyncClient + ASGITransport"]
    for client in ("asgilab.Client (sync)", "asgilab.AsyncClient"):
        label = f"{client} adds < 10% over httpx's ASGI transport"
        if client not in micros:
            detail = why or f"{client} not available yet"
            out.append(h.Target(label, None, detail))
            continue
        extra = micros[client] / httpx_us - 1
        out.append(h.Target(label, extra < 0.10, f"{extra:+.1%}"))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    mode, _args = h.parse_args(__doc__.splitlines()[0] if __doc__ else "", argv)
    # A request costs microseconds, not nanoseconds: longer samples than the
    # router's keep the timer's and the loop's own noise out (still ~10 s).
    mode = dataclasses.replace(mode, sample_s=mode.sample_s * 4)
    env = h.environment(["starlette", "falcon", "blacksheep", "httpx"])
    h.print_header("Framework layer", mode, env)
    loop = asyncio.new_event_loop()
    try:
        results, missing = run_frameworks(loop, mode)
        report(results, missing)
        micros, why = run_clients(loop, mode)
        report_clients(micros, why)
    finally:
        loop.close()
    payload = {
        "environment": env,
        "mode": mode.name,
        "missing": missing,
        "requests_per_second": results,
        "client_microseconds": micros,
    }
    return h.finish(targets(results, missing, micros, why), mode, payload)


if __name__ == "__main__":
    sys.exit(main())
