"""The App under each ASGI server people use, each in a child process on a loopback port:
uvicorn (with and without lifespan events), Hypercorn (HTTP/1.1), Granian and Daphne.

Each serves the same small app, written to a module in ``tmp_path``, and is asked the
same questions: a path parameter, a JSON echo (by an async and a plain ``def`` handler),
a non-ASCII path and query and the ``request.url`` they make, the lifespan's state (or,
where no lifespan runs, the error that says so), a background task, and a shutdown that
lets the last background task finish. Where servers differ, the table says how.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from processes import free_port, stop_process, wait_for_http, wait_until

from asgilab.app import App

pytestmark = [pytest.mark.server, pytest.mark.slow]

HOST = "127.0.0.1"

APP = """
import asyncio
import contextlib
import os
import pathlib

from asgilab import App

LOG = pathlib.Path(os.environ["ASGILAB_SERVER_LOG"])


def log(line):
    with LOG.open("a") as file:
        file.write(line + "\\n")


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"db": "pool"}
    log("lifespan shutdown")  # after the drain of background tasks


app = App(lifespan=lifespan)


@app.get("/")
async def home(request):
    return "ok"


@app.get("/users/{user_id:int}")
async def user(request, user_id: int):
    return {"id": user_id}


@app.post("/echo")
async def echo(request):
    return await request.json()


@app.post("/echo-sync")
def echo_sync(request):  # a plain def: runs in the thread pool
    return request.read_json()


@app.get("/files/{name}")
async def file(request, name: str):
    return {"name": name, "url": str(request.url), "q": request.query.get("q")}


@app.get("/state")
async def state(request):
    try:
        return {"db": request.state.db}
    except AttributeError as error:
        return {"error": str(error)}


@app.post("/later/{seconds:float}")
async def later(request, seconds: float):
    async def work():
        await asyncio.sleep(seconds)
        log(f"task done after {seconds}")

    request.background.add(work)
    return "queued"
