"""The README's first command really opens the notebooks in JupyterLab.

The test starts JupyterLab through ``tasks.py lab``, the same entry point a user runs, headless
on a free loopback port, and checks what the user would see: the /lab page and the notebooks in
its file browser (the contents API).
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "asgilab-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            try:
                page = httpx.get(f"{base}/lab", params={"token": TOKEN}, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 120 s"
                time.sleep(0.5)
        assert page.status_code == 200
        assert "JupyterLab" in page.text

        contents = httpx.get(f"{base}/api/contents", params={"token": TOKEN}, timeout=10)
        assert contents.status_code == 200
        listed = {item["name"] for item in contents.json()["content"]}
        expected = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
        assert expected and expected <= listed
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
