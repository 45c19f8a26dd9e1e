"""The ``asgilab`` command: look at an app's routes, send it a request, serve it.

::

    asgilab routes examples.app:app                 # method, path, name, endpoint
    asgilab tree examples.app:app --highlight "GET /users/42"
    asgilab tree examples.app:app -o tree.svg       # the picture (.svg .png .pdf)
    asgilab request examples.app:app POST /echo -H 'Content-Type: application/json' -d '{"a": 1}'
    asgilab request examples.app:app GET / --trace  # ... and every ASGI message
    asgilab serve examples.app:app --port 8000      # uvicorn, on 127.0.0.1 unless told
    asgilab serve examples.app:app --host 0.0.0.0 --forwarded-allow-ips 10.0.0.5  # behind nginx

``APP`` is ``module:attribute``, imported with the current directory on
``sys.path`` (as uvicorn does). ``routes`` and ``tree`` need an asgilab App or
Router; ``request`` and ``serve`` take any ASGI app. A mistake (a bad APP, a
module that fails to import, an unknown method) is one line on stderr and exit
status 1, not a traceback: the command is a tool, not a debugger.

Imports stay light: graphviz is loaded only for ``tree -o``, uvicorn only for ``serve``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import AsgilabError
from .routes import MOUNT_PATH

if TYPE_CHECKING:
    from .router import Router

__all__ = ["CLIError", "load_app", "main"]

METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")
_APP_SPEC = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")


class CLIError(AsgilabError):
    """A mistake on the command line, said in one line."""


# --- finding the app --------------------------------------------------------------------


def load_app(spec: str) -> Any:
    """Import ``module:attribute`` (dots allowed on both sides) and return the object.

    >>> load_app("asgilab.errors:HTTPException").__name__
    'HTTPException'
    >>> load_app("asgilab")
    Traceback (most recent call last):
    ...
    asgilab.cli.CLIError: APP must be 'module:attribute', like 'examples.app:app'; got 'asgilab'
    """
    if not _APP_SPEC.fullmatch(spec):
        raise CLIError(f"APP must be 'module:attribute', like 'examples.app:app'; got {spec!r}")
    module_name, _, attribute = spec.partition(":")
    # As uvicorn does: the app's module is found from where the command is run.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name + ".").startswith(error.name + "."):
            raise CLIError(
                f"cannot import {module_name!r}: no module named {error.name!r} "
                f"(looked in {os.getcwd()} and the installed packages)"
            ) from None
        raise CLIError(f"importing {module_name!r} failed: {_one_line(error)}") from None
    except Exception as error:
        raise CLIError(f"importing {module_name!r} failed: {_one_line(error)}") from None
    target: Any = module
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise CLIError(f"{module_name!r} has no attribute {attribute!r}") from None
    return target


def _one_line(error: BaseException) -> str:
    """``ValueError: boom (at app.py:12)``: the exception and where it was raised."""
    if isinstance(error, AsgilabError):  # our own errors say what is wrong already
        return f"{type(error).__name__}: {error}"
    where = ""
    if isinstance(error, SyntaxError) and error.filename:
        where = f" (at {error.filename}:{error.lineno})"
    else:
        frames = traceback.extract_tb(error.__traceback__)
        if frames:
            where = f" (at {frames[-1].filename}:{frames[-1].lineno})"
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {message}{where}" if message else type(error).__name__ + where


def _router_of(spec: str, target: Any) -> Router:
    from .router import Router  # the router is what routes and tree show

    router = getattr(target, "router", target)
    if not isinstance(router, Router):
        raise CLIError(
            f"{spec} is a {type(target).__name__}, not an asgilab App or Router "
            "(routes and tree need one; request and serve take any ASGI app)"
        )
    return router


def _asgi_app(spec: str, target: Any) -> Any:
    if not callable(target):
        raise CLIError(f"{spec} is a {type(target).__name__}, not an ASGI app (not callable)")
    return target


# --- the commands -----------------------------------------------------------------------


def cmd_routes(args: argparse.Namespace) -> int:
    """Print a table of the routes, in registration order."""
    router = _router_of(args.app, load_app(args.app))
    rows = [("METHODS", "PATH", "NAME", "ENDPOINT")]
    for route in router.routes:
        mounted = route.extras.get("mount")
        if mounted is not None:
            # A mount is two routes (the prefix, and every path below it): one row.
            if route.path.endswith(MOUNT_PATH):
                continue
            rows.append(("MOUNT", route.path, _mount_name(router, route.path), _where(mounted)))
            continue
        rows.append(
            (",".join(sorted(route.methods)), route.path, route.name or "?", _where(route.endpoint))
        )
    if len(rows) == 1:
        print(f"{args.app} has no routes")
        return 0
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _mount_name(router: Any, prefix: str) -> str:
    """The name of the mount at ``prefix`` (its catch-all route's), or ``?``."""
    for route in router.routes:
        if route.path == prefix + MOUNT_PATH and route.name:
            return str(route.name)
    return "?"


def cmd_tree(args: argparse.Namespace) -> int:
    """Print the route tree (and a lookup), or save its picture."""
    router = _router_of(args.app, load_app(args.app))
    lookup = _parse_request_line(args.highlight) if args.highlight else None
    if args.output:
        from .draw import draw  # graphviz, only when a picture is asked for

        highlight = f"{lookup[0]} {lookup[1]}" if lookup else None
        try:
            path = draw(router, highlight=highlight).save(args.output)
        except OSError as error:
            raise CLIError(f"cannot write {args.output!r}: {error.strerror}") from None
        print(f"wrote {path}")
        return 0
    # Explained first: a path the router cannot read fails before the tree is printed.
    explanation = router.explain(*lookup) if lookup else None
    print(router)
    if explanation is not None:
        print()
        print(explanation)
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    """Send one request in-process; print status, headers, body (and the trace)."""
    method = _method(args.method)
    if not args.path.startswith("/"):
        raise CLIError(f"PATH must start with '/', got {args.path!r}")
    headers = [_header(text) for text in args.header]
    content = _body(args.data) if args.data is not None else None
    app = _asgi_app(args.app, load_app(args.app))

    from .client import Client  # httpx, only when a request is made

    client = Client(app)
    try:
        with client:
            response = client.request(method, args.path, headers=headers, content=content)
    except Exception as error:
        if client.trace is not None and args.trace:
            print(client.trace)
        raise CLIError(f"{method} {args.path}: {_one_line(error)}") from None
    out = sys.stdout
    out.write(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\n")
    for name, value in response.headers.multi_items():
        out.write(f"{name}: {value}\n")
    out.write("\n")
    out.flush()
    body = response.content
    out.buffer.write(body)  # the bytes as sent: the body may not be text
    if body and not body.endswith(b"\n") and out.isatty():
        out.buffer.write(b"\n")
    out.buffer.flush()
    if args.trace and client.trace is not None:
        out.write(f"\n{client.trace}\n")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run uvicorn in the foreground until Ctrl-C, with asgilab's defaults for the internet."""
    app = _asgi_app(args.app, load_app(args.app))  # fail here, in one line, not in uvicorn
    import uvicorn

    from .server import server_options

    # uvicorn imports the app again in each worker or reloaded process, so it needs
    # the import string then; one process serves the object already imported.
    target = args.app if args.workers > 1 or args.reload else app
    options = server_options(
        http=args.http,
        h11_max_incomplete_event_size=args.h11_max_incomplete_event_size,
        limit_concurrency=args.limit_concurrency or None,  # 0: no limit
        timeout_keep_alive=args.timeout_keep_alive,
        # Only what was asked for: server_options turns proxy headers on for named proxies.
        **({"proxy_headers": True} if args.proxy_headers else {}),
        **({"forwarded_allow_ips": args.forwarded_allow_ips} if args.forwarded_allow_ips else {}),
    )
    uvicorn.run(
        target, host=args.host, port=args.port, workers=args.workers, reload=args.reload, **options
    )
    return 0


# --- small parsers ----------------------------------------------------------------------


def _method(text: str) -> str:
    method = text.upper()
    if method not in METHODS:
        raise CLIError(f"unknown method {text!r} (known: {', '.join(METHODS)})")
    return method


def _where(endpoint: Any) -> str:
    """``module.qualname`` of a handler: a partial's function, an object's class."""
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    named = endpoint if hasattr(endpoint, "__qualname__") else type(endpoint)
    return f"{getattr(named, '__module__', '?')}.{named.__qualname__}"


def _parse_request_line(text: str) -> tuple[str, str]:
    """``"GET /users/42"`` -> ``("GET", "/users/42")``; the method defaults to GET."""
    parts = text.split()
    if len(parts) == 1:
        parts.insert(0, "GET")
    if len(parts) != 2 or not parts[1].startswith("/"):
        raise CLIError(f"--highlight takes 'METHOD /path', like 'GET /users/42'; got {text!r}")
    return _method(parts[0]), parts[1].partition("?")[0].partition("#")[0]  # no query


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise CLIError(f"-H takes 'Name: value', like 'Accept: application/json'; got {text!r}")
    return name.strip(), value.strip()


def _body(data: str) -> bytes:
    """``-d`` as given, or ``@file`` read from a file (``@-``: standard input)."""
    if not data.startswith("@"):
        return data.encode()
    if data == "@-":
        return sys.stdin.buffer.read()
    try:
        with open(data[1:], "rb") as file:
            return file.read()
    except OSError as error:
        raise CLIError(f"-d {data}: cannot read {data[1:]!r}: {error.strerror}") from None


# --- the parser -------------------------------------------------------------------------


_SERVE_EPILOG = """\
The defaults are for a server facing the internet; uvicorn's own suit one behind
a proxy. uvicorn has no timeout for reading request headers: a proxy in front
(nginx's client_header_timeout) bounds a client that sends them slowly.

Behind a proxy on this machine:
  asgilab serve app:app --proxy-headers
Behind a proxy elsewhere, on a busy server:
  asgilab serve app:app --host 0.0.0.0 --forwarded-allow-ips 10.0.0.5 --limit-concurrency 4000
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``asgilab`` argument parser: one sub-command per task."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="asgilab", description="Look inside an ASGI app: routes, tree, requests, serving."
    )
    parser.add_argument("--version", action="version", version=f"asgilab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    app_help = "the app as module:attribute, e.g. examples.app:app"

    def command(name: str, run: Callable[[argparse.Namespace], int], text: str, **more: Any) -> Any:
        sub = commands.add_parser(name, help=text, description=text, **more)
        sub.add_argument("app", metavar="APP", help=app_help)
        sub.set_defaults(run=run)
        return sub

    command("routes", cmd_routes, "List the routes: methods, path, name, endpoint.")

    tree = command("tree", cmd_tree, "Show the route tree, or save its picture.")
    tree.add_argument("--highlight", metavar="'METHOD /path'", help="show this lookup")
    tree.add_argument("-o", "--output", metavar="FILE", help="save a picture (.svg .png .pdf)")

    request = command("request", cmd_request, "Send one request to the app, in-process.")
    request.add_argument("method", metavar="METHOD")
    request.add_argument("path", metavar="PATH", help="path and query, e.g. /users?page=2")
    request.add_argument(
        "-H", "--header", action="append", default=[], metavar="'K: V'", help="a request header"
    )
    request.add_argument("-d", "--data", metavar="BODY", help="the body; @file reads a file")
    request.add_argument("--trace", action="store_true", help="also print every ASGI message")

    from .server import SERVER_DEFAULTS

    serve = command(
        "serve",
        cmd_serve,
        "Serve the app with uvicorn.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (this machine)")
    serve.add_argument("--port", type=int, default=8000, help="default: 8000")
    serve.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    serve.add_argument("--reload", action="store_true", help="restart when files change")
    limit = SERVER_DEFAULTS["limit_concurrency"]
    serve.add_argument(
        "--limit-concurrency",
        type=int,
        default=limit,
        metavar="N",
        help=f"connections per process before new requests get 503 (default: {limit}; 0: none)",
    )
    keep_alive = SERVER_DEFAULTS["timeout_keep_alive"]
    serve.add_argument(
        "--timeout-keep-alive",
        type=int,
        default=keep_alive,
        metavar="SECONDS",
        help=f"close an idle kept-alive connection after this long (default: {keep_alive})",
    )
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="believe X-Forwarded-For/-Proto from --forwarded-allow-ips (default: off)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="the proxies to believe, comma-separated; implies --proxy-headers "
        "(default with --proxy-headers: 127.0.0.1,::1)",
    )
    serve.add_argument(
        "--http",
        choices=["h11", "httptools"],
        default=SERVER_DEFAULTS["http"],
        help="uvicorn's HTTP parser (default: h11, whose request head is bounded)",
    )
    head = SERVER_DEFAULTS["h11_max_incomplete_event_size"]
    serve.add_argument(
        "--h11-max-incomplete-event-size",
        type=int,
        default=head,
        metavar="BYTES",
        help=f"the most of an unfinished request head h11 holds (default: {head})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except AsgilabError as error:
        print(f"asgilab: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status
