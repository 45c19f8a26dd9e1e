"""The ``asgilab`` command, run as a user runs it: ``python -m asgilab`` in a subprocess."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from processes import free_port, stop_process

REPO = Path(__file__).resolve().parent.parent

# Raw ASGI apps for request and serve, and a plain Router for routes and tree, so
# that the command is tested apart from asgilab's App.
MODULE = """\
from asgilab.router import Router


async def raw(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(b"content-type", b"text/plain"), (b"x-method", scope["method"].encode())]
    headers += [(b"x-token-seen", value) for name, value in scope["headers"] if name == b"x-token"]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": b"got " + body})


async def boom(scope, receive, send):
    if scope["type"] == "http":
        raise ValueError("boom")


async def home(request):
    return "home"


async def user(request):
    return "user"


router = Router()
router.add("/", home, name="home")
router.add("/users/{user_id:int}", user, methods=["GET", "PUT"], name="user")


class Holder:
    router = router


not_an_app = 42
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    (path / "cliapp.py").write_text(MODULE)
    (path / "broken.py").write_text("answer = 1 / 0\n")
    (path / "badsyntax.py").write_text("def f(:\n")
    (path / "needsdep.py").write_text("import no_such_dependency_here\n")
    (path / "body.txt").write_bytes(b"from a file")
    return path


@pytest.fixture(scope="module")
def cliapp(workdir: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module("cliapp")
    finally:
        sys.path.remove(str(workdir))
        sys.modules.pop("cliapp", None)


def asgilab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgilab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_routes(workdir: Path) -> None:
    result = asgilab("routes", "cliapp:router", cwd=workdir)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "METHODS  PATH                  NAME  ENDPOINT\n"
        "GET      /                     home  cliapp.home\n"
        "GET,PUT  /users/{user_id:int}  user  cliapp.user\n"
    )


def test_routes_of_anything_with_a_router(workdir: Path) -> None:
    assert asgilab("routes", "cliapp:Holder", cwd=workdir).stdout.startswith("METHODS  PATH")


def test_tree(workdir: Path, cliapp: ModuleType) -> None:
    result = asgilab("tree", "cliapp:router", cwd=workdir)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"{cliapp.router}\n"


def test_tree_highlight(workdir: Path, cliapp: ModuleType) -> None:
    result = asgilab("tree", "cliapp:router", "--highlight", "get /users/42", cwd=workdir)
    explanation = cliapp.router.explain("GET", "/users/42")
    assert result.stdout == f"{cliapp.router}\n\n{explanation}\n"


def test_tree_highlight_of_a_path_the_router_cannot_read_prints_no_tree(workdir: Path) -> None:
    result = asgilab("tree", "cliapp:router", "--highlight", "GET /users/%ZZ", cwd=workdir)
    assert (result.returncode, result.stdout) == (1, "")
    assert "%ZZ" in result.stderr


def test_tree_picture(workdir: Path, tmp_path: Path) -> None:
    output = tmp_path / "tree.svg"
    args = ("tree", "cliapp:router", "--highlight", "GET /users/42", "-o", str(output))
    result = asgilab(*args, cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"wrote {output}\n", "")
    assert "<svg" in output.read_text()


def test_request_get(workdir: Path) -> None:
    result = asgilab("request", "cliapp:raw", "GET", "/", cwd=workdir)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "HTTP/1.1 201 Created\ncontent-type: text/plain\nx-method: GET\n\ngot "
    )


def test_request_with_headers_and_body(workdir: Path) -> None:
    result = asgilab(
        "request", "cliapp:raw", "post", "/x", "-H", "X-Token: s3cret", "-d", "abc", cwd=workdir
    )
    assert result.stdout == (
        "HTTP/1.1 201 Created\n"
        "content-type: text/plain\n"
        "x-method: POST\n"
        "x-token-seen: s3cret\n"
        "\n"
        "got abc"
    )


def test_request_body_from_a_file(workdir: Path) -> None:
    result = asgilab("request", "cliapp:raw", "PUT", "/", "-d", "@body.txt", cwd=workdir)
    assert result.stdout.endswith("\n\ngot from a file")


