"""The README's first command really opens the notebooks in JupyterLab.

The test starts JupyterLab through ``tasks.py lab``, the same entry point a user runs, headless
on a free loopback port, and checks what the user would see: the /lab page and the notebooks in
its file browser (the contents API).
"""

import subprocess
import sys
from pathlib import Path

import httpx
from processes import free_port, stop_process, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "asgilab-test"


def test_tasks_lab_serves_the_notebooks() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tasks.py"),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"{base}/lab?token={TOKEN}", process, timeout=120)
        page = httpx.get(f"{base}/lab", params={"token": TOKEN}, timeout=10)
        assert page.status_code == 200
        assert "JupyterLab" in page.text

        contents = httpx.get(f"{base}/api/contents", params={"token": TOKEN}, timeout=10)
        assert contents.status_code == 200
        listed = {item["name"] for item in contents.json()["content"]}
        expected = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
        assert expected and expected <= listed
    finally:
        stop_process(process)
