"""Every notebook, run the way a user runs it: JupyterLab in a real (headless) Chromium.

JupyterLab is the one ``tasks.py lab`` starts in a clean copy of the repository (see
``conftest.user_lab``), in the environment that command installs. For each notebook the
test opens it in a window of a laptop's size (1366 by 900), clicks Run > Run All Cells, waits
for every cell, then does it again in the same kernel, and fails on:

- a notebook that does not finish (a cell still queued or running);
- any error or stderr output, in either run;
- a picture (SVG drawing or plot) whose right edge lies outside its output area, unless
  the area scrolls sideways and is no taller than the window, so that its scrollbar is
  seen with the picture (Chromium shows scrollbars here as a user's browser does;
  Playwright hides them by default);
- a picture shrunk below three quarters of its size to fit: its labels become too small.

Screenshots of each notebook (the window at the end, the whole notebook in one tall picture,
and each picture on its own) are kept under ``test-artifacts/``, to be looked at: a picture
can pass every check and still be unreadable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import UserLab
from processes import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
# The notebooks whose lesson is a picture: route trees (02), plots (06).
DRAWN = {"02_radix_tree.ipynb", "06_performance.ipynb"}
VIEWPORT = {"width": 1366, "height": 900}
RUN_ALL_TIMEOUT = 150.0
# How far a picture may be shrunk to fit: at 3/4, a drawing's smallest text is still 10 px.
MIN_SCALE = 0.74

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no system Chromium (Debian: apt-get install chromium)"
    ),
    pytest.mark.slow,
]

# Outputs that report a failure: tracebacks and anything written to stderr.
ERRORS = (
    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
    " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
)

# For every picture in an output: is it whole, or in an area that scrolls sideways?
PICTURES = """() => {
  const found = [];
  for (const output of document.querySelectorAll('.jp-OutputArea-output')) {
    const area = output.getBoundingClientRect();
    for (const picture of output.querySelectorAll('img, :scope svg:not(svg svg)')) {
      const box = picture.getBoundingClientRect();
      if (box.width === 0) continue;
      let scrolls = false, scrollerHeight = 0;
      for (let el = picture.parentElement; el && el !== output.parentElement;
           el = el.parentElement) {
        const overflow = getComputedStyle(el).overflowX;
        if (el.scrollWidth > el.clientWidth + 1 && (overflow === 'auto' || overflow === 'scroll')) {
          scrolls = true;
          scrollerHeight = Math.round(el.getBoundingClientRect().height);
        }
      }
      found.push({
        cell: output.closest('.jp-Cell')?.querySelector('.jp-InputArea-prompt')?.textContent,
        right: Math.round(box.right), areaRight: Math.round(area.right),
        width: Math.round(box.width), areaWidth: Math.round(area.width), scrolls, scrollerHeight,
        scale: picture.naturalWidth ? box.width / picture.naturalWidth : 1,
      });
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            ignore_default_args=["--hide-scrollbars"],  # a user's browser shows them
        )
        try:
            yield chromium
        finally:
            chromium.close()


def prompts(page: Any) -> list[str]:
    """The execution prompt of every code cell: ``[ ]:``, ``[*]:`` or ``[12]:``."""
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        ".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent.trim())"
    )


def run_all(page: Any, after: int) -> list[str]:
    """Click Run All and wait until every code cell ran with a number above ``after``.

    Run All stops at a cell that raises, so an error ends the wait too; the errors shown.
    """
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline = time.monotonic() + RUN_ALL_TIMEOUT
    while True:
        numbers = [re.fullmatch(r"\[(\d+)\]:", p) for p in prompts(page)]
        errors = page.eval_on_selector_all(ERRORS, "els => els.map(e => e.textContent)")
        if errors or (numbers and all(n and int(n[1]) > after for n in numbers)):
            return errors  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"cells still unfinished: {prompts(page)}"
        time.sleep(1)


def last_number(page: Any) -> int:
    return max(int(m[1]) for p in prompts(page) if (m := re.fullmatch(r"\[(\d+)\]:", p)))


def save_screenshots(page: Any, stem: str) -> None:
    """The window as the user sees it, the whole notebook in one tall picture, each picture."""
    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
    for index, handle in enumerate(page.query_selector_all(".jp-OutputArea-output")):
        if handle.query_selector("img, svg"):
            handle.screenshot(path=str(ARTIFACTS / f"{stem}-output-{index}.png"))
    # The notebook scrolls inside its panel: a window as tall as the panel's content shows all.
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('.jp-WindowedPanel-outer')]"
        ".map(e => e.scrollHeight), 0)"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(height + 200, 20_000)})
    page.evaluate(
        "() => document.querySelectorAll('.jp-WindowedPanel-outer')"
        ".forEach(e => { e.scrollTop = 0; })"
    )
    page.wait_for_timeout(1000)  # JupyterLab lays the taller window out again
    page.screenshot(path=str(ARTIFACTS / f"{stem}-whole.png"))
    page.set_viewport_size(VIEWPORT)


def shut_down_kernels(lab: UserLab) -> None:
    """Free the kernels of a finished notebook (JupyterLab keeps them running)."""
    api = f"{lab.url}/api/kernels"
    params = {"token": lab.token}
    for kernel in httpx.get(api, params=params, timeout=10).json():
        httpx.delete(f"{api}/{kernel['id']}", params=params, timeout=30)


@pytest.mark.timeout(3 * RUN_ALL_TIMEOUT + 120)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_all_twice_in_jupyterlab_and_every_picture_fits(
    notebook: str, user_lab: UserLab, browser: Any
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = notebook.removesuffix(".ipynb")
    page = browser.new_page(viewport=VIEWPORT)
    try:
        url = f"{user_lab.url}/lab/tree/notebooks/{notebook}?reset&token={user_lab.token}"
        page.goto(url, timeout=60_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_function(  # the kernel is up before the cells are queued
            "() => document.body.innerText.includes('Idle')", timeout=60_000
        )
        errors = run_all(page, after=0)
        assert errors == [], f"{notebook}: Run All shows an error: {errors[:1]}"
        errors = run_all(page, after=last_number(page))
        pictures = page.evaluate(PICTURES)  # measured in the laptop-sized window
        save_screenshots(page, stem)
        assert errors == [], f"{notebook}: the second Run All shows an error: {errors[:1]}"
        assert pictures or notebook not in DRAWN, f"{notebook} shows no picture"
        cut = [p for p in pictures if p["right"] > p["areaRight"] + 1 and not p["scrolls"]]
        assert cut == [], f"{notebook}: pictures cut off at the right, with no scrollbar: {cut}"
        # A sideways scrollbar helps only where it is seen with the picture: in the window.
        far = [p for p in pictures if p["scrollerHeight"] > VIEWPORT["height"]]
        assert far == [], f"{notebook}: pictures that scroll sideways, scrollbar off-screen: {far}"
        shrunk = [p for p in pictures if p["scale"] < MIN_SCALE]
        assert shrunk == [], f"{notebook}: pictures shrunk until unreadable: {shrunk}"
    finally:
        page.close()
        shut_down_kernels(user_lab)
