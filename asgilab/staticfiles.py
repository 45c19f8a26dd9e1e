"""Static files: an ASGI app that serves a directory, and nothing outside it.

Serving a folder looks like one line, ``open(directory + path)``, and that line
serves every file on the machine. The path is the client's, and the server has
already decoded it once: ``/static/..%2F..%2Fetc%2Fpasswd`` arrives as
``/static/../../etc/passwd``, ``/static/%2F/etc/passwd`` as ``/static//etc/passwd``
(an absolute name once the first ``/`` goes), and a symlink someone left in the
folder leads out past any check on the text. So every name goes through
:func:`~asgilab.files.safe_join`, which refuses ``..``, absolute names, backslashes,
control characters and (unless ``follow_symlinks=True``) symlinks out, and each
refusal is a plain 404, the same as a missing file: an attacker learns nothing.
The path is never decoded a second time: ``%252e%252e`` names a file called
``%2e%2e``, as a browser meant it to.

What is found is sent by :class:`~asgilab.responses.FileResponse`: its media type
(``text/*`` with ``charset=utf-8``), ``ETag`` and ``Last-Modified`` with 304 on
``If-None-Match`` or ``If-Modified-Since``, byte ranges for players and resumed
downloads. Only GET and HEAD: anything else is a 405 that says so in ``Allow``.

With ``html=True`` a directory serves its ``index.html`` (``/docs`` first
redirects to ``/docs/``, so the page's relative links resolve inside it), and a
miss serves ``404.html`` if the folder has one.

The app is mounted under a prefix: the server (or a router) sets ``root_path`` to
it, and the file's name is the path below it.

>>> import tempfile
>>> from pathlib import Path
>>> from asgilab import Client
>>> public = Path(tempfile.mkdtemp())
>>> _ = (public / "hello.txt").write_text("hi")
>>> static = StaticFiles(public)
>>> with Client(static) as client:
...     hello = client.get("/hello.txt")
...     escape = client.get("/..%2F..%2Fetc%2Fpasswd")
>>> hello.status_code, hello.text, hello.headers["content-type"]
(200, 'hi', 'text/plain; charset=utf-8')
>>> escape.status_code
404
>>> with Client(static, root_path="/static") as client:  # mounted at /static
...     client.get("/static/hello.txt").text
'hi'
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Literal
from urllib.parse import quote, unquote_to_bytes

from .background import run_sync
from .errors import InvalidArgument
from .files import UnsafePath, safe_join
from .responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from .types import Receive, Scope, Send

__all__ = ["StaticFiles"]

logger = logging.getLogger("asgilab.staticfiles")

# What a path segment keeps unescaped in a Location header (RFC 3986's pchar, '/' excepted).
_SEGMENT_SAFE = "!$&'()*+,;=:@~"


class StaticFiles:
    """Serve the files under ``directory``: an ASGI app, to be mounted under a prefix.

    * ``html=True``: a directory answers with its ``index.html``, and a miss with
      ``404.html`` (status 404) when the directory has one: a static site.
    * ``follow_symlinks=True``: symlinks that lead out of ``directory`` are followed
      (a folder of links into a shared store); links that stay inside always work.
    * ``check_dir=False``: the directory need not exist yet (built assets); until it
      does, every request is a 404.

    >>> import tempfile
    >>> from asgilab import Client
    >>> site = tempfile.mkdtemp()
    >>> with open(os.path.join(site, "index.html"), "w") as page:
    ...     _ = page.write("<h1>home</h1>")
    >>> app = StaticFiles(site, html=True)
    >>> with Client(app) as client:
    ...     [client.get(url).status_code for url in ["/", "/index.html", "/nope", "/../x"]]
    [200, 200, 404, 404]
    >>> StaticFiles(os.path.join(site, "missing"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.errors.InvalidArgument: StaticFiles directory '.../missing' does not exist; ...
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        html: bool = False,
        follow_symlinks: bool = False,
        check_dir: bool = True,
    ) -> None:
        self.directory = os.fspath(directory)
        self.html = html
        self.follow_symlinks = follow_symlinks
        if check_dir and not os.path.isdir(self.directory):
            # NOTE: refused here, at start-up, rather than as a 404 on every request:
            # a typo in a path would otherwise look like a site with no files.
            if os.path.exists(self.directory):
                raise InvalidArgument(
                    f"StaticFiles directory {self.directory!r} is not a directory; "
                    "give the folder that holds the files"
                )
            raise InvalidArgument(
                f"StaticFiles directory {self.directory!r} does not exist; create it, or pass "
                "check_dir=False if it appears later (until then every request is a 404)"
            )

    def __repr__(self) -> str:
        return (
            f"StaticFiles(directory={self.directory!r}, html={self.html}, "
            f"follow_symlinks={self.follow_symlinks})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)  # nothing to start: served alone, it still speaks it
            return
        if kind == "websocket":
            # Refused before it is accepted: the server answers the handshake with 403.
            await send({"type": "websocket.close", "code": 1000})
            return
        if kind != "http":
            raise InvalidArgument(
                f"StaticFiles serves HTTP requests, not a {kind!r} scope; "
                "mount it where only HTTP reaches it"
            )
        response = await self.response(_name_in(scope), scope)
        await response(scope, receive, send)

    async def response(self, name: str, scope: Scope) -> Response:
        """The answer to a request for the file ``name`` (relative, as decoded once).

        What ``__call__`` sends; call it from a handler to serve a folder from a route,
        ``return await static.response(path, request.scope)``. The file's answer itself
        (304, ranges, HEAD) is :class:`~asgilab.responses.FileResponse`'s.
        """
        if scope.get("method") not in ("GET", "HEAD"):
            return PlainTextResponse("Method Not Allowed", 405, {"allow": "GET, HEAD"})
        # Disk work (realpath, stat), so in the thread pool; FileResponse opens the file there.
        found, path = await run_sync(self._find, name, scope.get("path", "").endswith("/"))
        if found == "file":
            return FileResponse(path)
        if found == "redirect":
            return RedirectResponse(_directory_url(scope), 307)
        if path is not None:
            return FileResponse(path, status_code=404)  # the site's own 404.html
        return PlainTextResponse("Not Found", 404)

    def _find(
        self, name: str, asked_as_directory: bool
    ) -> tuple[Literal["file", "redirect", "missing"], str | None]:
        """What ``name`` is: a file to send (its path), a directory to redirect to its
        ``/`` form, or missing (with the path of ``404.html``, if it is served)."""
        found = self._lookup(name)
        if found is not None:
            path, mode = found
            # "a.txt/" names no file: a relative link in it would resolve below a file.
            if stat.S_ISREG(mode) and not name.endswith("/"):
                return "file", path
            if stat.S_ISDIR(mode) and self.html:
                index = self._lookup(f"{name.rstrip('/')}/index.html" if name else "index.html")
                if index is not None and stat.S_ISREG(index[1]):
                    # /docs -> /docs/ first, as a browser resolves the page's relative
                    # links (style.css) against the URL it shows, not the file sent.
                    return ("file", index[0]) if asked_as_directory else ("redirect", None)
        if self.html:
            page = self._lookup("404.html")
            if page is not None and stat.S_ISREG(page[1]):
                return "missing", page[0]
        return "missing", None

    def _lookup(self, name: str) -> tuple[str, int] | None:
        """The real path of ``name`` under the directory and its mode, or None when it is
        refused (it would leave the directory), missing or not to be looked at."""
        try:
            path = safe_join(self.directory, name, allow_symlink_escape=self.follow_symlinks)
        except UnsafePath as exc:
            logger.debug("404 for %s", exc)  # the client learns nothing; the log, why
            return None
        try:
            return str(path), os.stat(path).st_mode
        except (OSError, ValueError):  # missing, a name too long, a directory it may not enter
            return None


def _name_in(scope: Scope) -> str:
    """The file name a request asks for: its path below ``root_path``, first ``/`` dropped.

    ``path`` as the server decoded it, once. The ASGI spec puts ``root_path`` (the
    mount's prefix) in front of ``path``, and most servers do; some do not (httpx's
    transport), so the prefix is removed only when it is there, at a segment's end.

    >>> _name_in({"path": "/static/css/site.css", "root_path": "/static"})
    'css/site.css'
    >>> _name_in({"path": "/css/site.css", "root_path": "/static"})  # a server without it
    'css/site.css'
    >>> _name_in({"path": "/staticky/x", "root_path": "/static"})  # not below /static
    'staticky/x'
    >>> _name_in({"path": "//etc/passwd"})  # absolute: safe_join refuses it
    '/etc/passwd'
    """
    path: str = scope["path"]
    # NOTE: not datastructures.strip_root_path, which takes a raw (encoded) path and
    # decodes it to compare: path is decoded already, and decoding twice is the bug
    # that turns %252e%252e into '..'.
    root = (scope.get("root_path") or "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    # Only the one '/' that starts every path: '//etc/passwd' keeps its second, and
    # safe_join refuses the absolute name.
    return path.removeprefix("/")


def _directory_url(scope: Scope) -> str:
    """Where ``/docs`` redirects: ``./docs/``, relative, resolved by the client against
    the URL it asked for, so it is right whatever prefix a proxy or mount added.

    The last segment is taken from ``raw_path`` as the client sent it (a ``%2F`` in
    it stays one) and re-escaped, with the query kept.

    >>> _directory_url({"path": "/docs", "raw_path": b"/static/docs", "query_string": b"v=2"})
    './docs/?v=2'
    >>> _directory_url({"path": "/a b", "raw_path": b"/a%20b%2Fc", "query_string": b""})
    './a%20b%2Fc/'
    """
    raw = scope.get("raw_path")
    if raw is not None:
        segment = quote(unquote_to_bytes(raw.rpartition(b"/")[2]), safe=_SEGMENT_SAFE)
    else:
        segment = quote(scope["path"].rpartition("/")[2], safe=_SEGMENT_SAFE)
    # The query's bytes as sent, escaped where they are not ASCII (its own escapes kept).
    query = quote(scope.get("query_string") or b"", safe="/?:@!$&'()*+,;=%~")
    return f"./{segment}/" + (f"?{query}" if query else "")


async def _lifespan(receive: Receive, send: Send) -> None:
    """Complete startup and shutdown at once: a folder has nothing to open or close."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
