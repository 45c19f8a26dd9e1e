"""Every error asgilab raises, rooted in one class.

Configuration mistakes (a bad pattern, two routes that clash) fail loudly at
registration time, with a message that quotes the offending pattern. Errors a
*client* causes become HTTP answers instead: :class:`HTTPException` carries the
status code the App sends back.

Each error also derives from the builtin exception it specialises, so code that
catches ``ValueError`` or ``TypeError`` keeps working, and ``except AsgilabError``
catches everything asgilab raises. The errors of one concept live in its module
(``asgilab.client.LifespanError``, ``asgilab.responses.RangeNotSatisfiable``); those
shared by several live here.

>>> issubclass(InvalidArgument, ValueError), issubclass(InvalidArgument, AsgilabError)
(True, True)
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

__all__ = [
    "AsgilabError",
    "BodyConsumed",
    "ClientDisconnect",
    "HTTPException",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidHandler",
    "InvalidPath",
    "InvalidPattern",
    "InvalidReturn",
    "RouteConflict",
    "URLBuildError",
]


def excerpt(text: str, limit: int = 40) -> str:
    """At most ``limit`` characters of ``text``: error messages quote client input, and a
    64 KiB path segment must not come back as a 64 KiB 400 body.

    >>> excerpt("x" * 100, limit=5)
    'xxxxx...'
    """
    return text if len(text) <= limit else text[:limit] + "..."


class AsgilabError(Exception):
    """Base class of every error raised by asgilab, so one ``except`` catches them all."""


class BodyConsumed(AsgilabError, RuntimeError):
    """``stream()`` was already iterated, so the body is gone (read it with ``body()`` instead)."""


class ClientDisconnect(AsgilabError, ConnectionError):
    """The client went away while the app was still reading the body."""


class InvalidArgument(AsgilabError, ValueError):
    """An argument has a value asgilab cannot use: a negative limit, an unknown mode, a
    body for a 204. The message names the argument, the value and what would do."""


class InvalidArgumentType(AsgilabError, TypeError):
    """An argument is of a type asgilab cannot use: a float where a whole number of bytes
    goes, a dict as a plain response's content. The message names both."""


class InvalidHandler(AsgilabError, TypeError):
    """A handler's signature does not fit its route (it requires a parameter the path lacks)."""


class InvalidReturn(AsgilabError, TypeError):
    """A handler returned something the App cannot send (the client gets a 500)."""


class InvalidPattern(AsgilabError, ValueError):
    """A route pattern such as ``/users/{id:int}`` cannot be parsed."""


class RouteConflict(AsgilabError, ValueError):
    """A new route would match exactly the same requests as one already registered."""


class URLBuildError(AsgilabError, LookupError):
    """``url_for`` was given an unknown route name or missing or invalid parameters."""


class InvalidPath(AsgilabError, ValueError):
    """A request path cannot be decoded (bad percent-encoding, bytes that are not UTF-8).

    The App answers it with 400 Bad Request: it is the client's mistake, not the app's.
    """


def _phrase(status_code: int) -> str:
    """The reason phrase of a status, or its class's for a code without one (499, 599)."""
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:  # e.g. nginx's 499 "client closed request"
        return {4: "Client Error", 5: "Server Error"}.get(status_code // 100, "Status")


class HTTPException(AsgilabError):
    """Raise it in a handler to answer with an HTTP error status.

    ``detail`` is any JSON value: text is sent as ``text/plain``, a dict or a list as
    JSON (by the App's default answer; an exception handler may shape it otherwise).
    Whatever is set on it later, the App still answers (see :mod:`asgilab.app`).

    >>> HTTPException(404)
    HTTPException(status_code=404, detail='Not Found')
    >>> HTTPException(400, detail="tag must be an integer").detail
    'tag must be an integer'
    >>> HTTPException(422, {"field": "title", "problem": "missing"}).detail["field"]
    'title'
    >>> HTTPException(499).detail  # a code without a phrase of its own
    'Client Error'
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if type(status_code) is not int:
            raise InvalidArgumentType(
                f"HTTPException status_code must be an int, not {status_code!r}"
            )
        if not 100 <= status_code <= 599:
            raise InvalidArgument(f"HTTP status codes run from 100 to 599, not {status_code}")
        if detail is None:
            detail = _phrase(status_code)
        super().__init__(status_code, detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers else {}

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"
