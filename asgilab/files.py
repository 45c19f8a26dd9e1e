"""Files a client names: finding them under a directory without ever leaving it.

A handler that serves files by name takes that name from the client, and the
obvious code serves every file on the machine::

    @app.get("/files/{name:path}")
    async def files(request, name: str):
        return FileResponse(os.path.join(BASE, name))  # UNSAFE: do not copy

``name`` arrives *decoded*: the router turns ``%2F`` into ``/`` and ``%2e`` into
``.``, even inside a one-segment ``{name}``. So ``/files/..%2F..%2Fetc%2Fpasswd``
gives ``../../etc/passwd``, and ``/files/%2Fetc%2Fpasswd`` (or ``/files//etc/passwd``)
gives ``/etc/passwd``, which ``os.path.join`` returns as is, dropping ``BASE``. A
check that the name "does not start with .." misses the second, and a symlink
inside ``BASE`` leads out past any check on the text. The safe way names the
directory and lets asgilab refuse::

    return FileResponse(name, root=BASE)  # 404 for anything outside BASE, or missing

:func:`safe_join` is where that is decided, the one place (``FileResponse(root=...)``
calls it; call it yourself to read, list or delete a file a client names). It
refuses, with :class:`UnsafePath` (a 404 for the client, a ValueError for code):

* a ``..`` segment; an absolute name (``/etc/passwd``, ``C:/x``);
* a NUL or other control character, a backslash (a separator on Windows);
* a name whose real path, symlinks followed, is outside the root, unless
  ``allow_symlink_escape=True`` (links that stay inside always work).

The name is taken literally, never decoded again: ``%2e%2e`` is a file called
``%2e%2e``, as it must be once the router has decoded the path.

:func:`safe_filename` is the other direction: a name to *create* a file under,
from a name a client sent (an upload's ``filename``, ``../../etc/cron.d/pwn``
as often as ``cv.pdf``). It keeps the last part, printable, never empty, ``.``
or ``..``, never hidden: :attr:`UploadFile.safe_filename <asgilab.UploadFile.safe_filename>`.

>>> safe_filename("../../etc/cron.d/pwn")
'pwn'
"""

from __future__ import annotations

import ntpath
import os
from pathlib import Path

from .errors import HTTPException, excerpt

__all__ = ["UnsafePath", "safe_filename", "safe_join"]

# The longest file name most file systems take (NAME_MAX, in bytes of UTF-8).
_NAME_MAX = 255
# An extension longer than this is not one worth keeping when a long name is cut.
_MAX_SUFFIX = 32
# What safe_filename gives when nothing of the name is left.
_DEFAULT_FILENAME = "upload"


class UnsafePath(HTTPException, ValueError):
    """A name that would leave its root directory: a 404 for the client, a ValueError for code.

    The client sees only ``404 Not Found`` (neither the reason nor the root, which
    would map the server for an attacker); ``str(exc)`` tells the developer why.

    >>> exc = UnsafePath("../x", "/srv/files", "it climbs out with '..'")
    >>> exc.status_code, exc.detail
    (404, 'Not Found')
    >>> str(exc)
    "'../x' is refused under /srv/files: it climbs out with '..'"
    """

    def __init__(self, name: str, root: str, reason: str) -> None:
        super().__init__(404)
        self.name = name
        self.root = root
        self.reason = reason

    def __str__(self) -> str:
        return f"{excerpt(self.name)!r} is refused under {self.root}: {self.reason}"


def _lexical_refusal(name: str) -> str | None:
    """Why ``name``, read as text, could point outside any root; None if it cannot."""
    for char in name:
        if char < " " or char == "\x7f":
            # NUL ends a C string (os.stat raises ValueError on it); the others have
            # no business in a URL's file name and make log lines lie.
            return f"it contains the control character {char!r}"
    if "\\" in name:
        return "it contains a backslash, a separator on Windows ('..\\x' climbs out there)"
    if name.startswith("/") or ntpath.splitdrive(name)[0]:
        return "it is absolute, and joining an absolute path drops the root"
    if ".." in name.split("/"):
        return "it climbs out with '..'"
    try:
        os.fsencode(name)
    except UnicodeEncodeError:  # lone surrogates: no file name on disk can hold them
        return "it cannot be encoded as a file name"
    return None


