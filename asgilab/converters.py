"""Converters: what a typed parameter such as ``{id:int}`` accepts, and what it turns into.

A converter is three things: a regular expression that decides whether one decoded path
segment is acceptable, a ``parse`` function that turns the accepted text into a value
(``"42"`` -> ``42``), and a ``format`` function that goes back (used by ``url_for``).

The built-in converters live in an immutable mapping; custom converters are registered
on a :class:`~asgilab.router.Router` instance, never in a module-global registry, so two
apps in one process cannot step on each other.

Every regex is matched against *one decoded segment* (the raw path is split on ``/``
before decoding), so ``str`` accepts any non-empty text, an encoded slash included.

>>> INT.accept("42"), INT.accept("-1"), INT.accept("\uff14\uff12")  # full-width "42"
(42, None, None)
>>> STR.accept("a/b"), STR.accept("")
('a/b', None)
>>> UUID.format(UUID.accept("12345678-1234-5678-1234-567812345678"))
'12345678-1234-5678-1234-567812345678'

Typed query access (``query.get("limit", type=int)``) finds its converter in
:data:`BY_TYPE`, so a query value and a path segment are held to one rule:

>>> converter, form, signed = BY_TYPE[converter_name(int)]
>>> converter is INT, converter.accept("5_0"), signed
(True, None, True)
"""

import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import InvalidArgument, excerpt

__all__ = [
    "BUILTIN_CONVERTERS",
    "BY_TYPE",
    "FLOAT",
    "INT",
    "PATH",
    "STR",
    "UUID",
    "Converter",
    "converter_name",
    "finite_float",
]

# Priority ranks: lower is tried first at a given position in the tree. The more a
# converter constrains its segment, the earlier it is tried, so `{id:int}` gets "42" before
# `{name}` does, whatever the registration order.
RANK_INT = 0
RANK_FLOAT = 1
RANK_OTHER = 2  # uuid and every custom converter
RANK_STR = 3
RANK_PATH = 4


def finite_float(text: str) -> float:
    """``float(text)``, refusing what overflows to inf (``"1" * 400``, ``1e309``) with
    :class:`~asgilab.errors.InvalidArgument` (a ``ValueError``, as a converter refuses): JSON
    cannot carry inf, so neither a path value nor a request body may."""
    value = float(text)
    if math.isinf(value):
        raise InvalidArgument(f"{excerpt(text)} is too large for a float")
    return value


def _format_float(value: Any) -> str:
    # NOTE: repr() gives the shortest text that round-trips ("0.1"), but uses exponents for
    # large and small numbers ("1e-07"), which the float regex refuses; Decimal spells
    # the same digits out in positional notation. It drops the point of 1e16 and up
    # ("10000000000000000"), which an {x:int} sibling would take: keep one.
    from decimal import Decimal  # here: building a URL is rare, importing asgilab is not

    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else text + ".0"


@dataclass(frozen=True, slots=True)
class Converter:
    """One kind of typed parameter, e.g. ``int`` in ``{id:int}``.

    ``regex`` must match the whole decoded segment (it is used with ``fullmatch``);
    ``parse`` may still refuse by raising ``ValueError`` or returning ``None`` (the segment
    then falls through to the next candidate route). ``format`` turns a value back into
    text for ``url_for``.

    >>> year = Converter("year", r"[0-9]{4}", parse=int)
    >>> year.accept("2024"), year.accept("24")
    (2024, None)
    >>> year.format(1999)
    '1999'
    """

    name: str
    regex: str
    parse: Callable[[str], Any] = str
    format: Callable[[Any], str] = str
    rank: int = RANK_OTHER
    # The compiled regex, derived from `regex` (not a constructor argument).
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.regex))

    def accept(self, text: str) -> Any:
        """The converted value of ``text``, or ``None`` when the converter refuses it."""
        if self.compiled.fullmatch(text) is None:
            return None
        try:
            return self.parse(text)
        except ValueError:
            return None

    def spans(self, text: str, start: int) -> list[tuple[int, int]] | None:
        """Where a value that starts at ``text[start]`` may end, known without trying each end.

        Intervals ``(low, high]`` of end positions, longest first: the regex takes
        ``text[start:end]`` for every ``end`` in them, and for no other (``[]``: nowhere).
        A mixed segment (``{name}.{ext:int}``) splits its text with them in linear time.
        ``None`` means the converter cannot say (a custom regex): each end is tried instead.

        >>> INT.spans("v12.5", 1), FLOAT.spans("v12.5", 1), STR.spans("v12.5", 1)
        ([(1, 3)], [(4, 5), (1, 3)], [(1, 5)])
        """
        return None