def test_request_trace(workdir: Path) -> None:
    result = asgilab("request", "cliapp:raw", "POST", "/?q=1", "-d", "abc", "--trace", cwd=workdir)
    _, trace = result.stdout.split("got abc\n", 1)
    lines = trace.splitlines()
    assert lines[0].startswith("POST /?q=1 -> 201 Created in ")
    assert "  raw_path      b'/'" in lines
    assert "  query_string  b'q=1'" in lines
    messages = [line.split(None, 1)[1] for line in lines[lines.index("messages:") + 2 :]]
    assert messages[0] == "app <- receive()  http.request         body=b'abc'  more_body=False"
    assert messages[1] == "app -> send()     http.response.start  status=201"
    assert messages[-1] == "app -> send()     http.response.body   body=b'got abc'"


def test_no_command_is_a_usage_error(workdir: Path) -> None:
    result = asgilab(cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "asgilab: error: the following arguments are required: COMMAND"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("request", "cliapp", "GET", "/"),
            "APP must be 'module:attribute', like 'examples.app:app'; got 'cliapp'",
        ),
        (
            ("routes", "nosuchmodule:app"),
            "cannot import 'nosuchmodule': no module named 'nosuchmodule' (looked in {cwd} "
            "and the installed packages)",
        ),
        (("routes", "cliapp:nothing"), "'cliapp' has no attribute 'nothing'"),
        (
            ("routes", "broken:app"),
            "importing 'broken' failed: ZeroDivisionError: division by zero (at {cwd}/broken.py:1)",
        ),
        (
            ("routes", "badsyntax:app"),
            "importing 'badsyntax' failed: SyntaxError: invalid syntax (badsyntax.py, line 1) "
            "(at {cwd}/badsyntax.py:1)",
        ),
        (
            ("serve", "needsdep:app"),
            "importing 'needsdep' failed: ModuleNotFoundError: No module named "
            "'no_such_dependency_here' (at {cwd}/needsdep.py:1)",
        ),
        (
            ("request", "cliapp:raw", "FETCH", "/"),
            "unknown method 'FETCH' (known: CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, "
            "PUT, TRACE)",
        ),
        (("request", "cliapp:raw", "GET", "users"), "PATH must start with '/', got 'users'"),
        (
            ("request", "cliapp:raw", "GET", "/", "-H", "X-Token"),
            "-H takes 'Name: value', like 'Accept: application/json'; got 'X-Token'",
        ),
        (
            ("request", "cliapp:raw", "GET", "/", "-d", "@missing.txt"),
            "-d @missing.txt: cannot read 'missing.txt': No such file or directory",
        ),
        (
            ("request", "cliapp:not_an_app", "GET", "/"),
            "cliapp:not_an_app is a int, not an ASGI app (not callable)",
        ),
        (
            ("request", "cliapp:boom", "GET", "/"),
            "GET /: ValueError: boom (at {cwd}/cliapp.py:21)",
        ),
        (
            ("routes", "cliapp:raw"),
            "cliapp:raw is a function, not an asgilab App or Router (routes and tree need one; "
            "request and serve take any ASGI app)",
        ),
        (
            ("tree", "cliapp:router", "--highlight", "GET"),
            "--highlight takes 'METHOD /path', like 'GET /users/42'; got 'GET'",
        ),
        (
            ("tree", "cliapp:router", "-o", "tree.txt"),
            "cannot save a drawing as 'tree.txt': unknown extension '.txt' "
            "(known: .svg, .png, .pdf)",
        ),
    ],
)
def test_errors_are_one_line(workdir: Path, args: tuple[str, ...], message: str) -> None:
    result = asgilab(*args, cwd=workdir)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "asgilab: error: " + message.format(cwd=workdir) + "\n"


def test_example_app_from_the_repository_root() -> None:
    """The acceptance: ``asgilab request examples.app:app GET /`` works in a shell."""
    result = asgilab("request", "examples.app:app", "GET", "/", cwd=REPO)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "HTTP/1.1 200 OK\n"
        "content-type: text/plain; charset=utf-8\n"
        "content-length: 19\n"
        "\n"
        "hello from asgilab\n"
    )


