"""Router lookups: asgilab's radix tree against the Python routers people actually use.

Run from the repository root with the virtualenv active::

    python bench/routers.py              # the default run, under 2 minutes on 2 cores
    python bench/routers.py --full       # longer samples, a bigger time cap for slow peers
    python bench/routers.py --quick --no-targets   # what the smoke test runs
    python bench/routers.py --json results/routers.json   # for the performance notebook
    python bench/routers.py --no-compiled   # the interpreted asgilab only

asgilab runs as two builds of the same source: ``asgilab`` (interpreted, what
``import asgilab`` gives everyone) and ``asgilab (mypyc)``, a copy whose routing
modules (the tree, the router, patterns and converters) mypyc compiled to C
(``bench/_compiled.py`` builds it into ``build/mypyc/``, ~30 s the first time,
then cached by the hash of the sources). The compiled build runs in a child
process with that copy first on ``sys.path``; the parent asks it for one sample
at a time, so it takes its turn in the same interleaved rounds as every other
router. The targets are checked against the compiled build when it could be
built (the output says which build), else against the interpreted one.

Two parts, both in one process tree on one machine, so only ratios matter:

1. **The GitHub API** (203 routes, ``bench/data/github_routes.txt``) loaded into
   every router, each in its own syntax, then timed on six workloads: every
   route once, static routes only, parameter routes only, 4,096 distinct
   parameter paths (what defeats a cache of whole paths), and misses that fail
   at the first segment or deep in the tree. Every router's answer to every
   lookup is checked against the expected route and parameters *before* timing,
   so a router cannot win by being wrong.
2. **Scaling**: a generated, realistic route set (one static ``/api/svcN/resM``
   prefix per resource, parameters below it, a catch-all per service) from 10 to
   100,000 routes. Each (router, size) cell runs in a child process with a time
   cap, so a peer whose build explodes is reported as skipped instead of
   stalling the run, and its memory is measured alone (tracemalloc peak).

What is timed is what a caller gets: the matched route (endpoint) and its
parameters. Each router is called through its native lookup, in a loop over
prepared inputs, with nothing else in the loop:

- asgilab ``Router.match(method, path)``;
- Falcon ``CompiledRouter.find(path)`` (its method map is indexed by the caller
  afterwards; that step is *not* timed, in Falcon's favour);
- xrtr ``RadixTree.get(path, method)``;
- sanic-routing ``BaseRouter.resolve(path, method=...)`` (the router alone,
  without the LRU cache Sanic's app puts in front of it);
- werkzeug ``Map.bind("").match(path, method)`` (bound once, in its favour);
- Starlette: its router's loop, ``route.matches(scope)`` over the routes until a
  full match, on prebuilt scopes (the slash-redirect retry after a miss is not
  timed, in its favour);
- the floor: one dict lookup inside a Python function, on static paths only —
  no pure-Python router can beat it.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import random
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import _harness as h
from _compiled import LABEL, CompiledBuildError, add_flag, compiled_dir, is_compiled
from _contenders import (
    CONTENDERS,
    PARAM,
    Contender,
    Lookup,
    Routes,
    available,
    make_endpoints,
    route_key,
)

__all__ = [
    "COMPILED",
    "CompiledContender",
    "generated_lookups",
    "generated_routes",
    "github_workloads",
    "load_routes",
    "main",
]

COMPILED = LABEL  # the column of asgilab with its router compiled by mypyc


# --------------------------------------------------------------------------- workloads


def to_regex(pattern: str) -> re.Pattern[str]:
    """The reference meaning of a pattern, used to validate the workloads."""
    parts, last = [], 0
    for m in PARAM.finditer(pattern):
        parts.append(re.escape(pattern[last : m.start()]))
        parts.append(f"(?P<{m[1]}>.*)" if m[2] == "path" else f"(?P<{m[1]}>[^/]+)")
        last = m.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts) + r"\Z")


def load_routes(filename: str) -> Routes:
    lines = (h.DATA / filename).read_text(encoding="utf-8").splitlines()
    return [(m, p) for m, p in (line.split() for line in lines if line.strip())]


def fill(pattern: str, value: Callable[[str, str], str]) -> tuple[str, dict[str, str]]:
    """A concrete path for ``pattern`` and the parameters it should give."""
    params: dict[str, str] = {}

    def one(m: re.Match[str]) -> str:
        params[m[1]] = value(m[1], m[2] or "str")
        return params[m[1]]

    return PARAM.sub(one, pattern), params


def github_workloads(routes: Routes, distinct: int) -> dict[str, list[Lookup]]:
    """The six GitHub workloads, each lookup paired with its validated answer."""
    regexes = [(m, p, to_regex(p)) for m, p in routes]

    def lookup(method: str, pattern: str, value: Callable[[str, str], str]) -> Lookup:
        path, params = fill(pattern, value)
        return Lookup(method, path, (route_key(method, pattern), params))

    every = [lookup(m, p, lambda name, _: f"{name}1") for m, p in routes]
    static = [x for x in every if x.expected and not x.expected[1]]
    params = [x for x in every if x.expected and x.expected[1]]
    with_params = [(m, p) for m, p in routes if "{" in p]
    counter = iter(range(10**9))
    many = [
        lookup(m, p, lambda name, _: f"{name}{next(counter)}")
        for i in range(distinct)
        for m, p in [with_params[i % len(with_params)]]
    ]
    shallow = [
        Lookup("GET", f"/{word}", None)
        for word in ("favicon.ico", "robots.txt", "login", "api", "v1", "admin", "x", "usr")
    ] + [Lookup("GET", f"/missing{i}/{i}", None) for i in range(8)]
    deep: list[Lookup] = []
    for m, p in with_params:
        if p.count("/") >= 4:
            path, _ = fill(p, lambda name, _: f"{name}1")
            deep.append(Lookup(m, path + "/nope", None))  # one segment too many
            head, _, tail = path.rpartition("/")
            if "{" not in p.rpartition("/")[2]:
                deep.append(Lookup(m, f"{head}/{tail}x", None))  # last static segment misspelt
    # Validate the expectations with the reference regexes: a generated path must
    # match its own route only, a miss no route at all (whatever the method).
    for x in every:
        hits = [route_key(m, p) for m, p, rx in regexes if m == x.method and rx.match(x.path)]
        if x.expected is None or hits != [x.expected[0]]:
            raise RuntimeError(f"workload error: {x.path} matches {hits}")
    for x in shallow:
        if any(rx.match(x.path) for _, _, rx in regexes):
            raise RuntimeError(f"workload error: the miss {x.path} matches a route")
    # A deep candidate can hit another route (``.../git/blobs`` + ``/nope`` is a blob).
    deep = [x for x in deep if not any(rx.match(x.path) for _, _, rx in regexes)]
    return {
        "all": every,
        "static": static,
        "params": params,
        f"distinct-{len(many)}": many,
        "miss-shallow": shallow,
        "miss-deep": deep,
    }


def generated_routes(count: int) -> Routes:
    """The first ``count`` routes of a realistic, endless API.

    Resources ``/api/svc{S}/res{R}`` (20 per service) each get a collection, an
    item, a sub-collection and a sub-item; each service also has a catch-all
    ``/api/svc{S}/files/{rest:path}``. So the set has many static prefixes,
    parameters two levels deep, and a few catch-alls, and its shape is the same
    at every size. Static and parameter children never share a parent, which
    xrtr (and only xrtr) cannot load.
    """
    routes: Routes = []
    resource = 0
    while len(routes) < count:
        service, index = divmod(resource, 20)
        base = f"/api/svc{service}/res{index}"
        if index == 0:
            routes.append(("GET", f"/api/svc{service}/files/{{rest:path}}"))
        routes += [
            ("GET", base),
            ("POST", base),
            ("GET", f"{base}/{{id}}"),
            ("PUT", f"{base}/{{id}}"),
            ("DELETE", f"{base}/{{id}}"),
            ("GET", f"{base}/{{id}}/items"),
            ("GET", f"{base}/{{id}}/items/{{item_id}}"),
        ]
        resource += 1
    return routes[:count]


def generated_lookups(routes: Routes, sample: int) -> list[Lookup]:
    values = {"id": "42", "item_id": "7", "rest": "css/site.css"}
    rng = random.Random(8)
    chosen = routes if len(routes) <= sample else rng.sample(routes, sample)
    lookups = []
    for method, pattern in chosen:
        path, params = fill(pattern, lambda name, _: values[name])
        lookups.append(Lookup(method, path, (route_key(method, pattern), params)))
    return lookups


# --------------------------------------------------------------------------- part 1


def check(contender: Contender, lookups: Sequence[Lookup]) -> list[str]:
    """Every lookup where the router's answer differs from the expected one."""
    wrong = []
    for x in lookups:
        got = contender.resolve(x.method, x.path)
        if got != x.expected:
            wrong.append(f"{x.method} {x.path}: expected {x.expected}, got {got}")
    return wrong


