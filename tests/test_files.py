"""Files a client names: safe_join refuses what leaves the root, safe_filename makes a name.

The last tests replay issue 22's reproductions against an App whose handler is the
safe one, ``FileResponse(name, root=PUBLIC)``: each hostile URL answers 404 and the
secret beside the public directory never leaves.
"""

import asyncio
import os
from pathlib import Path

import pytest
from reliability.support import asgi_request

from asgilab import App, Client, FileResponse, Request, UnsafePath, UploadFile, safe_join
from asgilab.files import safe_filename

SECRET = b"root:x:0:0:the secret beside the public folder"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """``tmp/public`` with ``a.txt`` and ``sub/b.txt``; ``tmp/secret.txt`` beside it."""
    public = tmp_path / "public"
    (public / "sub").mkdir(parents=True)
    (public / "a.txt").write_text("a")
    (public / "sub" / "b.txt").write_text("b")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return public.resolve()


# name, reason (the end of the message)
REFUSED = [
    ("..", "it climbs out with '..'"),
    ("../secret.txt", "it climbs out with '..'"),
    ("sub/../../secret.txt", "it climbs out with '..'"),
    ("sub/..", "it climbs out with '..'"),
    ("/etc/passwd", "it is absolute, and joining an absolute path drops the root"),
    ("//etc/passwd", "it is absolute, and joining an absolute path drops the root"),
    ("C:/Windows/win.ini", "it is absolute, and joining an absolute path drops the root"),
    ("a\x00.txt", "it contains the control character '\\x00'"),
    ("a.txt\n", "it contains the control character '\\n'"),
    (
        "..\\secret.txt",
        "it contains a backslash, a separator on Windows ('..\\x' climbs out there)",
    ),
    ("sub\\b.txt", "it contains a backslash, a separator on Windows ('..\\x' climbs out there)"),
    ("a\ud800", "it cannot be encoded as a file name"),
]


@pytest.mark.parametrize(("name", "reason"), REFUSED)
def test_safe_join_refuses_what_could_leave_the_root(root: Path, name: str, reason: str) -> None:
    with pytest.raises(UnsafePath) as info:
        safe_join(root, name)
    assert str(info.value) == f"{name!r} is refused under {root}: {reason}"
    # A 404 for the client, which learns neither the reason nor the root.
    assert (info.value.status_code, info.value.detail) == (404, "Not Found")
    assert isinstance(info.value, ValueError)


# name, the path it gives, relative to the root
ALLOWED = [
    ("a.txt", "a.txt"),
    ("sub/b.txt", "sub/b.txt"),
    ("./sub//b.txt", "sub/b.txt"),
    ("", "."),
    ("missing.txt", "missing.txt"),  # whether it exists is the caller's question
    ("%2e%2e/secret.txt", "%2e%2e/secret.txt"),  # taken literally: never decoded again
    ("...", "..."),
    ("..a/b..", "..a/b.."),
    ("résumé.pdf", "résumé.pdf"),
]


@pytest.mark.parametrize(("name", "relative"), ALLOWED)
def test_safe_join_gives_the_path_under_the_root(root: Path, name: str, relative: str) -> None:
    assert safe_join(root, name) == (root / relative).resolve()
    assert safe_join(str(root), name) == (root / relative).resolve()


def test_safe_join_follows_symlinks_that_stay_inside(root: Path) -> None:
    (root / "latest.txt").symlink_to(root / "sub" / "b.txt")
    (root / "docs").symlink_to(root / "sub", target_is_directory=True)
    assert safe_join(root, "latest.txt") == root / "sub" / "b.txt"
    assert safe_join(root, "docs/b.txt") == root / "sub" / "b.txt"


def test_safe_join_refuses_symlinks_that_lead_out_unless_allowed(root: Path) -> None:
    outside = root.parent
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "up").symlink_to(outside, target_is_directory=True)
    for name, real in [("leak.txt", "secret.txt"), ("up/secret.txt", "secret.txt")]:
        with pytest.raises(UnsafePath) as info:
            safe_join(root, name)
        assert str(info.value) == (
            f"{name!r} is refused under {root}: a symlink leads out, to {outside / real}; "
            "move the file under the root, or pass allow_symlink_escape=True if links out "
            "of it are meant to be followed"
        )
        assert safe_join(root, name, allow_symlink_escape=True) == root / name
    # The flag follows links; it does not let '..' through.
    with pytest.raises(UnsafePath, match=r"it climbs out with '\.\.'"):
        safe_join(root, "../secret.txt", allow_symlink_escape=True)


def test_safe_join_resolves_a_root_that_is_a_symlink(root: Path, tmp_path: Path) -> None:
    (tmp_path / "www").symlink_to(root, target_is_directory=True)
    assert safe_join(tmp_path / "www", "a.txt") == root / "a.txt"


def test_safe_join_leaves_a_symlink_loop_for_open_to_fail_on(root: Path) -> None:
    (root / "loop").symlink_to(root / "loop")
    assert safe_join(root, "loop") == root / "loop"
    assert asyncio.run(asgi_request(serving(root), "GET", b"/files/loop")).status == 404


# name as sent, safe name
FILENAMES = [
    ("cv.pdf", "cv.pdf"),
    ("../../etc/cron.d/pwn", "pwn"),
    ("C:\\Users\\ada\\cv.pdf", "cv.pdf"),
    ("/etc/passwd", "passwd"),
    (".htaccess", "htaccess"),
    ("...", "upload"),
    ("..", "upload"),
    (".", "upload"),
    ("", "upload"),
    (None, "upload"),
    ("dir/", "upload"),
    ("a\x00b\r\n.txt", "ab.txt"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),  # the right-to-left override is gone
    ("  my notes.md  ", "my notes.md"),
    ("trailing. . ", "trailing"),
    ("Zoë 😀.png", "Zoë 😀.png"),
    ("x" * 300 + ".tar.gz", "x" * 252 + ".gz"),
    ("é" * 200, "é" * 127),  # 255 bytes hold 127 two-byte characters, not half of one more
    ("y" * 200 + "." + "z" * 100, ("y" * 200 + "." + "z" * 100)[:255]),  # no extension to keep
]


