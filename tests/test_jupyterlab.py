"""The README's first command, as a newcomer meets it: a quiet setup, then JupyterLab.

``conftest.user_lab`` runs ``python3 tasks.py lab`` in a clean copy of the repository, the
same entry point a user runs (headless, on a free loopback port). These tests check what
that user sees: a few lines of setup with no warning blocks, JupyterLab with the whole
repository in its file browser, and notebook 01 as the page it opens.
"""

import re

import httpx
import pytest
from conftest import UserLab

pytestmark = pytest.mark.slow  # each test starts JupyterLab in a fresh environment

# What setup may print before JupyterLab's own log begins: what it is doing, in a few lines.
SETUP_LINES = 6


def test_lab_setup_says_what_it_does_in_a_few_lines_and_warns_nothing(user_lab: UserLab) -> None:
    log = user_lab.log.read_text(errors="replace")
    setup, _, _ = log.partition("[I ")  # JupyterLab's log lines start with "[I <date>"
    lines = setup.strip().splitlines()
    assert 1 <= len(lines) <= SETUP_LINES, lines
    assert lines[0] == "creating .venv ..."
    assert lines[-1].startswith("starting JupyterLab on asgilab/ with notebooks/01_"), lines
    assert not re.search(r"warning|!!|\*\*\*\*", setup, re.IGNORECASE), setup


def test_lab_shows_the_whole_repository(user_lab: UserLab) -> None:
    params = {"token": user_lab.token}
    page = httpx.get(f"{user_lab.url}/lab", params=params, timeout=10)
    assert page.status_code == 200
    assert "JupyterLab" in page.text

    contents = httpx.get(f"{user_lab.url}/api/contents", params=params, timeout=10)
    assert contents.status_code == 200
    listed = {item["name"] for item in contents.json()["content"]}
    assert {"README.md", "notebooks", "bench", "asgilab"} <= listed

    notebooks = httpx.get(f"{user_lab.url}/api/contents/notebooks", params=params, timeout=10)
    expected = {path.name for path in (user_lab.root / "notebooks").glob("*.ipynb")}
    assert expected and expected <= {item["name"] for item in notebooks.json()["content"]}


def test_lab_opens_on_notebook_01(user_lab: UserLab) -> None:
    opened = httpx.get(
        f"{user_lab.url}/", params={"token": user_lab.token}, follow_redirects=False, timeout=10
    )
    assert opened.status_code in (301, 302)
    assert opened.headers["location"].startswith("/lab/tree/notebooks/01_asgi_from_scratch.ipynb")