def run_github(
    mode: h.Mode, names: list[str], distinct: int, compiled: CompiledContender | None = None
) -> tuple[dict[str, dict[str, float]], dict[str, list[str]], list[str]]:
    """Time every contender on every GitHub workload; also return the wrong answers.

    ``compiled``, when given, is raced too, in its own process but in the same rounds.
    """
    routes = load_routes("github_routes.txt")
    endpoints = make_endpoints(routes)
    workloads = github_workloads(routes, distinct)
    contenders = {name: CONTENDERS[name](routes, endpoints) for name in names}
    wrong: dict[str, list[str]] = {}
    if compiled is not None:
        wrong[COMPILED] = compiled.check()
    for name, contender in contenders.items():
        for workload, lookups in workloads.items():
            if contender.static_only and workload != "static":
                continue
            wrong.setdefault(name, []).extend(check(contender, lookups))
    results: dict[str, dict[str, float]] = {}
    for workload, lookups in workloads.items():
        samplers: dict[str, Callable[[], float]] = {}
        for name, contender in contenders.items():
            if contender.static_only and workload != "static":
                continue
            run, items = contender.runner(), contender.items(lookups)
            number = h.calibrate(run, items, len(items), mode.sample_s)
            samplers[name] = functools.partial(h.sample_ns, run, items, len(items), number)
        if compiled is not None:
            samplers[COMPILED] = compiled.sampler(workload, mode.sample_s)
        results[workload] = h.interleaved_best(samplers, mode.rounds)
    notes = [note for c in contenders.values() if (note := c.note())]
    return results, wrong, notes