# NOTE: `int` takes ASCII digits only, no sign (like Starlette and matchit): "-1", "+1"
# and full-width digits (which Python's int() would accept) fall through to the next
# candidate. Leading zeros are accepted ("007" -> 7), so url_for(7) gives "7", not "007".
@dataclass(frozen=True, slots=True)
class _IntConverter(Converter):
    """``int``: the answers of its regex, ``[0-9]+``, from two str methods instead."""

    def accept(self, text: str) -> Any:
        # PERF: `int` is the commonest typed parameter, and two str methods cost much less
        # than the regex. isascii() first: isdigit() alone accepts full-width and other digits.
        if not (text.isascii() and text.isdigit()):
            return None
        try:
            return int(text)
        except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
            return None

    def spans(self, text: str, start: int) -> list[tuple[int, int]] | None:
        # Every non-empty run of digits: any end up to where the digits stop.
        end = _digits_end(text, start)
        return [(start, end)] if end > start else []


@dataclass(frozen=True, slots=True)
class _FloatConverter(Converter):
    """``float``: digits, then maybe a point and more digits."""

    def spans(self, text: str, start: int) -> list[tuple[int, int]] | None:
        point = _digits_end(text, start)
        if point == start:
            return []
        whole = [(start, point)]  # "1", "12": any end among the digits
        if text.startswith(".", point):
            end = _digits_end(text, point + 1)
            if end > point + 1:
                return [(point + 1, end), *whole]  # "12.5", longer first
        return whole


@dataclass(frozen=True, slots=True)
class _UuidConverter(Converter):
    """``uuid``: always 36 characters."""

    def spans(self, text: str, start: int) -> list[tuple[int, int]] | None:
        end = start + 36
        return [(end - 1, end)] if self.compiled.fullmatch(text, start, end) else []


@dataclass(frozen=True, slots=True)
class _StrConverter(Converter):
    """``str``: any non-empty text."""

    def spans(self, text: str, start: int) -> list[tuple[int, int]] | None:
        return [(start, len(text))]


_DIGITS = re.compile(r"[0-9]+")


def _digits_end(text: str, start: int) -> int:
    """Where the run of ASCII digits at ``text[start]`` stops (``start`` when there is none)."""
    found = _DIGITS.match(text, start)
    return found.end() if found is not None else start


INT = _IntConverter("int", r"[0-9]+", parse=int, rank=RANK_INT)
FLOAT = _FloatConverter(
    "float", r"[0-9]+(?:\.[0-9]+)?", parse=finite_float, format=_format_float, rank=RANK_FLOAT
)


def _parse_uuid(text: str) -> Any:
    """``uuid.UUID(text)``, the uuid module imported by the first UUID parsed: it is slow to
    import (it loads ``platform``), and an app without ``{x:uuid}`` routes never needs it."""
    import uuid

    return uuid.UUID(text)


UUID = _UuidConverter(
    "uuid",
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    parse=_parse_uuid,
    rank=RANK_OTHER,
)
# `(?s:...)`: a decoded segment may contain a newline (%0A); `str` still takes it.
STR = _StrConverter("str", r"(?s:.+)", rank=RANK_STR)
# The catch-all: zero or more characters of the rest of the path, slashes included.
PATH = Converter("path", r"(?s:.*)", rank=RANK_PATH)

BUILTIN_CONVERTERS: Mapping[str, Converter] = MappingProxyType(
    {c.name: c for c in (FLOAT, INT, PATH, STR, UUID)}
)

# NOTE: typed query access (`query.get("limit", type=int)`) accepts what the path converter
# of the same type accepts, through that converter's own accept(): "5_0", " 5 " and
# Arabic-Indic digits are refused in a query as in a path, although int() takes them. One
# difference, the third field: a query number may be negative ("?offset=-1", "?lat=-33.9"),
# where a path segment's may not. The text is how a 400 tells the client what would do.
BY_TYPE: Mapping[str, tuple[Converter, str, bool]] = MappingProxyType(
    {
        "int": (INT, "ASCII digits, such as 42", True),
        "float": (
            FLOAT,
            "ASCII digits with an optional decimal point, such as 2.5",
            True,
        ),
        "uuid": (
            UUID,
            "a hyphenated UUID, such as 12345678-1234-5678-1234-567812345678",
            False,
        ),
    }
)


def converter_name(type_: object) -> str | None:
    """The built-in converter that produces values of ``type_``: "int", "float", "uuid" or None.

    (``uuid.UUID`` is recognised without importing uuid: a caller that holds the class has
    imported it already.)

    >>> converter_name(int), converter_name(bool), converter_name(str)
    ('int', None, None)
    """
    if type_ is int:
        return "int"
    if type_ is float:
        return "float"
    uuid = sys.modules.get("uuid")
    if uuid is not None and type_ is uuid.UUID:
        return "uuid"
    return None
