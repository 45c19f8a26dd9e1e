"""``import asgilab`` stays light: the client, the server and Graphviz load when first used.

Each check runs in a fresh interpreter, since this one has long imported everything.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import asgilab

# What a client (httpx, nest_asyncio2), a server (uvicorn) or a drawing (graphviz,
# pygraphviz, and matplotlib in the notebooks) brings, by top-level package.
HEAVY = {
    "graphviz",
    "httpx",
    "matplotlib",
    "nest_asyncio",
    "nest_asyncio2",
    "pygraphviz",
    "uvicorn",
}


def fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter that imports the asgilab this one did
    (the source, or the mypyc build when tests/test_compiled.py runs these tests)."""
    env = {**os.environ, "PYTHONPATH": str(Path(asgilab.__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def loaded_after(code: str, packages: set[str]) -> list[str]:
    """The modules of ``packages`` (and their submodules) loaded once ``code`` has run."""
    loaded = fresh(
        f"import json, sys; {code}; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))"
    )
    return list(json.loads(loaded))


def test_import_asgilab_loads_no_client_server_or_drawing_dependency() -> None:
    assert loaded_after("import asgilab", HEAVY) == []


def test_import_asgilab_does_not_load_asyncio() -> None:
    """asyncio is imported where a loop runs (see the NOTE in asgilab/background.py):
    it would be the heaviest part of ``import asgilab``, and under a server it is loaded
    anyway. A module-level ``import asyncio`` in a module the package imports ends this."""
    assert loaded_after("import asgilab", {"asyncio"}) == []


@pytest.mark.parametrize(
    ("name", "module", "brings"),
    [
        ("Client", "asgilab.client", "httpx"),
        ("AsyncClient", "asgilab.client", "httpx"),
        ("serve", "asgilab.server", "uvicorn"),
        ("Server", "asgilab.server", "uvicorn"),
    ],
)
def test_a_lazy_name_loads_its_module_when_first_used(name: str, module: str, brings: str) -> None:
    printed = fresh(
        "import sys, asgilab; "
        f"before = {brings!r} in sys.modules; "
        f"value = asgilab.{name}; "
        f"print(before, {brings!r} in sys.modules, value is sys.modules[{module!r}].{name})"
    )
    assert printed == "False True True"


def test_lazy_names_are_the_modules_own_objects() -> None:
    from asgilab.client import AsyncClient, Client
    from asgilab.draw import draw
    from asgilab.server import Server, serve
    from asgilab.trace import Trace

    assert (asgilab.Client, asgilab.AsyncClient) == (Client, AsyncClient)
    assert (asgilab.Server, asgilab.serve, asgilab.Trace) == (Server, serve, Trace)
    assert asgilab.draw is draw, "asgilab.draw is the function, not the module of that name"


def test_lazy_names_are_listed_and_imported_like_any_other() -> None:
    assert {"AsyncClient", "Client", "Server", "Trace", "serve"} <= set(dir(asgilab))
    assert fresh("from asgilab import Client, serve; print(Client.__name__, serve.__name__)") == (
        "Client serve"
    )


def test_an_unknown_name_is_an_ordinary_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"^module 'asgilab' has no attribute 'Clinet'$"):
        asgilab.Clinet  # type: ignore[attr-defined]  # noqa: B018


def test_the_lazy_names_work() -> None:
    async def hello(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})

    with asgilab.Client(hello) as client:
        assert client.get("/").text == "hello"
    router = asgilab.Router()
    router.add("/users/{id:int}", hello, methods=["GET"])
    assert "users/" in asgilab.draw(router).source
