"""Every notebook runs as a user runs it: in the lab command's environment, Run All, twice.

nbmake (configured in pyproject.toml) executes each notebook cell by cell in the test
environment. These tests stand where a user stands instead: the kernel is the one
``tasks.py lab`` installs in a clean copy of the repository (see ``conftest.user_lab``),
where only the ``lab`` extra is installed and no compiled build exists, and the cells run
as JupyterLab's *Run All* runs them: every cell queued at once, while a cell that nests
an event loop runs (that is where an archived nest-asyncio hung). Then Run All again in
the same kernel, this time with every cell run twice in a row, as a person does after
fixing a typo: a cell that registers a route or a middleware must run a second time as
cleanly as the first, after the whole notebook and right after itself.
"""

import json
import os
import queue
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import UserLab
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
# Each Run All; notebook 06's quick mode is the longest, and promises under a minute.
RUN_ALL_TIMEOUT = 120.0


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} of {path.name} has outputs"
            assert cell.execution_count is None, f"cell {index} of {path.name} has a count"


def user_kernel(lab: UserLab, folder: Path) -> KernelManager:
    """A kernel manager for the Python of the lab command's ``.venv`` (its own kernelspec)."""
    spec = folder / "kernels" / "user-lab"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(lab.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "lab .venv", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    return KernelManager(kernel_name="user-lab", kernel_spec_manager=specs)


@pytest.mark.slow
@pytest.mark.timeout(3 * RUN_ALL_TIMEOUT + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_all_twice_in_the_lab_environment(
    path: Path, user_lab: UserLab, tmp_path: Path
) -> None:
    notebook = nbformat.read(user_lab.root / "notebooks" / path.name, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    manager = user_kernel(user_lab, tmp_path)
    # The user's shell, not this test environment's: no PYTHONPATH or VIRTUAL_ENV leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    manager.start_kernel(cwd=str(user_lab.root / "notebooks"), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        cells = list(enumerate(sources))
        errors = run_all(client, cells, f"{path.name}, Run All")
        assert errors == [], f"{path.name} raised on Run All"
        twice = [cell for cell in cells for _ in range(2)]
        errors = run_all(client, twice, f"{path.name}, Run All again, each cell twice")
        assert errors == [], f"{path.name} raised when run again, each cell twice in a row"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_all(client: Any, cells: list[tuple[int, str]], what: str) -> list[str]:
    """Queue the ``(index, source)`` cells before reading any reply, as Run All does; errors."""
    pending = {client.execute(source, allow_stdin=False): index for index, source in cells}
    deadline = time.monotonic() + RUN_ALL_TIMEOUT * len(cells) / len(dict(cells))
    errors = []
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(
                f"{what}: cells {sorted(pending.values())} unfinished after {RUN_ALL_TIMEOUT} s"
            )
        try:
            reply = client.get_shell_msg(timeout=remaining)
        except queue.Empty:
            continue
        cell = pending.pop(reply["parent_header"].get("msg_id"), None)
        if cell is not None and reply["content"]["status"] != "ok":
            content = reply["content"]
            errors.append(f"cell {cell}: {content.get('ename')}: {content.get('evalue')}")
    return errors
