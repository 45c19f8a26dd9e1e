"""Import time: ``import asgilab`` against ``import starlette.applications``, in fresh processes.

Run from the repository root with the virtualenv active::

    python bench/imports.py              # the default run, ~20 s
    python bench/imports.py --full       # more rounds
    python bench/imports.py --quick --no-targets

An import is timed the only way that counts what a user waits for: a fresh
``python -c "import X"``, from start to exit, as wall time. Every candidate runs
once per round, the rounds rotate the order (see ``_harness.py``), and each keeps
its best run: on a shared machine the minimum is the run least disturbed. A bare
``python -c pass`` runs in the same rounds, and what is reported is each import's
time *over* it: the interpreter's own start-up is the same for every package and
would only dilute the ratio.

Bytecode is cached for every candidate alike. Python reads and writes its ``.pyc``
files under a temporary ``PYTHONPYCACHEPREFIX`` (so the run leaves nothing in the
repository or the virtualenv), and each candidate runs once before timing to fill
it; ``PYTHONDONTWRITEBYTECODE`` is dropped for the children. Without this, an
editable asgilab would be compiled from source in every run while Starlette's
``.pyc`` files came with its wheel, and the figure would be the compiler's.

The second table imports each package after ``asyncio``, as a server does
(uvicorn, Hypercorn and Granian have their loop up before the app's module is
imported): there, what asgilab defers until a loop runs (asyncio itself) costs
nothing, and what each package adds is its own. It has no target.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import _harness as h

__all__ = ["CANDIDATES", "HEAVY", "heavy_modules", "main", "run_once"]

ROOT = Path(__file__).resolve().parent.parent

#: What ``import asgilab`` must not load: each comes with a client, a server or a drawing.
HEAVY = (
    "graphviz",
    "httpx",
    "matplotlib",
    "nest_asyncio",
    "nest_asyncio2",
    "pygraphviz",
    "uvicorn",
)

#: The candidates: the code each fresh process runs, by name.
CANDIDATES = {
    "python -c pass": "pass",
    "asgilab": "import asgilab",
    "starlette": "import starlette.applications",
    "asyncio": "import asyncio",
    "asyncio, then asgilab": "import asyncio; import asgilab",
    "asyncio, then starlette": "import asyncio; import starlette.applications",
}
#: Which candidate each figure is measured over: the bare interpreter, or one with asyncio.
BASELINE = {
    "asgilab": "python -c pass",
    "starlette": "python -c pass",
    "asyncio": "python -c pass",
    "asyncio, then asgilab": "asyncio",
    "asyncio, then starlette": "asyncio",
}
TARGET_RATIO = 0.5


def child_environment(pycache: str) -> dict[str, str]:
    """The children's environment: bytecode cached under ``pycache``, for every package."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def run_once(code: str, env: Mapping[str, str]) -> float:
    """Milliseconds for a fresh ``python -c code`` in the repository root, start to exit."""
    start = time.perf_counter_ns()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter_ns() - start
    if done.returncode:
        raise RuntimeError(f"python -c {code!r} failed: {done.stderr.decode().strip()}")
    return elapsed / 1e6


def heavy_modules(env: Mapping[str, str]) -> list[str]:
    """The modules of :data:`HEAVY` (and their submodules) that ``import asgilab`` loads."""
    code = (
        "import sys, asgilab; "
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=dict(env), capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"import asgilab failed: {done.stderr.strip()}")
    return done.stdout.split()


def measure(candidates: Mapping[str, str], rounds: int, env: Mapping[str, str]) -> dict[str, float]:
    """Best milliseconds of each candidate over ``rounds`` interleaved rounds (after a warm-up)."""
    for code in candidates.values():
        run_once(code, env)  # fills the bytecode cache, and the OS's file cache
    samplers: dict[str, Callable[[], float]] = {
        name: (lambda code=code: run_once(code, env)) for name, code in candidates.items()
    }
    return h.interleaved_best(samplers, rounds)


def report(best: Mapping[str, float]) -> dict[str, float]:
    """Print both tables; return each import's milliseconds over its baseline."""
    over = {name: best[name] - best[base] for name, base in BASELINE.items() if name in best}
    print(f"A fresh interpreter (python -c pass): {best['python -c pass']:.1f} ms")
    print()
    sections = [
        ("From a fresh interpreter: ms over `python -c pass`", "asgilab", "starlette"),
        ("After asyncio, as under a server", "asyncio, then asgilab", "asyncio, then starlette"),
    ]
    for title, ours, theirs in sections:
        names = [n for n in (ours, theirs, "asyncio") if n in over]
        if title.startswith("After"):
            names.remove("asyncio")
            title += ": ms over `python -c 'import asyncio'`"
        print(title)
        rows = [[n, f"{best[n]:.1f}", f"{over[n]:.1f}"] for n in names]
        print(h.render_table(["import", "whole run (ms)", "the import (ms)"], rows))
        if theirs in over and over[theirs] > 0:
            print(f"  asgilab / starlette: {h.format_ratio(over[ours] / over[theirs])}")
        print()
    return over


def main(argv: Sequence[str] | None = None) -> int:
    mode, args = h.parse_args(__doc__.splitlines()[0] if __doc__ else "", argv)
    # A run is a process start (tens of ms, and noisy), not a loop of nanoseconds: many
    # more rounds than the in-process benchmarks take, each round a handful of processes.
    rounds = args.rounds or {"quick": 2, "default": 25, "full": 61}[mode.name]
    mode = h.Mode(mode.name, rounds, mode.sample_s, mode.enforce, mode.json_path)
    env_info = h.environment(["starlette"])
    h.print_header("Import time, fresh processes", mode, env_info)

    missing: dict[str, str] = {}
    candidates = dict(CANDIDATES)
    if importlib.util.find_spec("starlette") is None:
        missing["starlette"] = "not installed (pip install -e '.[bench]'): no ratio to measure"
        print(f"  starlette: {missing['starlette']}\n")
        candidates = {n: c for n, c in candidates.items() if "starlette" not in n}

    with tempfile.TemporaryDirectory(prefix="asgilab-pycache-") as pycache:
        env = child_environment(pycache)
        loaded = heavy_modules(env)
        best = measure(candidates, mode.rounds, env)
    over = report(best)

    targets = [
        h.Target(
            f"import asgilab loads none of {', '.join(HEAVY)}",
            not loaded,
            "none loaded" if not loaded else "loaded: " + ", ".join(loaded),
        )
    ]
    name = f"import asgilab takes ≤ {TARGET_RATIO}x import starlette.applications"
    if "starlette" in missing:
        targets.append(h.Target(name, None, f"starlette {missing['starlette']}"))
    else:
        ratio = over["asgilab"] / over["starlette"] if over["starlette"] > 0 else float("inf")
        detail = f"{over['asgilab']:.1f} ms vs {over['starlette']:.1f} ms: {ratio:.2f}x"
        targets.append(h.Target(name, ratio <= TARGET_RATIO, detail))
    payload = {
        "environment": env_info,
        "mode": mode.name,
        "missing": missing,
        "milliseconds": best,
        "import_milliseconds": over,
        "heavy_modules_loaded": loaded,
    }
    return h.finish(targets, mode, payload)


if __name__ == "__main__":
    sys.exit(main())
