"""What every benchmark in ``bench/`` shares: timing, tables, versions, targets, flags.

The three scripts (``routers.py``, ``apps.py``, ``serve.py``) measure different
things but report them the same way, so the way they time, print and judge lives
here once:

- **Timing.** A sample runs a prepared loop a calibrated number of times with the
  garbage collector off (as :mod:`timeit` does) and reports nanoseconds per
  operation. Samples of competing candidates are *interleaved* round by round, in
  a rotating order, and the best sample of each is kept: on a shared, noisy
  machine the minimum is the figure least disturbed by other work, and
  interleaving spreads any slow period over every candidate instead of one.
- **Tables.** Plain text, right-aligned numbers, so a terminal and a notebook
  cell show the same thing.
- **Targets.** Each script states its targets from the performance issue as
  :class:`Target` records and :func:`finish` prints them and picks the exit code:
  1 when a target is missed, 2 when one could not be checked (the asgilab part it
  needs is not there yet), 0 otherwise; ``--no-targets`` only reports.

>>> render_table(["router", "ns"], [["asgilab", "512"], ["floor", "90"]])
'router    ns\\n-------  ---\\nasgilab  512\\nfloor     90'
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "DATA",
    "Mode",
    "Target",
    "calibrate",
    "environment",
    "finish",
    "format_ns",
    "format_ratio",
    "interleaved_best",
    "parse_args",
    "print_header",
    "render_table",
    "sample_ns",
    "version_of",
    "write_json",
]

DATA = Path(__file__).resolve().parent / "data"

T = TypeVar("T")


# --------------------------------------------------------------------------- flags


@dataclass(frozen=True, slots=True)
class Mode:
    """How long and how strictly a run goes, from the shared command-line flags."""

    name: str  # "quick" (smoke test), "default" (< 2 minutes) or "full"
    rounds: int  # interleaved rounds; each candidate keeps its best sample
    sample_s: float  # wall time one sample aims at
    enforce: bool  # False with --no-targets: report only, exit 0
    json_path: Path | None  # --json PATH: write the results there too


def parse_args(
    description: str,
    argv: Sequence[str] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[Mode, argparse.Namespace]:
    """Parse the flags every benchmark takes (plus ``extra`` ones) into a :class:`Mode`."""
    parser = argparse.ArgumentParser(description=description)
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument(
        "--quick", action="store_true", help="a tiny run that only proves the script works"
    )
    speed.add_argument("--full", action="store_true", help="longer, steadier runs")
    parser.add_argument(
        "--no-targets", action="store_true", help="report only: exit 0 even when a target is missed"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (best of N)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the results as JSON")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.quick:
        name, rounds, sample_s = "quick", 2, 0.002
    elif args.full:
        name, rounds, sample_s = "full", 9, 0.05
    else:
        name, rounds, sample_s = "default", 7, 0.015
    mode = Mode(
        name=name,
        rounds=args.rounds or rounds,
        sample_s=sample_s,
        enforce=not args.no_targets,
        json_path=args.json,
    )
    return mode, args


# --------------------------------------------------------------------------- timing


def sample_ns(run: Callable[[T], object], items: T, count: int, number: int) -> float:
    """Nanoseconds per operation for ``number`` calls of ``run(items)``.

    ``run`` loops over ``items`` itself (``count`` operations per call), so the
    only overhead measured besides the work is the loop the caller would have
    anyway. The collector is off during the sample, as in :mod:`timeit`.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(number):
            run(items)
        elapsed = time.perf_counter_ns() - start
    finally:
        if was_enabled:
            gc.enable()
    return elapsed / (number * count)


def calibrate(run: Callable[[T], object], items: T, count: int, sample_s: float) -> int:
    """How many calls of ``run(items)`` fill about ``sample_s`` seconds (at least one)."""
    once_ns = sample_ns(run, items, count, 1) * count
    return max(1, math.ceil(sample_s * 1e9 / max(once_ns, 1.0)))


def interleaved_best(
    candidates: Mapping[str, Callable[[], float]], rounds: int
) -> dict[str, float]:
    """Run one sample of each candidate per round, rotating the order; keep each one's best.

    Each candidate is a zero-argument callable returning one sample (e.g. ns per
    operation, lower is better). Rotating the start means no candidate always runs
    first (cold caches) or last (after the others warmed the CPU).
    """
    names = list(candidates)
    best = {name: math.inf for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], candidates[name]())
    return best


# --------------------------------------------------------------------------- printing


def format_ns(ns: float | None) -> str:
    """``1234.5`` → ``'1,235'``; ``None`` → ``'-'`` (not measured)."""
    return "-" if ns is None or math.isinf(ns) else f"{ns:,.0f}"


def format_ratio(ratio: float | None) -> str:
    """``1.2345`` → ``'1.23x'``; ``None`` → ``'-'``."""
    return "-" if ratio is None else f"{ratio:.2f}x"


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    body = [list(map(str, row)) for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in body)])


def version_of(distribution: str) -> str:
    """The installed version of a distribution, or ``'not installed'``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment(distributions: Sequence[str]) -> dict[str, str]:
    """Python, machine and the versions of asgilab and the peers, for the header and JSON."""
    info = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    info.update({name: version_of(name) for name in ["asgilab", *distributions]})
    return info


def print_header(title: str, mode: Mode, env: Mapping[str, str]) -> None:
    """The title, the run mode and every version, so a pasted table is self-describing."""
    print(f"{title} ({mode.name} run, best of {mode.rounds} interleaved rounds)")
    print("  " + " · ".join(f"{key} {value}" for key, value in env.items()))
    print()


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class Target:
    """One target from the performance issue and how this run did against it.

    ``ok`` is ``None`` when it could not be checked (the part of asgilab it
    measures is not available yet), which is neither a pass nor a miss.
    """

    name: str
    ok: bool | None
    detail: str


def finish(targets: Sequence[Target], mode: Mode, results: Mapping[str, Any]) -> int:
    """Print the targets, write ``--json`` if asked, and return the exit code."""
    print("Targets")
    for target in targets:
        status = {True: "met   ", False: "MISSED", None: "n/a   "}[target.ok]
        print(f"  {status} {target.name}: {target.detail}")
    missed = [t.name for t in targets if t.ok is False]
    unchecked = [t.name for t in targets if t.ok is None]
    if mode.json_path is not None:
        write_json(mode.json_path, {**results, "targets": [asdict(t) for t in targets]})
        print(f"\nResults written to {mode.json_path}")
    if not mode.enforce:
        return 0
    if missed:
        print(f"\n{len(missed)} target(s) missed: " + "; ".join(missed), file=sys.stderr)
        return 1
    if unchecked:
        print(f"\n{len(unchecked)} target(s) not checked: " + "; ".join(unchecked), file=sys.stderr)
        return 2
    return 0


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON (infinite values become ``null``)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(payload), indent=2) + "\n", encoding="utf-8")
