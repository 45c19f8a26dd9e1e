"""The atheris harness (fuzz/fuzz_routing.py) for a bounded 20 seconds, in a subprocess:
libFuzzer must finish its time without a crash (an exception or a broken invariant)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import REPORT_LINES

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"


@pytest.mark.slow
def test_fuzz_routing_finds_no_crash_in_20_seconds(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "seeds", corpus)  # libFuzzer adds to its first corpus dir
    command = [
        sys.executable,
        str(FUZZ / "fuzz_routing.py"),
        "-max_total_time=20",
        "-seed=1",  # the same mutation sequence on every run
        "-rss_limit_mb=1024",
        f"-dict={FUZZ / 'routing.dict'}",
        f"-artifact_prefix={tmp_path}/",
        str(corpus),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    output = done.stdout + done.stderr
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert (done.returncode, crashes) == (0, []), output[-4000:]
    runs = re.search(r"Done (\d+) runs in (\d+) second", output)
    assert runs is not None, output[-2000:]
    REPORT_LINES.append(
        f"fuzz: {runs[1]} inputs in {runs[2]} s through router, parsers and App, no crash "
        f"(corpus grew from {len(list((FUZZ / 'seeds').iterdir()))} seeds "
        f"to {len(list(corpus.iterdir()))} inputs)"
    )
