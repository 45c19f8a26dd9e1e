"""The environment a newcomer gets: a clean copy of the repository set up by ``tasks.py lab``.

The notebook and browser tests stand where a user stands. A user clones the repository and
runs the README's lab command, which installs only the ``lab`` extra into a fresh ``.venv``
and opens JupyterLab: no test extras, no compiled build, nothing else. The suite's own
environment has every extra, so a notebook that needs something the lab setup forgets
passes there and fails for every user. :func:`user_lab` builds the user's environment once
per test session, by that very command, and keeps its JupyterLab running for the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from processes import free_port, stop_process, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "asgilab-user"
# A first setup installs JupyterLab and the peers into a new virtual environment.
SETUP_TIMEOUT = 900.0
# Display settings only: render every cell (JupyterLab 4 otherwise renders the cells in
# view), so that a test can read every output; and ask no questions about news.
LAB_SETTINGS = {
    "notebook-extension/tracker": '{"windowingMode": "none"}',
    "apputils-extension/notification": '{"fetchNews": "false"}',
}


@dataclass(frozen=True)
class UserLab:
    """A clean copy of the repository, set up by ``tasks.py lab``, with its JupyterLab."""

    root: Path
    url: str
    token: str
    log: Path

    @property
    def python(self) -> Path:
        """The interpreter of the ``.venv`` that the lab command built."""
        return self.root / ".venv" / "bin" / "python"


def clean_copy(target: Path) -> Path:
    """Copy what a fresh clone holds (the files git tracks, as they are in the work tree).

    The work tree's state is copied rather than cloned from HEAD, so that a change is
    tested before it is committed; untracked and ignored files (``.venv``, builds, caches)
    stay behind, as they would in a clone.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="session")
def user_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserLab]:
    """``python3 tasks.py lab`` in a clean copy: the environment and the JupyterLab users get."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files from")
    root = clean_copy(tmp_path_factory.mktemp("clone") / "asgilab")
    settings = root.parent / "lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values)
    port = free_port()
    log = root.parent / "lab.log"  # a file, not a pipe: JupyterLab logs for the whole session
    # The interpreter a user types `python3` for, not this test environment's venv.
    python = getattr(sys, "_base_executable", sys.executable)
    process = subprocess.Popen(
        [
            python,
            "tasks.py",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
        ],
        cwd=root,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))},
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{url}/lab?token={TOKEN}", process, timeout=SETUP_TIMEOUT)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{log.read_text(errors='replace')[-4000:]}") from None
        yield UserLab(root=root, url=url, token=TOKEN, log=log)
    finally:
        stop_process(process)