class CompiledContender:
    """asgilab's compiled build, racing from a child process that times its own samples.

    Two builds of one package cannot share a process (both are ``asgilab``), so
    the child imports the compiled copy and answers one request per line on its
    stdin: check every answer, calibrate a workload, take one sample. Only the
    child's own timing loop is in a sample; the pipe is outside it.
    """

    def __init__(self, directory: str, distinct: int) -> None:
        command = [sys.executable, __file__, "--compiled-child", str(distinct)]
        self.child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=with_path(directory),
        )

    def ask(self, **request: Any) -> Any:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(json.dumps(request) + "\n")
        self.child.stdin.flush()
        line = self.child.stdout.readline()
        if not line:
            raise RuntimeError(f"the {COMPILED} child exited (status {self.child.wait()})")
        return json.loads(line)

    def check(self) -> list[str]:
        wrong: list[str] = self.ask(op="check")
        return wrong

    def sampler(self, workload: str, sample_s: float) -> Callable[[], float]:
        number = self.ask(op="calibrate", workload=workload, sample_s=sample_s)
        return functools.partial(self.ask, op="sample", workload=workload, number=number)

    def close(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(timeout=30)


def compiled_child(distinct: int) -> None:
    """The child side of :class:`CompiledContender`: serve requests until stdin closes."""
    import asgilab.router

    if not is_compiled(asgilab.router.__file__):
        raise SystemExit(f"{COMPILED}: imported {asgilab.router.__file__}, not the compiled copy")
    routes = load_routes("github_routes.txt")
    workloads = github_workloads(routes, distinct)
    contender = CONTENDERS["asgilab"](routes, make_endpoints(routes))
    prepared = {w: (contender.runner(), contender.items(x)) for w, x in workloads.items()}
    for line in sys.stdin:
        request = json.loads(line)
        answer: Any
        if request["op"] == "check":
            answer = [bad for lookups in workloads.values() for bad in check(contender, lookups)]
        else:
            run, items = prepared[request["workload"]]
            if request["op"] == "calibrate":
                answer = h.calibrate(run, items, len(items), request["sample_s"])
            else:
                answer = h.sample_ns(run, items, len(items), request["number"])
        print(json.dumps(answer), flush=True)


# --------------------------------------------------------------------------- part 2


def scaling_cell(name: str, size: int, rounds: int, budget_s: float) -> None:
    """Build, time and weigh one router at one size (runs in a child process).

    Each phase prints its own JSON line as soon as it is done, so a cell killed
    at the cap still reports the phases it finished (a build time, say, even if
    the tracemalloc pass that follows is too slow).
    """
    began = time.perf_counter()

    def report(**figures: float) -> None:
        print(json.dumps({**figures, "work_s": time.perf_counter() - began}), flush=True)

    if name == COMPILED:
        import asgilab.router

        if not is_compiled(asgilab.router.__file__):
            raise RuntimeError(f"imported {asgilab.router.__file__}, not the compiled copy")
    cls = CONTENDERS["asgilab" if name == COMPILED else name]
    warm_up = generated_routes(10)
    cls(warm_up, make_endpoints(warm_up))  # imports the router's modules outside the timing
    routes = generated_routes(size)
    endpoints = make_endpoints(routes)
    lookups = generated_lookups(routes, sample=200)
    gc.collect()
    start = time.perf_counter()
    contender = cls(routes, endpoints)
    report(build_s=time.perf_counter() - start)
    wrong = check(contender, lookups[:20])
    if wrong:
        raise RuntimeError(f"{name} at {size} routes: " + wrong[0])
    run, items = contender.runner(), contender.items(lookups)
    number = h.calibrate(run, items, len(items), 0.01)
    best, deadline = float("inf"), time.perf_counter() + budget_s
    for _ in range(rounds):
        best = min(best, h.sample_ns(run, items, len(items), number))
        if time.perf_counter() > deadline:
            break
    report(lookup_ns=best)
    del contender, run
    gc.collect()
    tracemalloc.start()
    kept = cls(routes, endpoints)  # kept alive until the peak is read
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del kept
    report(peak_mb=peak / 2**20)


# asgilab's own cells get a longer cap: its 100,000-route cell is a target, and a
# busy machine must not turn it into "skipped".
ASGILAB_CAP = 3


@dataclass(slots=True)
class Cell:
    """One (router, size) result; a field left ``None`` was not reached."""

    status: str  # "ok", "partial" (cap hit after some phases), "skipped", "failed"
    build_s: float | None = None
    lookup_ns: float | None = None
    peak_mb: float | None = None
    work_s: float | None = None  # the child's own time, for estimating the next size
    detail: str = ""


def run_scaling(
    mode: h.Mode, names: list[str], sizes: list[int], cap_s: float, compiled: str | None = None
) -> dict[str, dict[int, Cell]]:
    """Every (router, size) cell in a child process, smallest sizes first, capped.

    A peer is not even started at a size its last two cells say it cannot finish
    under the cap (assuming at least linear growth), and never again after a cell
    hit the cap or failed. asgilab always runs: its 100,000-route cell is a target.
    ``compiled`` is the directory of the compiled copy, whose cells run as :data:`COMPILED`.
    """
    table: dict[str, dict[int, Cell]] = {name: {} for name in names}
    for i, size in enumerate(sizes):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:  # interleave the order by size
            cells = list(table[name].values())
            if any(cell.status != "ok" for cell in cells):
                table[name][size] = Cell("skipped", detail="a smaller size did not finish")
                continue
            ours = name in ("asgilab", COMPILED)
            if not ours and len(cells) >= 2:
                last, before = cells[-1].work_s or 0.0, cells[-2].work_s or 0.0
                growth = max(size / sizes[i - 1], last / max(before, 1e-3))
                if last * growth > cap_s:
                    table[name][size] = Cell("skipped", detail=f"estimated {last * growth:.0f} s")
                    continue
            cell_cap = cap_s * ASGILAB_CAP if ours else cap_s
            path = compiled if name == COMPILED else None
            table[name][size] = cell = spawn_cell(name, size, mode.rounds, cell_cap, path)
            print(f"  scaling: {name} at {size:,} routes: {cell.status} {cell.detail}", flush=True)
    return table


def with_path(directory: str) -> dict[str, str]:
    """The environment for a child that must import ``directory``'s asgilab first."""
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([directory, *([old] if old else [])])}


