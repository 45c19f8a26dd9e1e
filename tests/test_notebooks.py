"""Every notebook runs as JupyterLab's *Run All* runs it, and is committed without outputs.

nbmake (configured in pyproject.toml) already executes each notebook cell by cell. JupyterLab's
Run All is different: it queues every cell at once, so a cell that nests an event loop runs
while the next requests wait in the kernel's queue. That is where an archived nest-asyncio hangs,
and only a real kernel fed all cells at once shows it.
"""

import queue
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
RUN_ALL_TIMEOUT = 180.0


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} of {path.name} has outputs"
            assert cell.execution_count is None, f"cell {index} of {path.name} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_with_all_cells_queued_at_once(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(path.parent))
    try:
        # Queue every cell before reading any reply, exactly as Run All does.
        pending = {client.execute(source, allow_stdin=False): i for i, source in enumerate(sources)}
        deadline = time.monotonic() + RUN_ALL_TIMEOUT
        errors = []
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                cells = sorted(pending.values())
                pytest.fail(f"{path.name}: cells {cells} still queued after {RUN_ALL_TIMEOUT} s")
            try:
                reply = client.get_shell_msg(timeout=remaining)
            except queue.Empty:
                continue
            cell = pending.pop(reply["parent_header"].get("msg_id"), None)
            if cell is not None and reply["content"]["status"] != "ok":
                content = reply["content"]
                errors.append(f"cell {cell}: {content.get('ename')}: {content.get('evalue')}")
        assert errors == [], f"{path.name} raised with all cells queued"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