def safe_join(
    root: str | os.PathLike[str], name: str, *, allow_symlink_escape: bool = False
) -> Path:
    """The path of ``name`` under ``root``, or :class:`UnsafePath` if it would leave ``root``.

    The returned path is absolute and has its symlinks resolved (unless
    ``allow_symlink_escape``, when it is ``root/name`` as written). It need not
    exist: whether it does is the caller's question, answered with a 404 too.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()).resolve()
    >>> safe_join(root, "docs/guide.txt") == root / "docs" / "guide.txt"
    True
    >>> safe_join(root, "../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.files.UnsafePath: '../etc/passwd' is refused under ...: it climbs out with '..'
    >>> safe_join(root, "/etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.files.UnsafePath: '/etc/passwd' is refused under ...: it is absolute, and joining...
    """
    root_path = Path(os.path.realpath(root))
    reason = _lexical_refusal(name)
    if reason is not None:
        raise UnsafePath(name, str(root_path), reason)
    joined = root_path / name
    if allow_symlink_escape:
        return Path(os.path.normpath(joined))  # no '..' left to normalise away: still inside
    # NOTE: realpath, not Path.resolve(): on 3.11 a symlink loop makes resolve() raise
    # RuntimeError, while realpath leaves the loop in place for open() to fail on (a 404).
    real = Path(os.path.realpath(joined))
    if real != root_path and root_path not in real.parents:
        raise UnsafePath(
            name,
            str(root_path),
            f"a symlink leads out, to {real}; move the file under the root, or pass "
            "allow_symlink_escape=True if links out of it are meant to be followed",
        )
    return real


def _fit(name: str) -> str:
    """``name`` cut to :data:`_NAME_MAX` bytes of UTF-8, its extension kept."""
    if len(name.encode()) <= _NAME_MAX:
        return name
    stem, suffix = os.path.splitext(name)
    if len(suffix.encode()) > _MAX_SUFFIX:
        stem, suffix = name, ""
    room = _NAME_MAX - len(suffix.encode())
    # Cutting bytes may split a character in two: drop its first half.
    return stem.encode()[:room].decode(errors="ignore") + suffix


def safe_filename(name: str | None) -> str:
    """A name that is safe to create a file under, made from a name a client sent.

    Only the part after the last ``/`` or ``\\`` is kept (old browsers send
    ``C:\\Users\\ada\\cv.pdf``); characters that are not printable are dropped
    (NUL, line breaks, the right-to-left override that disguises ``exe.pdf``);
    leading dots and spaces go (no hidden ``.htaccess``), trailing ones too
    (Windows drops them); the result is cut to 255 bytes, extension kept. When
    nothing is left (``..``, ``.``, None), it is ``'upload'``.

    It is a *name*, not a *unique* name: two clients may send ``cv.pdf``. Join it
    with :func:`safe_join` and decide what a clash means (refuse, or prefix an id).

    >>> safe_filename("../../etc/cron.d/pwn"), safe_filename("C:\\\\Users\\\\ada\\\\cv.pdf")
    ('pwn', 'cv.pdf')
    >>> safe_filename(".htaccess"), safe_filename("a\\x00b\\n.txt"), safe_filename("my notes.md")
    ('htaccess', 'ab.txt', 'my notes.md')
    >>> safe_filename(".."), safe_filename("dir/"), safe_filename(None)
    ('upload', 'upload', 'upload')
    """
    last = (name or "").replace("\\", "/").rpartition("/")[2]
    printable = "".join(char for char in last if char.isprintable())
    return _fit(printable.strip(" .")) or _DEFAULT_FILENAME