def spawn_cell(name: str, size: int, rounds: int, cap_s: float, path: str | None = None) -> Cell:
    command = [sys.executable, __file__, "--cell", name, str(size), str(rounds), str(cap_s / 4)]
    env = None if path is None else with_path(path)
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        out, err = child.communicate(timeout=cap_s)
        status = "ok"
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()  # whatever the phases printed before the cap
        status = "partial"
    figures: dict[str, Any] = {}
    for line in out.splitlines():
        figures.update(json.loads(line))
    if status == "ok" and child.returncode != 0:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return Cell("failed", detail=last)
    if status == "partial":
        status = "partial" if figures else "skipped"
        figures["detail"] = f"over the {cap_s:.0f} s cap"
    return Cell(status, **figures)


# --------------------------------------------------------------------------- report


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator or numerator == float("inf"):
        return None
    return numerator / denominator


def report_github(results: dict[str, dict[str, float]], names: list[str]) -> None:
    print("GitHub API, 203 routes: ns per lookup (best of rounds; lower is better)")
    rows = [[w, *(h.format_ns(by.get(n)) for n in names)] for w, by in results.items()]
    print(h.render_table(["workload", *names], rows))
    print()
    peers = [n for n in names if n not in ("asgilab", COMPILED, "floor")]
    for ours in [n for n in (COMPILED, "asgilab") if n in names]:
        print(f"Ratios: peer time / {ours} time (above 1.00x means {ours} is faster)")
        headers = ["workload", *peers, f"{ours}/floor"]
        if ours == COMPILED and "asgilab" in names:
            headers.append("interpreted/compiled")
        rows = []
        for workload, by in results.items():
            row = [workload, *(h.format_ratio(ratio(by.get(p), by.get(ours))) for p in peers)]
            row.append(h.format_ratio(ratio(by.get(ours), by.get("floor"))))
            if len(headers) > len(row):
                row.append(h.format_ratio(ratio(by.get("asgilab"), by.get(ours))))
            rows.append(row)
        print(h.render_table(headers, rows))
        print()


