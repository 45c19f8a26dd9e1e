"""The README's example app runs as printed, and its picture comes from the script beside it."""

import re
import subprocess
import sys
from pathlib import Path

from asgilab import Client

ROOT = Path(__file__).resolve().parent.parent


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


def test_readme_picture_is_made_by_the_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_pictures.py")], check=True, cwd=tmp_path
    )
    svg = (ROOT / "docs" / "route_tree.svg").read_text()
    for label in ["users", "{user_id:int}", "{rest:path}", "GET repos"]:
        assert label in svg
