"""The README's example app runs as printed, and its picture comes from the script beside it."""

import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from asgilab import Client

ROOT = Path(__file__).resolve().parent.parent


def test_readme_dependencies_cors_and_mount_example_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text()
    source = re.search(r"### Dependencies, [^\n]*\n\n```python\n(.*?)```", readme, re.DOTALL)
    assert source, "the README shows dependencies, CORS and a mount"
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "hello.txt").write_text("hi")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(source.group(1), "README.md", "exec"), namespace)
    with Client(namespace["app"]) as client:  # type: ignore[arg-type]
        refused = client.get("/admin")
        assert (refused.status_code, refused.json()) == (
            401,
            {"error": "a valid x-token header is required"},
        )
        assert client.get("/admin", headers={"x-token": "let-me-in"}).json() == {"admin": "ada"}
        assert client.get("/static/hello.txt").text == "hi"
        assert client.get("/static/..%2Fpublic%2Fhello.txt").status_code == 404
        preflight = client.options(
            "/admin",
            headers={
                "origin": "https://shop.example",
                "access-control-request-method": "GET",
                "access-control-request-headers": "x-token",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example"


def test_readme_example_app_works() -> None:
    readme = (ROOT / "README.md").read_text()
    source = re.search(r"## A first app\n\n```python\n(.*?)```", readme, re.DOTALL)
    assert source, "the README has an example app"
    namespace: dict[str, object] = {}
    exec(compile(source.group(1), "README.md", "exec"), namespace)
    with Client(namespace["app"]) as client:  # type: ignore[arg-type]
        created = client.post("/users/1", json={"email": "ada@example.org"})
        assert (created.status_code, created.json()) == (
            200,
            {"id": 1, "email": "ada@example.org"},
        )
        assert client.get("/users/1").json() == {"email": "ada@example.org"}
        missing = client.get("/users/2")
        assert (missing.status_code, missing.text) == (404, "no user 2")


SVG = "{http://www.w3.org/2000/svg}"


def what_the_picture_shows(svg: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Every text in an SVG Graphviz drew, and the colours of each node and edge (by title).

    Positions and sizes are left out: ``dot`` and the Graphviz inside pygraphviz's wheel
    lay the same graph out a few points apart, and the picture is the same picture.
    """
    root = ElementTree.parse(svg).getroot()
    texts = sorted("".join(text.itertext()) for text in root.iter(f"{SVG}text"))
    colours: dict[str, list[str]] = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") in ("node", "edge") and title is not None and title.text:
            painted = {f"{e.get('fill')}/{e.get('stroke')}" for e in group.iter() if e.get("fill")}
            colours[title.text] = sorted(painted)
    return texts, colours


def test_readme_picture_is_the_one_the_script_draws(tmp_path: Path) -> None:
    committed = ROOT / "docs" / "route_tree.svg"
    before = committed.read_bytes()
    subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_pictures.py"), str(tmp_path)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    assert committed.read_bytes() == before, "the test must not redraw the committed picture"
    drawn = tmp_path / "route_tree.svg"
    assert what_the_picture_shows(drawn) == what_the_picture_shows(committed), (
        "docs/route_tree.svg is not what docs/make_pictures.py draws now: "
        "run `python docs/make_pictures.py` and commit the picture"
    )
    texts, colours = what_the_picture_shows(committed)
    for label in ["users", "{user_id:int}", "{rest:path}", "GET repos"]:
        assert any(label in text for text in texts)
    assert len(colours) > 10, "nodes and edges were found"