def report_scaling(table: dict[str, dict[int, Cell]], sizes: list[int], cap_s: float) -> None:
    def cell_text(cell: Cell | None, field: str) -> str:
        if cell is None or cell.status == "n/a":
            return "n/a"
        if cell.status == "skipped":
            return "skipped (> cap)"
        if cell.status == "failed":
            return "failed"
        value = getattr(cell, field)
        if value is None:  # a partial cell: the cap came before this phase
            return "skipped (> cap)"
        return {"lookup_ns": h.format_ns, "build_s": "{:.3f}".format, "peak_mb": "{:.1f}".format}[
            field
        ](value)

    for field, title in [
        ("lookup_ns", "ns per lookup"),
        ("build_s", "build time, seconds"),
        ("peak_mb", "build memory, MB (tracemalloc peak)"),
    ]:
        print(f"Scaling, generated routes: {title}")
        rows = [
            [name, *(cell_text(cells.get(size), field) for size in sizes)]
            for name, cells in table.items()
        ]
        print(h.render_table(["router", *(f"{s:,}" for s in sizes)], rows))
        print()
    print(
        f"  cap: {cap_s:.0f} s per router and size (asgilab: {cap_s * ASGILAB_CAP:.0f} s), "
        "for build + lookups + memory"
    )
    for name, cells in table.items():
        for size, cell in cells.items():
            if cell.status != "ok" and "smaller size" not in cell.detail:
                print(f"  {name} at {size:,} routes {cell.status}: {cell.detail}")


