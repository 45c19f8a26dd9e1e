"""Smoke tests for the benchmarks in ``bench/``: each script runs, prints, writes JSON.

They run every script in its ``--quick`` mode with ``--no-targets``, so they catch
a broken benchmark (a peer's API changed, an asgilab name moved) without ever
asserting anything about speed: timings belong to the benchmark's report, not
to a test.
"""

import doctest
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

pytestmark = pytest.mark.slow  # each script runs in a child process, with its peers


def run_script(script: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--no-targets", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # routers.py's first run builds the compiled router (about a minute on two idle cores).
        timeout=360,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("script", "title", "keys"),
    [
        ("routers.py", "Router lookups (quick run", {"github_ns", "scaling", "targets"}),
        ("apps.py", "Framework layer (quick run", {"requests_per_second", "client_microseconds"}),
    ],
)
def test_in_process_benchmark_runs(script: str, title: str, keys: set[str], tmp_path: Path) -> None:
    stdout, results = run_script(script, tmp_path)
    assert stdout.startswith(title)
    assert "Targets" in stdout
    assert keys <= results.keys()


def test_import_benchmark_runs(tmp_path: Path) -> None:
    stdout, results = run_script("imports.py", tmp_path)
    assert stdout.startswith("Import time, fresh processes (quick run")
    assert results["heavy_modules_loaded"] == []
    assert {"python -c pass", "asgilab"} <= results["milliseconds"].keys()
    assert len(results["targets"]) == 2  # no heavy module; at most half of Starlette's time


@pytest.mark.server
def test_server_benchmark_runs(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    stdout, results = run_script("serve.py", tmp_path)
    assert stdout.startswith("Under uvicorn, wrk on loopback (quick run")
    assert set(results["runs"]) == {"GET /"}
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:
        assert "servers on CPU" in stdout


def test_the_server_benchmark_gives_wrk_a_cpu_of_its_own_and_gives_it_back() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import serve
    finally:
        sys.path.remove(str(BENCH))
    cpus = serve.split_cpus()
    if cpus is None:
        pytest.skip("this system cannot pin a process to a CPU, or has only one")
    assert cpus.server != cpus.load
    before = os.sched_getaffinity(0)
    with serve.pinned_to_load_cpu(cpus):
        assert os.sched_getaffinity(0) == {cpus.load}
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert child.stdout.strip() == f"[{cpus.load}]", "a child (wrk) runs on the load CPU"
    assert os.sched_getaffinity(0) == before


def test_instruction_counts_run(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (apt-get install -y valgrind)")
    stdout, results = run_script("instructions.py", tmp_path)
    assert stdout.startswith("Instructions per request, counted by valgrind's cachegrind (quick")
    counts = results["instructions"]["GET /"]
    assert {"bare", "asgilab"} <= counts.keys()
    assert all(count > 0 for count in counts.values())


def test_instruction_child_checks_the_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child serves through uvicorn's protocol and refuses to count wrong answers."""
    sys.path.insert(0, str(BENCH))
    try:
        import _frameworks
        import instructions
    finally:
        sys.path.remove(str(BENCH))
    assert instructions.child("asgilab", "POST /echo", 16) == 0

    async def teapot(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrong = _frameworks.Framework("teapot", "python", lambda: teapot, "")
    monkeypatch.setitem(_frameworks.FRAMEWORKS, "asgilab", wrong)
    assert instructions.child("asgilab", "GET /", 16) == 1

    # Right through the warm-up, then a byte short: the counted answers are not
    # parsed, but their lengths must still add up.
    served = 0

    async def tiring(scope: Any, receive: Any, send: Any) -> None:
        nonlocal served
        served += 1
        body = b"Hello, world!" if served <= instructions.WARM_UP else b"Hello, world"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    tired = _frameworks.Framework("tiring", "python", lambda: tiring, "")
    monkeypatch.setitem(_frameworks.FRAMEWORKS, "asgilab", tired)
    assert instructions.child("asgilab", "GET /", 16) == 1


def test_router_workloads_are_sound() -> None:
    """The GitHub workloads have the promised sizes and every miss really misses."""
    sys.path.insert(0, str(BENCH))
    try:
        import routers
    finally:
        sys.path.remove(str(BENCH))
    workloads = routers.github_workloads(routers.load_routes("github_routes.txt"), 4096)
    sizes = {name: len(lookups) for name, lookups in workloads.items()}
    assert sizes["all"] == 203
    assert sizes["static"] + sizes["params"] == 203
    assert sizes["distinct-4096"] == len({x.path for x in workloads["distinct-4096"]}) == 4096
    assert all(x.expected is None for x in workloads["miss-shallow"] + workloads["miss-deep"])
    assert len(routers.generated_routes(100_000)) == 100_000


@pytest.mark.parametrize("module", ["_harness", "imports", "instructions", "serve"])
def test_bench_doctests(module: str) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        loaded = __import__(module)
    finally:
        sys.path.remove(str(BENCH))
    assert doctest.testmod(loaded).failed == 0
