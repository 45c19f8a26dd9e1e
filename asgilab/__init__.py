"""asgilab: a small, fast, correct ASGI web framework built to be explored."""

from .errors import (
    AsgilabError,
    HTTPException,
    InvalidPath,
    InvalidPattern,
    RouteConflict,
    URLBuildError,
)
from .server import Server, serve

__version__ = "0.1.0"

__all__ = [
    "AsgilabError",
    "HTTPException",
    "InvalidPath",
    "InvalidPattern",
    "RouteConflict",
    "Server",
    "URLBuildError",
    "serve",
]
