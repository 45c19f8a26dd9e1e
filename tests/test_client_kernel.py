"""The Client in a real Jupyter kernel, with every cell queued at once as *Run All* does.

Runners such as nbmake send one cell and wait for its reply; JupyterLab's Run All
sends them all at once, so the kernel already holds the next requests while a
cell makes a blocking call that re-enters its running event loop. With the
archived nest_asyncio that hangs; this test fails (by timeout) if it ever does.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

pytestmark = pytest.mark.slow

CELLS = [
    # 0: a raw ASGI app with a lifespan; each request takes a moment (a nested run
    # that lasts while the next cells wait in the kernel's queue).
    """
import asyncio
from asgilab import client as asgilab_client

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["greeting"] = "hello"
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await asyncio.sleep(0.05)
    body = scope["state"].get("greeting", "no lifespan").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
""",
    # 1: the acceptance cell: a bare sync request, no `with`.
    'print(asgilab_client.Client(app).get("/").text)',
    # 2: a `with` block: lifespan startup, two requests, shutdown.
    """
with asgilab_client.Client(app) as client:
    first = client.get("/").text
    second = client.post("/", content=b"x").text
print(first, second, client.lifespan_trace.events[-1].message["type"])
""",
    # 3: the async twin, awaited at the top level of a cell.
    """
async with asgilab_client.AsyncClient(app) as aclient:
    response = await aclient.get("/")
print(response.text)
""",
    # 4: sync again after an await, and a request made from a task the cell awaits.
    """
async def from_a_task():
    return asgilab_client.Client(app).get("/").text
print(asgilab_client.Client(app).get("/").text, await asyncio.create_task(from_a_task()))
""",
    # 5: the trace displays as HTML.
    "client.trace",
]

EXPECTED_STDOUT = [
    "",
    "no lifespan\n",
    "hello hello lifespan.shutdown.complete\n",
    "hello\n",
    "no lifespan no lifespan\n",
    "",
]


@pytest.fixture
def kernel() -> Iterator[Any]:
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel()
    kernel_client = manager.client()
    kernel_client.start_channels()
    try:
        kernel_client.wait_for_ready(timeout=60)
        yield kernel_client
    finally:
        kernel_client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_run_all_with_every_cell_queued_at_once(kernel: Any) -> None:
    msg_ids = [kernel.execute(code) for code in CELLS]  # no waiting between cells
    index = {msg_id: i for i, msg_id in enumerate(msg_ids)}

    replies: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 90
    while len(replies) < len(msg_ids):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pending = sorted(index[m] for m in msg_ids if m not in replies)
            pytest.fail(f"the kernel hung: no reply for cells {pending} after 90 s")
        try:
            reply = kernel.get_shell_msg(timeout=remaining)
        except queue.Empty:
            continue
        parent = reply["parent_header"].get("msg_id")
        if parent in index:
            replies[parent] = reply["content"]

    stdout = [""] * len(CELLS)
    errors = [""] * len(CELLS)
    results: list[dict[str, Any]] = [{} for _ in CELLS]
    idle: set[str] = set()
    while idle != set(msg_ids):
        message = kernel.get_iopub_msg(timeout=30)
        parent = message["parent_header"].get("msg_id")
        if parent not in index:
            continue
        kind, content = message["msg_type"], message["content"]
        i = index[parent]
        if kind == "stream":
            if content["name"] == "stdout":
                stdout[i] += content["text"]
            else:
                errors[i] += content["text"]
        elif kind == "error":
            errors[i] += f"{content['ename']}: {content['evalue']}"
        elif kind == "execute_result":
            results[i] = content["data"]
        elif kind == "status" and content["execution_state"] == "idle":
            idle.add(parent)

    assert [replies[m]["status"] for m in msg_ids] == ["ok"] * len(CELLS), errors
    assert errors == [""] * len(CELLS)
    assert stdout == EXPECTED_STDOUT
    assert results[5]["text/plain"] == "<Trace POST / -> 200, 2 messages>"
    assert results[5]["text/html"].startswith('<div class="asgilab-trace">')