def targets(
    results: dict[str, dict[str, float]],
    wrong: dict[str, list[str]],
    scaling: dict[str, dict[int, Cell]],
    missing: dict[str, str],
    ours: str,
) -> list[h.Target]:
    """The issue's router targets; speed and scaling are judged on build ``ours``.

    Every build that raced must answer every lookup right; the speed and scaling
    targets are judged on the compiled build if there is one (the issue allows
    mypyc as the lever), else on the interpreted one.
    """
    raced = set(results.get("all", {}))

    def absent(name: str) -> str | None:
        """Why ``name`` was not raced in this run, or ``None`` if it was."""
        return None if name in raced else missing.get(name, f"{name} left out by --only")

    if why := absent(ours):
        names = [
            "router ≥ 1.3x Falcon on every workload",
            "router faster than xrtr on every workload",
            "static lookups within 2x of the floor",
            *SCALING_TARGETS,
        ]
        return [h.Target(name, None, why) for name in names]
    out = [
        h.Target(
            f"{build} answers every lookup right",
            not wrong.get(build),
            "; ".join(wrong.get(build, [])[:3]) or "all lookups checked",
        )
        for build in ("asgilab", COMPILED)
        if build in raced
    ]
    # (peer, what the target says, whether a ratio peer/asgilab meets it)
    bars: list[tuple[str, str, Callable[[float], bool]]] = [
        ("falcon", "≥ 1.3x Falcon", lambda r: r >= 1.3),
        ("xrtr", "faster than xrtr", lambda r: r > 1.0),
    ]
    for peer, label, meets in bars:
        if why := absent(peer):
            out.append(h.Target(f"router {label} on every workload", None, why))
            continue
        ratios = {w: ratio(by.get(peer), by.get(ours)) or 0.0 for w, by in results.items()}
        out.append(
            h.Target(
                f"router: {ours} {label} on every workload",
                all(meets(r) for r in ratios.values()),
                ", ".join(f"{w} {r:.2f}x" for w, r in ratios.items()),
            )
        )
    static = results.get("static", {})
    to_floor = ratio(static.get(ours), static.get("floor"))
    out.append(
        h.Target(
            f"static lookups: {ours} within 2x of the floor",
            None if to_floor is None else to_floor <= 2.0,
            f"{ours}/floor = {h.format_ratio(to_floor)}",
        )
    )
    if to_floor is None:
        out[-1] = h.Target(out[-1].name, None, absent("floor") or "not measured")
    out.extend(scaling_targets(scaling.get(ours, {})))
    return out


SCALING_TARGETS = [
    "lookups at 100,000 routes within 1.5x of 10 routes",
    "100,000 routes build in < 3 s",
    "100,000 routes build in < 150 MB",
]


def scaling_targets(cells: dict[int, Cell]) -> list[h.Target]:
    """The three scaling targets from asgilab's 10- and 100,000-route cells.

    A field the cell did not reach before the cap is a miss when reaching it was
    the target (a build still running at the cap took more than 3 s), and
    unchecked otherwise.
    """
    small, large = cells.get(10), cells.get(100_000)
    if large is None or small is None:
        why = "100,000-route scaling not run (use the default or --full run)"
        return [h.Target(name, None, why) for name in SCALING_TARGETS]
    cap = f"not reached: {large.status}, {large.detail}"
    growth = ratio(large.lookup_ns, small.lookup_ns)
    out = [
        h.Target(
            SCALING_TARGETS[0],
            None if growth is None else growth <= 1.5,
            cap
            if growth is None
            else f"{growth:.3f}x, limit 1.5x ({h.format_ns(small.lookup_ns)} -> "
            f"{h.format_ns(large.lookup_ns)} ns)",
        )
    ]
    if large.build_s is None:
        # Still building at the cap (which is far above 3 s) is a miss; a crash is unchecked.
        out.append(h.Target(SCALING_TARGETS[1], None if large.status == "failed" else False, cap))
    else:
        out.append(h.Target(SCALING_TARGETS[1], large.build_s < 3.0, f"{large.build_s:.2f} s"))
    if large.peak_mb is None:
        out.append(h.Target(SCALING_TARGETS[2], None, cap))
    else:
        out.append(h.Target(SCALING_TARGETS[2], large.peak_mb < 150, f"{large.peak_mb:.0f} MB"))
    return out


