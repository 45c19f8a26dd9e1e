"""Draw the pictures the README shows, from a real Router: ``python docs/make_pictures.py``.

The README's route tree is generated, never drawn by hand, so it always shows what asgilab draws.
"""

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


def main() -> None:
    target = HERE / "route_tree.svg"
    draw(readme_router(), highlight="GET /users/alice/repos").save(target)
    print(f"wrote {target.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