@pytest.mark.parametrize(("sent", "safe"), FILENAMES)
def test_safe_filename(sent: str | None, safe: str) -> None:
    assert safe_filename(sent) == safe
    assert UploadFile(sent).safe_filename == safe
    assert len(safe.encode()) <= 255
    assert safe_join("/srv/uploads", safe).parent == Path("/srv/uploads")


def test_an_upload_saved_under_its_safe_filename_stays_in_the_folder(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    app = App()

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, str]:
        file = (await request.form())["file"]
        assert isinstance(file, UploadFile)
        path = safe_join(uploads, file.safe_filename)
        path.write_bytes(await file.read())
        return {"sent": str(file.filename), "saved": path.name}

    with Client(app) as client:
        files = {"file": ("../../etc/cron.d/pwn", b"* * * * * root sh", "text/plain")}
        reply = client.post("/upload", files=files)
    assert reply.json() == {"sent": "../../etc/cron.d/pwn", "saved": "pwn"}
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["pwn"]
    assert (uploads / "pwn").read_bytes() == b"* * * * * root sh"


# -- issue 22, replayed against the safe handler ------------------------------------------


def serving(root: Path, **options: bool) -> App:
    """The handlers issue 22 found leaking, written the safe way."""
    app = App()

    @app.get("/files/{name:path}")
    async def files(request: Request, name: str) -> FileResponse:
        return FileResponse(name, root=root, **options)

    @app.get("/f/{name}")
    async def one_segment(request: Request, name: str) -> FileResponse:
        return FileResponse(name, root=root, **options)

    return app


def test_the_safe_handler_serves_what_is_in_the_root(root: Path) -> None:
    app = serving(root)
    for target, body in [(b"/files/a.txt", b"a"), (b"/files/sub/b.txt", b"b"), (b"/f/a.txt", b"a")]:
        reply = asyncio.run(asgi_request(app, "GET", target))
        assert (reply.status, reply.body) == (200, body)


def hostile_targets(root: Path) -> list[bytes]:
    secret = str(root.parent / "secret.txt").encode()
    encoded = secret.replace(b"/", b"%2F")
    return [
        b"/files/..%2Fsecret.txt",
        b"/files/..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        b"/files/%2e%2e/secret.txt",
        b"/files/%2E%2E%2Fsecret.txt",
        b"/files/../secret.txt",
        b"/files/sub/../../secret.txt",
        b"/files/" + secret,  # //tmp/.../secret.txt: an absolute name
        b"/files/" + encoded,
        b"/files//etc/passwd",
        b"/files/%2Fetc%2Fpasswd",
        b"/f/" + encoded,  # one segment, %2F decoded inside it
        b"/f/..%2Fsecret.txt",
        b"/f/%2Fetc%2Fpasswd",
        b"/files/..%5Csecret.txt",
        b"/files/a.txt%00",
        b"/files/leak.txt",  # a symlink to the secret
        b"/files/up/secret.txt",  # a symlinked directory outside
    ]


def test_issue_22_reproductions_answer_404_and_leak_nothing(root: Path) -> None:
    (root / "leak.txt").symlink_to(root.parent / "secret.txt")
    (root / "up").symlink_to(root.parent, target_is_directory=True)
    app = serving(root)
    for target in hostile_targets(root):
        reply = asyncio.run(asgi_request(app, "GET", target))
        assert (reply.status, reply.body) == (404, b"Not Found"), target


def test_symlinks_out_are_served_when_allowed(root: Path) -> None:
    (root / "leak.txt").symlink_to(root.parent / "secret.txt")
    app = serving(root, allow_symlink_escape=True)
    reply = asyncio.run(asgi_request(app, "GET", b"/files/leak.txt"))
    assert (reply.status, reply.body) == (200, SECRET)
    # Following links is all it allows.
    reply = asyncio.run(asgi_request(app, "GET", b"/files/..%2Fsecret.txt"))
    assert reply.status == 404


def test_safe_join_in_a_handler_answers_404_by_itself(root: Path) -> None:
    app = App()

    @app.get("/size/{name:path}")
    async def size(request: Request, name: str) -> dict[str, int]:
        return {"bytes": os.path.getsize(safe_join(root, name))}

    assert asyncio.run(asgi_request(app, "GET", b"/size/a.txt")).body == b'{"bytes":1}'
    reply = asyncio.run(asgi_request(app, "GET", b"/size/..%2Fsecret.txt"))
    assert (reply.status, reply.body) == (404, b"Not Found")


def test_the_obvious_handler_leaks_which_is_why_root_exists(root: Path) -> None:
    # The code the docs warn against, kept here so that the warning stays true.
    app = App()

    @app.get("/f/{name}")
    async def unsafe(request: Request, name: str) -> FileResponse:
        if name.startswith(".."):
            raise ValueError("no climbing")  # the check that looks enough, and is not
        return FileResponse(os.path.join(root, name))

    secret = str(root.parent / "secret.txt").encode().replace(b"/", b"%2F")
    reply = asyncio.run(asgi_request(app, "GET", b"/f/" + secret))
    assert (reply.status, reply.body) == (200, SECRET)