def extra_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cap", type=float, help="seconds one router may take at one size (default 12, --full 60)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(CONTENDERS), help="race only these routers"
    )
    add_flag(parser)
    parser.add_argument("--cell", nargs=4, help=argparse.SUPPRESS)  # child process entry
    parser.add_argument("--compiled-child", type=int, help=argparse.SUPPRESS)  # ditto


def main(argv: Sequence[str] | None = None) -> int:
    mode, args = h.parse_args(__doc__.splitlines()[0] if __doc__ else "", argv, extra_flags)
    if args.cell:
        name, size, rounds, budget = args.cell
        scaling_cell(name, int(size), int(rounds), float(budget))
        return 0
    if args.compiled_child is not None:
        compiled_child(args.compiled_child)
        return 0
    wanted = args.only or list(CONTENDERS)
    missing = {name: why for name in wanted if (why := available(name))}
    names = [name for name in wanted if name not in missing]
    env = h.environment(
        [CONTENDERS[n].distribution for n in names if n not in ("asgilab", "floor")]
    )
    h.print_header("Router lookups", mode, env)
    compiled_path: str | None = None
    if "asgilab" in names and not args.no_compiled:
        try:
            compiled_path = str(compiled_dir(verbose=True))
        except CompiledBuildError as error:
            missing[COMPILED] = f"no compiled build, targets apply to the interpreted one: {error}"
    for name, why in missing.items():
        print(f"  {name}: {why}")
    if compiled_path is not None:
        print(f"  {COMPILED}: the same source compiled by mypyc, from {compiled_path}")
        print()
    distinct = 256 if mode.name == "quick" else 4096
    compiled = None if compiled_path is None else CompiledContender(compiled_path, distinct)
    try:
        results, wrong, notes = run_github(mode, names, distinct, compiled)
    finally:
        if compiled is not None:
            compiled.close()
    if compiled is not None:
        names.insert(names.index("asgilab") + 1, COMPILED)
    report_github(results, names)
    for note in notes:
        print(f"  note: {note}")
    for name, lines in wrong.items():
        if lines:
            print(f"  {name} answered {len(lines)} lookup(s) wrongly, e.g. {lines[0]}")

    sizes = [10, 100] if mode.name == "quick" else [10, 100, 1_000, 10_000, 100_000]
    cap = args.cap or {"quick": 10.0, "default": 12.0, "full": 60.0}[mode.name]
    scaling_names = [n for n in names if n != "floor"]
    scaling = run_scaling(mode, scaling_names, sizes, cap, compiled_path)
    print()
    report_scaling(scaling, sizes, cap)

    payload = {
        "environment": env,
        "mode": mode.name,
        "missing": missing,
        "github_ns": results,
        "wrong_answers": {name: len(lines) for name, lines in wrong.items()},
        "scaling": {
            name: {str(size): vars_of(cell) for size, cell in cells.items()}
            for name, cells in scaling.items()
        },
    }
    judged = COMPILED if COMPILED in results.get("all", {}) else "asgilab"
    print(f"Speed and scaling targets are checked against the {judged} build.")
    payload["targets_build"] = judged
    return h.finish(targets(results, wrong, scaling, missing, judged), mode, payload)


def vars_of(cell: Cell) -> dict[str, Any]:
    return {field: getattr(cell, field) for field in Cell.__slots__}


if __name__ == "__main__":
    sys.exit(main())
