"""asgilab.errors: one root for every error, beside the builtin each one specialises."""

import importlib
import pkgutil
from collections.abc import Callable, Iterator

import pytest

import asgilab
from asgilab.background import BackgroundRunner, BackgroundTask
from asgilab.client import AsyncClient
from asgilab.converters import finite_float
from asgilab.datastructures import InvalidHeader
from asgilab.errors import AsgilabError, HTTPException, InvalidArgument, InvalidArgumentType
from asgilab.forms import FormLimits
from asgilab.handlers import body_limit
from asgilab.responses import RangeNotSatisfiable, Response, byte_range, safe_redirect_target
from asgilab.treeview import NodeNotFound, tree_view

# Every module of the package, except the one that runs the command line when imported.
MODULES = [
    info.name
    for info in pkgutil.iter_modules(asgilab.__path__, "asgilab.")
    if info.name != "asgilab.__main__"
]


def exception_classes() -> Iterator[type[BaseException]]:
    """Every exception class an asgilab module defines (not the ones it imports)."""
    for name in MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                yield value


def test_the_walk_finds_the_package_s_exceptions() -> None:
    found = {cls.__name__ for cls in exception_classes()}
    assert {"AsgilabError", "RouteConflict", "RangeNotSatisfiable", "LifespanError"} <= found


@pytest.mark.parametrize("cls", sorted(set(exception_classes()), key=lambda c: c.__qualname__))
def test_every_exception_derives_from_asgilab_error(cls: type[BaseException]) -> None:
    assert issubclass(cls, AsgilabError), (
        f"{cls.__module__}.{cls.__qualname__} does not derive from AsgilabError: "
        f"give it AsgilabError as its first base, beside the builtin it specialises"
    )


# What asgilab raises, with the builtin a caller may already catch: (call, class, builtin,
# whole message). The builtin stays, so `except ValueError` keeps working.
RAISES: list[tuple[Callable[[], object], type[AsgilabError], type[Exception], str]] = [
    (
        lambda: HTTPException(600),
        InvalidArgument,
        ValueError,
        "HTTP status codes run from 100 to 599, not 600",
    ),
    (
        lambda: HTTPException("400"),  # type: ignore[arg-type]
        InvalidArgumentType,
        TypeError,
        "HTTPException status_code must be an int, not '400'",
    ),
    (
        lambda: BackgroundTask(print).options(retries=-1),
        InvalidArgument,
        ValueError,
        "retries must be 0 or more, got -1",
    ),
    (
        lambda: BackgroundRunner(limit=0),
        InvalidArgument,
        ValueError,
        "background limit must be at least 1, got 0",
    ),
    (
        lambda: body_limit(1.5, "max_body_size"),
        InvalidArgumentType,
        TypeError,
        "max_body_size must be a whole number of bytes or None, not 1.5",
    ),
    (
        lambda: FormLimits(max_files=-1),
        InvalidArgumentType,
        TypeError,
        "max_files must be a whole number, 0 or more, not -1",
    ),
    (
        lambda: Response(b"x", status_code=204),
        InvalidArgument,
        ValueError,
        "a 204 response has no body, yet 1 bytes were given",
    ),
    (
        lambda: Response(b"abc", headers={"content-length": "5"}),
        InvalidHeader,
        ValueError,
        "content-length 5 does not match the 3-byte body",
    ),
    (
        lambda: Response({"a": 1}),
        InvalidArgumentType,
        TypeError,
        "Response content must be bytes, str or None, not dict; use JSONResponse for data",
    ),
    (
        lambda: Response().set_cookie("a", "b", max_age="3600"),  # type: ignore[arg-type]
        InvalidArgumentType,
        TypeError,
        "cookie max_age is a number of seconds, not '3600'",
    ),
    (
        lambda: safe_redirect_target("/x", fallback="https://evil.example"),
        InvalidArgument,
        ValueError,
        "fallback 'https://evil.example' is not a path on this site; "
        "give one that starts with a single '/', such as '/'",
    ),
    (lambda: byte_range("bytes=5000-", 10), RangeNotSatisfiable, ValueError, "bytes=5000-"),
    (lambda: finite_float("1e309"), InvalidArgument, ValueError, "1e309 is too large for a float"),
    (
        lambda: AsyncClient(lambda scope, receive, send: None, lifespan="maybe"),  # type: ignore[arg-type]
        InvalidArgument,
        ValueError,
        "lifespan='maybe': use 'auto', 'on' or 'off'",
    ),
    (
        lambda: tree_view(asgilab.Router().root).node("/nope"),
        NodeNotFound,
        KeyError,
        "'/nope'",
    ),
]


@pytest.mark.parametrize(("call", "cls", "builtin", "message"), RAISES)
def test_errors_keep_their_builtin_and_their_message(
    call: Callable[[], object], cls: type[AsgilabError], builtin: type[Exception], message: str
) -> None:
    with pytest.raises(cls) as raised:
        call()
    assert isinstance(raised.value, builtin)
    assert str(raised.value) == message
