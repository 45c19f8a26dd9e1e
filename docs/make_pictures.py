"""Draw the pictures the README shows, from a real Router: ``python docs/make_pictures.py``.

The README's route tree is generated, never drawn by hand, so it always shows what asgilab draws.
``python docs/make_pictures.py DIR`` writes the pictures into ``DIR`` instead of ``docs/``: the
test draws them aside and compares them with the committed ones, so a stale picture fails it.
"""

import sys
from pathlib import Path

from asgilab import Router, draw

HERE = Path(__file__).resolve().parent


async def endpoint() -> None:
    """Only the routes' names are drawn; what the handler does is irrelevant here."""


def readme_router() -> Router:
    router = Router()
    router.add("/", endpoint, name="home")
    router.add("/users", endpoint, methods=["GET", "POST"], name="users")
    router.add("/users/me", endpoint, name="me")
    router.add("/users/{user_id:int}", endpoint, methods=["GET", "DELETE"], name="user")
    router.add("/users/{name}/repos", endpoint, name="repos")
    router.add("/files/{name}.{ext}", endpoint, name="file")
    router.add("/files/{rest:path}", endpoint, name="files")
    return router


def main(argv: list[str]) -> None:
    directory = Path(argv[0]) if argv else HERE
    target = directory / "route_tree.svg"
    draw(readme_router(), highlight="GET /users/alice/repos").save(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