@pytest.mark.server
def test_serve(workdir: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "asgilab", "serve", "cliapp:raw", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/", content=b"over tcp")
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    pytest.fail(f"asgilab serve did not answer on port {port}:\n{output}")
                time.sleep(0.1)
        assert (response.status_code, response.text) == (201, "got over tcp")
    finally:
        output = stop_process(server, timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.returncode == -signal.SIGTERM
    assert "Finished server process" in output
    assert f"Uvicorn running on http://127.0.0.1:{port}" in output
    assert '"POST / HTTP/1.1" 201' in output


def test_routes_names_a_partial_by_its_function_and_an_object_by_its_class() -> None:
    import functools

    from asgilab.cli import _where

    class Handler:
        async def __call__(self, request: object) -> str:
            return "ok"

    assert _where(functools.partial(test_tree, Path())) == f"{__name__}.test_tree"
    assert _where(Handler()).endswith(".Handler")


DEFAULTS = {
    "http": "h11",
    "h11_max_incomplete_event_size": 16384,
    "limit_concurrency": 1000,
    "timeout_keep_alive": 5,
    "proxy_headers": False,
}


@pytest.mark.parametrize(
    ("flags", "changed"),
    [
        ([], {}),
        (["--limit-concurrency", "4000"], {"limit_concurrency": 4000}),
        (["--limit-concurrency", "0"], {"limit_concurrency": None}),
        (["--timeout-keep-alive", "20"], {"timeout_keep_alive": 20}),
        (["--proxy-headers"], {"proxy_headers": True}),
        (
            ["--forwarded-allow-ips", "10.0.0.5,10.0.0.6"],
            {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.0.0.6"},
        ),
        (["--http", "httptools"], {"http": "httptools"}),
        (["--h11-max-incomplete-event-size", "65536"], {"h11_max_incomplete_event_size": 65536}),
    ],
)
def test_serve_hands_uvicorn_the_defaults_for_the_internet_and_the_flags_change_them(
    cliapp: ModuleType, monkeypatch: pytest.MonkeyPatch, flags: list[str], changed: dict[str, Any]
) -> None:
    import uvicorn

    from asgilab.cli import main

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    assert main(["serve", "cliapp:raw", *flags]) == 0
    base = {"host": "127.0.0.1", "port": 8000, "workers": 1, "reload": False}
    assert calls == [(cliapp.raw, {**base, **DEFAULTS, **changed})]


def test_serve_help_names_the_defaults_and_their_flags(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from asgilab.cli import main

    monkeypatch.setenv("COLUMNS", "200")  # no line breaks inside the flags' names
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in [
        "--limit-concurrency N connections per process before new requests get 503 "
        "(default: 1000; 0: none)",
        "--timeout-keep-alive SECONDS close an idle kept-alive connection after this long "
        "(default: 5)",
        "--proxy-headers believe X-Forwarded-For/-Proto from --forwarded-allow-ips (default: off)",
        "--forwarded-allow-ips IPS the proxies to believe, comma-separated; implies "
        "--proxy-headers",
        "--http {h11,httptools} uvicorn's HTTP parser (default: h11, whose request head is "
        "bounded)",
        "--h11-max-incomplete-event-size BYTES the most of an unfinished request head h11 "
        "holds (default: 16384)",
        "uvicorn has no timeout for reading request headers",
    ]:
        assert phrase in text


def test_routes_lists_a_mount_as_one_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from asgilab.cli import main

    (tmp_path / "mounted_app.py").write_text(
        "from asgilab.router import Router\n"
        "async def files(scope, receive, send): ...\n"
        "async def home(request): ...\n"
        "router = Router()\n"
        "router.get('/')(home)\n"
        "router.mount('/static', files, name='static')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["routes", "mounted_app:router"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "METHODS  PATH     NAME    ENDPOINT",
        "GET      /        home    mounted_app.home",
        "MOUNT    /static  static  mounted_app.files",
    ]
