"""``import asgilab`` stays light: the client, the server and Graphviz load when first used.

Each check runs in a fresh interpreter, since this one has long imported everything.
"""

import ast
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
    (the source, or the mypyc build of the router when tests/test_compiled.py runs tests)."""
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


# -- the package's import graph -------------------------------------------------------------

PACKAGE = Path(asgilab.__file__).parent


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(source: str, modules: set[str]) -> set[str]:
    """The modules of the package that ``source`` imports, at the top or inside functions,
    but not in an ``if TYPE_CHECKING:`` block (types only: nothing runs).

    >>> text = "from .tree import Node\\nimport asgilab.errors\\nfrom . import draw"
    >>> sorted(imported_modules(text, {"tree", "errors", "draw", "__init__"}))
    ['draw', 'errors', 'tree']
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            # The module path below the package: "from .tree" and "from asgilab.tree" give
            # ["tree"]; "from ." and "from asgilab" give [] (a submodule, or a name of
            # __init__); None for another package.
            below = None
            if node.level == 1:
                below = node.module.split(".") if node.module else []
            elif node.level == 0 and (node.module or "").split(".")[0] == "asgilab":
                below = (node.module or "").split(".")[1:]
            if below:
                found.add(below[0])
            elif below is not None:
                found.update(a.name if a.name in modules else "__init__" for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "asgilab":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found & modules


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (module -> modules it imports) as a path that ends where it
    starts, or None. Iterative depth-first search.

    >>> import_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    True
    >>> import_cycle({"a": {"b"}, "b": {"a"}})
    ['a', 'b', 'a']
    """
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        todo = [iter(sorted(graph[start]))]
        while todo:
            following = next(todo[-1], None)
            if following is None:
                done.add(path.pop())
                todo.pop()
            elif following in path:
                return [*path[path.index(following) :], following]
            elif following not in done:
                path.append(following)
                todo.append(iter(sorted(graph[following])))
    return None


def test_the_package_has_no_import_cycle() -> None:
    """tree -> router -> app: each module imports only what sits below it, even inside a
    function (an import moved into a function to dodge a cycle is still a cycle)."""
    sources = {path.stem: path.read_text(encoding="utf-8") for path in PACKAGE.glob("*.py")}
    modules = set(sources)
    graph = {name: imported_modules(text, modules) - {name} for name, text in sources.items()}
    # Every submodule import runs asgilab/__init__.py first: that edge is not a choice.
    assert import_cycle(graph) is None, f"import cycle: {' -> '.join(import_cycle(graph) or [])}"
    # The layers of the routing, bottom up.
    assert {"router", "explain", "app"}.isdisjoint(graph["tree"])
    assert "router" not in graph["explain"]
    assert "tree" in graph["router"]