"""


@dataclass(frozen=True)
class Kind:
    """How to start one server, and whether it sends lifespan events."""

    command: list[str]  # after `python -m`; {port} is filled in
    lifespan: bool
    package: str


KINDS = {
    "uvicorn": Kind(
        ["uvicorn", "serverapp:app", "--host", HOST, "--port", "{port}"], True, "uvicorn"
    ),
    "uvicorn-lifespan-off": Kind(
        ["uvicorn", "serverapp:app", "--host", HOST, "--port", "{port}", "--lifespan", "off"],
        False,
        "uvicorn",
    ),
    "hypercorn": Kind(
        ["hypercorn", "serverapp:app", "--bind", f"{HOST}:{{port}}"], True, "hypercorn"
    ),
    "granian": Kind(
        ["granian", "--interface", "asgi", "--host", HOST, "--port", "{port}", "serverapp:app"],
        True,
        "granian",
    ),
    # Daphne sends no lifespan events at all.
    "daphne": Kind(["daphne", "-b", HOST, "-p", "{port}", "serverapp:app"], False, "daphne"),
}

# Whether the App awaits its runner's after_response (issue 18's patch to App._after):
# without it, a server with no lifespan drops the last background tasks at shutdown.
AWAITS_AFTER_RESPONSE = "after_response" in inspect.getsource(App)


@dataclass
class Server:
    name: str
    kind: Kind
    url: str
    log: Path
    process: subprocess.Popen[str]

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def start(name: str, tmp_path: Path) -> Server:
    kind = KINDS[name]
    if importlib.util.find_spec(kind.package) is None:
        pytest.skip(f"{kind.package} is not installed (pip install asgilab[test])")
    (tmp_path / "serverapp.py").write_text(textwrap.dedent(APP))
    log = tmp_path / "server.log"
    port = free_port()
    command = [sys.executable, "-m", *(part.format(port=port) for part in kind.command)]
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "ASGILAB_SERVER_LOG": str(log), "PYTHONPATH": path}
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://{HOST}:{port}"
    wait_for_http(url + "/", process, timeout=30)
    return Server(name, kind, url, log, process)


@pytest.fixture(scope="module", params=list(KINDS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    running = start(request.param, tmp_path_factory.mktemp(request.param))
    try:
        yield running
    finally:
        stop_process(running.process)


def test_a_path_parameter(server: Server) -> None:
    reply = httpx.get(server.url + "/users/42")
    assert (reply.status_code, reply.json()) == (200, {"id": 42})


@pytest.mark.parametrize("path", ["/echo", "/echo-sync"])
def test_a_json_echo(server: Server, path: str) -> None:
    sent = {"name": "Zoë", "tags": [1, 2.5, None]}
    reply = httpx.post(server.url + path, json=sent)
    assert (reply.status_code, reply.json()) == (200, sent)


def test_a_body_over_the_limit_read_by_a_plain_def_handler_is_413(server: Server) -> None:
    reply = httpx.post(server.url + "/echo-sync", content=b"1" * (1024 * 1024 + 1))
    assert reply.status_code == 413


def test_a_non_ascii_path_and_query(server: Server) -> None:
    # httpx sends /files/caf%C3%A9?q=th%C3%A9; Granian hands the app raw UTF-8 bytes instead.
    reply = httpx.get(server.url + "/files/café", params={"q": "thé"})
    assert reply.json() == {
        "name": "café",
        "url": f"{server.url}/files/caf%C3%A9?q=th%C3%A9",
        "q": "thé",
    }


def test_the_lifespan_state_or_why_there_is_none(server: Server) -> None:
    reply = httpx.get(server.url + "/state")
    if server.kind.lifespan:
        assert reply.json() == {"db": "pool"}
    else:
        assert reply.json() == {
            "error": "request.state has no 'db': the app's lifespan is not running (the server "
            "sent no lifespan events? uvicorn --lifespan on; Daphne sends none)"
        }


def test_a_background_task_runs(server: Server) -> None:
    assert httpx.post(server.url + "/later/0").text == "queued"
    assert wait_until(lambda: "task done after 0.0" in server.lines()), server.lines()


@pytest.mark.parametrize("name", list(KINDS))
def test_shutdown_lets_the_last_background_task_finish(name: str, tmp_path: Path) -> None:
    if not KINDS[name].lifespan and not AWAITS_AFTER_RESPONSE:
        pytest.xfail("App._after does not await background.after_response yet (issue 18)")
    server = start(name, tmp_path)
    try:
        assert httpx.post(server.url + "/later/0.5").text == "queued"
    finally:
        output = stop_process(server.process)  # at once: the task has 0.5 s to go
    expected = ["task done after 0.5"]
    if server.kind.lifespan:
        expected.append("lifespan shutdown")  # drained first, while its resources exist
    assert server.lines() == expected, output


# Serving on a Unix socket, as behind nginx: the options that bind one.
UNIX_SOCKET = {
    "uvicorn": ["uvicorn", "serverapp:app", "--uds", "{path}"],
    "hypercorn": ["hypercorn", "serverapp:app", "--bind", "unix:{path}"],
    "granian": ["granian", "--interface", "asgi", "--uds", "{path}", "serverapp:app"],
    "daphne": ["daphne", "-u", "{path}", "serverapp:app"],
}


def unix_get(path: Path, target: str) -> bytes:
    """GET ``target`` over the socket at ``path`` with HTTP/1.0 and no Host header."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(f"GET {target} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("name", list(UNIX_SOCKET))
def test_on_a_unix_socket_without_a_host_header_the_url_names_localhost(
    name: str, tmp_path: Path
) -> None:
    # The socket's path is no host: http:///tmp/app.sock/files/x would not even parse.
    if importlib.util.find_spec(KINDS[name].package) is None:
        pytest.skip(f"{KINDS[name].package} is not installed (pip install asgilab[test])")
    (tmp_path / "serverapp.py").write_text(textwrap.dedent(APP))
    path = tmp_path / "app.sock"
    command = [sys.executable, "-m", *(part.format(path=path) for part in UNIX_SOCKET[name])]
    env = {**os.environ, "ASGILAB_SERVER_LOG": str(tmp_path / "server.log")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:

        def answers() -> bool:
            try:
                return unix_get(path, "/").startswith(b"HTTP/1.")
            except OSError:
                return process.poll() is not None

        assert wait_until(answers, timeout=30) and process.poll() is None
        reply = unix_get(path, "/files/x")
    finally:
        output = stop_process(process)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], output
    assert json.loads(body)["url"] == "http://localhost/files/x"
