"""A real uvicorn server in a background thread, for notebooks and tests.

In-process requests (see ``asgilab.client``) never touch a socket, so they cannot
show what only a server does: streaming, keep-alive, disconnects, the lifespan run
by the server. :func:`serve` starts uvicorn on a free loopback port in a daemon
thread, so a notebook cell or a test can talk to the same app over TCP and then
stop it cleanly.

>>> async def hello(scope, receive, send):
...     if scope["type"] != "http":
...         return
...     await send({"type": "http.response.start", "status": 200, "headers": []})
...     await send({"type": "http.response.body", "body": b"hi"})
>>> import httpx
>>> with serve(hello, lifespan="off") as server:
...     httpx.get(server.url).text
'hi'

It serves with :data:`SERVER_DEFAULTS`, as ``asgilab serve`` does: uvicorn's own
defaults suit a server behind a proxy, and these one open to anyone.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Literal

import uvicorn

from .errors import AsgilabError
from .types import ASGIApp

__all__ = [
    "SERVER_DEFAULTS",
    "Server",
    "ServerStartError",
    "ServerStartTimeout",
    "serve",
    "server_options",
]

#: What asgilab hands uvicorn unless told otherwise (``asgilab serve`` and :func:`serve`),
#: each a uvicorn option with the ``asgilab serve`` flag of the same name:
#:
#: - ``http="h11"``: uvicorn picks httptools when it is installed, and httptools
#:   buffers a request's headers without bound (20 MB of one header: +20 MiB of
#:   memory, no answer); h11 refuses them past ``h11_max_incomplete_event_size``.
#: - ``h11_max_incomplete_event_size=16 KiB``: how much of an unfinished request head
#:   (request line and headers) h11 holds; past it, 400 and a closed connection. A
#:   head that arrives whole in one read (asyncio reads up to 256 KiB) is not
#:   unfinished, so that is the largest that passes. h11's default, said aloud.
#: - ``limit_concurrency=1000``: connections (or running requests) per process past
#:   which a new request gets 503, instead of memory and sockets running out.
#: - ``timeout_keep_alive=5``: seconds an idle kept-alive connection stays open.
#: - ``proxy_headers=False``: ``X-Forwarded-For`` and ``-Proto`` are the client's
#:   words, not its address: uvicorn believes them from 127.0.0.1 by default, so
#:   anything on the machine could pose as any client. Behind a proxy, turn them on
#:   (``forwarded_allow_ips`` names the proxy, and turns them on by itself).
#:
#: uvicorn has no timeout for reading a request's headers: a client that sends them
#: slowly holds its connection, and counts towards ``limit_concurrency``, for as long
#: as it likes. Facing the internet directly, a proxy in front (nginx's
#: ``client_header_timeout``) is what bounds that.
SERVER_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "http": "h11",
        "h11_max_incomplete_event_size": 16 * 1024,
        "limit_concurrency": 1000,
        "timeout_keep_alive": 5,
        "proxy_headers": False,
    }
)


def server_options(**options: Any) -> dict[str, Any]:
    """uvicorn's options: :data:`SERVER_DEFAULTS` with ``options`` over them.

    Naming the proxies to trust (``forwarded_allow_ips``) turns the proxy headers on.

    >>> server_options(timeout_keep_alive=10)["timeout_keep_alive"]
    10
    >>> server_options(forwarded_allow_ips="10.0.0.5")["proxy_headers"]
    True
    """
    merged = {**SERVER_DEFAULTS, **options}
    if options.get("forwarded_allow_ips") is not None and "proxy_headers" not in options:
        merged["proxy_headers"] = True
    return merged


class ServerStartError(AsgilabError, RuntimeError):
    """uvicorn did not start serving: it stopped at startup (its log says why)."""


class ServerStartTimeout(ServerStartError, TimeoutError):
    """uvicorn did not start serving within the time :meth:`Server.start` allows."""


class Server:
    """uvicorn serving ``app`` on ``host:port`` from a daemon thread.

    ``uvicorn_options`` go to ``uvicorn.Config`` over :data:`SERVER_DEFAULTS`.
    Binding the socket here, before uvicorn starts, is what makes ``port=0``
    (let the kernel pick a free port) race-free: the port is known and already
    listening when ``start`` returns.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lifespan: Literal["auto", "on", "off"] = "auto",
        log_level: str = "warning",
        **uvicorn_options: Any,
    ) -> None:
        self.app = app
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # PERF: name the protocol: asyncio sets TCP_NODELAY on accepted connections only when the
        # listening socket says IPPROTO_TCP, and without it every keep-alive request waits ~40 ms.
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self.port: int = self._socket.getsockname()[1]
            options = server_options(lifespan=lifespan, log_level=log_level, **uvicorn_options)
            config = uvicorn.Config(app, **options)
            self._server = uvicorn.Server(config)
        except BaseException:  # a port in use, an option uvicorn refuses: keep no socket
            self._socket.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Server:
        """Start serving; return once uvicorn has run the lifespan startup and accepts requests."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"asgilab-uvicorn-{self.port}",
            daemon=True,
        )
        # uvicorn leaves signal handling to the main thread when it runs in another one.
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._socket.close()  # no __exit__ follows a start that failed
                raise ServerStartError(f"uvicorn failed to start {self.url} (see its log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartTimeout(f"uvicorn did not start serving {self.url} in {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down and wait: requests in flight get ``timeout`` seconds to finish, then
        the lifespan shutdown runs (draining background work).

        A request still running at ``timeout`` is cancelled by uvicorn, which then runs
        the lifespan shutdown anyway; forcing it out instead would skip the shutdown, and
        with it the app's cleanup. Force is the last resort, for a shutdown that hangs.
        """
        config = self._server.config
        if config.timeout_graceful_shutdown is None:
            config.timeout_graceful_shutdown = math.ceil(timeout)  # uvicorn takes whole seconds
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(2 * timeout)  # the requests, then the lifespan shutdown
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        running = self._thread is not None and self._thread.is_alive()
        return f"Server(url={self.url!r}, running={running})"


def serve(app: ASGIApp, host: str = "127.0.0.1", port: int = 0, **options: Any) -> Server:
    """Create a :class:`Server` for ``app``; use it as a context manager or call ``start()``."""
    return Server(app, host, port, **options)
