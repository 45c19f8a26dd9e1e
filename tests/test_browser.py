"""The radix-tree notebook, run the way a user runs it: JupyterLab in a real (headless) Chromium.

The test starts JupyterLab on a copy of the notebooks (JupyterLab autosaves outputs, and the
committed notebooks must stay clean), opens the radix-tree notebook, clicks Run > Run All Cells,
waits for every cell to finish, then checks that a drawn route tree came out as SVG and that no
cell shows an error. A screenshot is saved under ``test-artifacts/``.
"""

import base64
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import free_port, stop_process, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "02_radix_tree.ipynb"
# Labels the drawn tree must show: a static run, a typed parameter and a catch-all.
EXPECTED_LABELS = ["users", "{user_id:int}", "{rest:path}"]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no system Chromium (Debian: apt-get install chromium)"
)


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    """JupyterLab serving a copy of the notebooks, without a token, on a free loopback port."""
    # The notebooks read data from the repo (../bench/data), so keep that layout in the copy.
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(ROOT / "bench" / "data", tmp_path / "bench" / "data")
    # JupyterLab 4 renders only the cells in view ("windowing"); render them all so that every
    # prompt and output is in the page, and ask no questions about news.
    settings = tmp_path / ".settings"
    for plugin, values in {
        "notebook-extension/tracker": '{"windowingMode": "none"}',
        "apputils-extension/notification": '{"fetchNews": "false"}',
    }.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={tmp_path / 'notebooks'}",
        ],
        cwd=tmp_path,
        env={**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/lab", process, timeout=120)
        yield base
    finally:
        stop_process(process)


def svg_text(data_uri: str) -> str:
    """Decode an ``image/svg+xml`` data URI, as JupyterLab renders SVG outputs into an ``<img>``."""
    header, _, payload = data_uri.partition(",")
    if header.endswith(";base64"):
        return base64.b64decode(payload).decode()
    return urllib.parse.unquote(payload)


def test_radix_tree_notebook_runs_all_and_shows_the_tree(lab_url: str) -> None:
    from playwright.sync_api import sync_playwright

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}?reset", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            # Wait for the kernel before queueing the cells.
            page.wait_for_function(
                "() => !!document.querySelector('.jp-Notebook') &&"
                " document.body.innerText.includes('Idle')",
                timeout=60_000,
            )
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            # Never block on Run All itself: poll the prompts until every code cell has a number
            # (or a cell shows an error: Run All stops there).
            deadline = time.monotonic() + 120
            while True:
                prompts = page.eval_on_selector_all(
                    ".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent)"
                )
                errors = page.eval_on_selector_all(
                    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                    "els => els.map(e => e.textContent)",
                )
                finished = prompts and all(p.strip() not in ("[ ]:", "[*]:", "") for p in prompts)
                if finished or errors:
                    break
                assert time.monotonic() < deadline, f"cells still running: {prompts}"
                time.sleep(1)
            page.screenshot(path=str(artifacts / "radix_tree_notebook.png"), full_page=False)
            assert errors == [], f"a cell shows an error or warning: {errors[:1]}"

            images = page.eval_on_selector_all(
                ".jp-OutputArea-output img[src^='data:image/svg+xml']",
                "els => els.map(e => e.getAttribute('src'))",
            )
            assert images, "no SVG picture in any output"
            drawings = [svg_text(src) for src in images]
            assert any(all(label in svg for label in EXPECTED_LABELS) for svg in drawings), (
                f"no drawn tree shows all of {EXPECTED_LABELS}"
            )
        finally:
            browser.close()
