"""Route patterns: from the text ``/users/{id:int}`` to a structure the router can insert.

A pattern is split on ``/`` into segments, and each segment is one of four kinds:

* ``static`` — plain text (``users``);
* ``param`` — one whole-segment parameter (``{id:int}``, ``{name}`` which means ``{name:str}``);
* ``mixed`` — parameters mixed with text (``{name}.{ext}``, ``v{major:int}``, ``@{handle}``);
* ``catch_all`` — ``{rest:path}``, only as the whole last segment: the rest of the path.

Each segment has a *shape* (the text with parameter names erased, converters kept:
``{str}.{str}``) and a priority *key*. Two routes conflict when their whole shapes are equal;
at each position the router tries segments in key order: static first, then mixed (more
literal characters first), then params by converter (int, float, others, str), then the
catch-all.

Pattern text is taken literally (it is the *decoded* form: write ``/café``, not
``/caf%C3%A9``); braces always delimit a parameter, so literal ``{`` and ``}`` cannot appear.

>>> p = parse_pattern("/files/{name}.{ext}")
>>> [s.kind for s in p.segments]
['static', 'mixed']
>>> p.shape
'/files/{str}.{str}'
>>> p.build({"name": "report", "ext": "pdf"})
'/files/report.pdf'
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from .converters import BUILTIN_CONVERTERS, Converter
from .errors import InvalidPattern, URLBuildError

__all__ = [
    "MAX_MIXED_SEGMENT",
    "Param",
    "Pattern",
    "Segment",
    "SegmentKind",
    "parse_pattern",
]

SegmentKind = Literal["static", "param", "mixed", "catch_all"]

# Priority key of a segment: (kind class, -literal characters, converter ranks, tie-break).
# Tuples compare left to right, so this orders static < mixed < param < catch-all, mixed
# segments with more text first, params by converter rank. The last field only makes the
# order total (and therefore independent of registration order).
SegmentKey = tuple[int, int, tuple[int, ...], str]

# Characters that may stay unescaped in a path segment (RFC 3986 `pchar`, minus `%`);
# quote() keeps letters, digits and "-._~" by itself.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter in a pattern: ``{id:int}`` is ``Param("id", INT)``."""

    name: str
    converter: Converter

    def __str__(self) -> str:
        if self.converter.name == "str":
            return "{" + self.name + "}"
        return "{" + self.name + ":" + self.converter.name + "}"


# A mixed segment is matched by a regex whose groups backtrack, so a long segment that
# almost matches costs polynomial time: cubic with three parameters, seconds for 2,000
# characters. As find-my-way caps parameters (maxParamLength), a longer one is no match:
# mixed segments name files, and 255 characters is the longest name most file systems take.
MAX_MIXED_SEGMENT = 255


@dataclass(frozen=True, slots=True)
class Segment:
    """One ``/``-separated piece of a pattern, as a tuple of text and :class:`Param` parts."""

    kind: SegmentKind
    # The segment as written, e.g. "{name}.{ext}".
    text: str
    # Literal text and parameters in order, e.g. (Param("name", STR), ".", Param("ext", STR)).
    parts: tuple[str | Param, ...]
    # The segment with names erased, e.g. "{str}.{str}": equal shapes match the same text.
    shape: str = field(init=False)
    # Priority among siblings in the tree (smaller is tried first).
    key: SegmentKey = field(init=False)
    # Mixed segments only: a regex with one group per parameter (p0, p1, ...).
    regex: re.Pattern[str] | None = field(init=False, repr=False)
    # Mixed segments only: each parameter with the name of its group in ``regex``.
    groups: tuple[tuple[str, Param], ...] = field(init=False, repr=False)
    # The parameters of this segment, in order.
    params: tuple[Param, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        shape = "".join(
            p if isinstance(p, str) else "{" + p.converter.name + "}" for p in self.parts
        )
        params = tuple(p for p in self.parts if isinstance(p, Param))
        literal = sum(len(p) for p in self.parts if isinstance(p, str))
        key: SegmentKey
        regex = None
        if self.kind == "static":
            key = (0, 0, (), "")
        elif self.kind == "mixed":
            key = (1, -literal, tuple(p.converter.rank for p in params), shape)
            regex = re.compile(
                "".join(
                    re.escape(p) if isinstance(p, str) else f"(?P<p{i}>{p.converter.regex})"
                    for i, p in enumerate(self.parts)
                )
            )
        elif self.kind == "param":
            key = (2, params[0].converter.rank, (), params[0].converter.name)
        else:
            key = (3, 0, (), "")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "regex", regex)
        object.__setattr__(self, "params", params)
        groups = tuple((f"p{i}", p) for i, p in enumerate(self.parts) if isinstance(p, Param))
        object.__setattr__(self, "groups", groups if regex is not None else ())

    def _literals_fit(self, text: str) -> bool:
        """Whether the literal parts occur in ``text`` in order, each parameter between
        them given at least one character: what any match needs, found in linear time.

        PERF: the regex backtracks through every split before it fails, in time that grows
        as a power of the length (the number of parameters); most texts that cannot match
        fail here first. With plain ``{name}`` parameters only, passing this is a match.
        """
        at = 0
        parts = self.parts
        for i, part in enumerate(parts):
            if not isinstance(part, str):
                at += 1  # a parameter takes one character at least
                continue
            found = text.find(part, at) if i else (0 if text.startswith(part) else -1)
            if found < 0:
                return False
            at = found + len(part)
        last = parts[-1]
        return at <= len(text) and (not isinstance(last, str) or text.endswith(last))

    @property
    def verbatim(self) -> bool:
        """Whether the value is the segment's text itself: a plain ``{name}``, nothing to convert.

        The router binds such values by position after the walk instead of during it.
        """
        return self.kind == "param" and self.params[0].converter.name == "str"

    def parse(self, text: str) -> list[Any] | None:
        """Mixed segments: the converted parameter values found in ``text``, or ``None``.

        Earlier parameters take as much text as they can (``{name}.{ext}`` on ``a.b.c``
        gives ``["a.b", "c"]``), as a regex with greedy groups would. A segment longer
        than :data:`MAX_MIXED_SEGMENT` is no match.
        """
        if len(text) > MAX_MIXED_SEGMENT or not self._literals_fit(text):
            return None
        m = self.regex.fullmatch(text) if self.regex is not None else None
        if m is None:
            return None
        values = []
        for group, param in self.groups:
            text = m.group(group)
            value = param.converter.accept(text) if text else None  # never empty
            if value is None:
                return None
            values.append(value)
        return values


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed route pattern: its text, its segments and its parameters."""

    path: str
    segments: tuple[Segment, ...]
    # Every parameter, left to right (the order values are bound while matching).
    params: tuple[Param, ...] = field(init=False, repr=False)
    # The parameter names, left to right.
    names: tuple[str, ...] = field(init=False, repr=False)
    # True when the pattern has no parameter at all.
    is_static: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        params = tuple(p for s in self.segments for p in s.params)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "names", tuple(p.name for p in params))
        object.__setattr__(self, "is_static", not params)

    @property
    def shape(self) -> str:
        """The pattern with names erased: ``/u/{id}`` and ``/u/{name}`` are both ``/u/{str}``."""
        return "/" + "/".join(s.shape for s in self.segments)

    def build(self, values: Mapping[str, Any], what: str = "") -> str:
        """The percent-encoded path for these parameter values (the heart of ``url_for``).

        Each value goes through its converter's ``format`` and must then be accepted by the
        converter again, so ``url_for`` never builds a URL that would not route back.

        >>> try:
        ...     parse_pattern("/users/{id:int}").build({"id": "x"})
        ... except URLBuildError as exc:
        ...     print(exc)
        invalid value 'x' for parameter 'id' ({id:int}) of '/users/{id:int}': int accepts [0-9]+
        """
        what = what or repr(self.path)
        names = self.names
        missing = [n for n in names if n not in values]
        if missing:
            listed = ", ".join(repr(n) for n in missing)
            raise URLBuildError(f"missing parameter {listed} for {what}")
        extra = [n for n in values if n not in names]
        if extra:
            listed = ", ".join(repr(n) for n in extra)
            known = ", ".join(repr(n) for n in names) or "none"
            raise URLBuildError(f"unexpected parameter {listed} for {what} (it takes: {known})")
        out = []
        for segment in self.segments:
            texts = []
            for part in segment.parts:
                if isinstance(part, str):
                    texts.append(part)
                    continue
                texts.append(_format_value(part, values[part.name], what))
            if segment.kind == "mixed":
                # Greedy parameters may split the text differently from how it was built
                # ({a}.{b} with a="x", b="y.z" reads back as a="x.y", b="z"): refuse that.
                joined = "".join(texts)
                wanted = [
                    part.converter.accept(t)
                    for t, part in zip(texts, segment.parts, strict=True)
                    if isinstance(part, Param)
                ]
                if segment.parse(joined) != wanted:
                    given = ", ".join(f"{p.name}={values[p.name]!r}" for p in segment.params)
                    raise URLBuildError(
                        f"{given} for '{segment.text}' of {what} would not match back:"
                        f" {joined!r} splits differently"
                    )
            text = "".join(texts)
            pieces = text.split("/") if segment.kind == "catch_all" else [text]
            if "." in pieces or ".." in pieces:
                # Clients resolve dot segments before sending (RFC 3986, 5.2.4), and %2E
                # does not stop WHATWG parsers: /files/.. would arrive as /.
                raise URLBuildError(
                    f"{text!r} for '{segment.text}' of {what} has a '.' or"
                    " '..' segment, which clients remove from a URL"
                )
            safe = _SEGMENT_SAFE + "/" if segment.kind == "catch_all" else _SEGMENT_SAFE
            try:
                out.append(quote(text, safe=safe))
            except UnicodeEncodeError as exc:  # a lone surrogate ('\ud800') has no UTF-8
                raise URLBuildError(f"{text!r} for '{segment.text}' of {what}: {exc}") from None
        path = "/" + "/".join(out)
        if path.startswith("//"):
            # A browser reads //host/x as another host: an open redirect in a Location.
            raise URLBuildError(f"{path!r} for {what} starts with '//', which names a host")
        return path


def _format_value(param: Param, value: Any, what: str) -> str:
    """``value`` as text for ``param``, checked against its converter."""
    converter = param.converter
    try:
        text = converter.format(value)
    except (TypeError, ValueError) as exc:
        raise URLBuildError(
            f"invalid value {value!r} for parameter '{param.name}' ({param}) of {what}: {exc}"
        ) from None
    if converter.compiled.fullmatch(text) is None or converter.accept(text) is None:
        accepted = converter.regex
        raise URLBuildError(
            f"invalid value {value!r} for parameter '{param.name}' ({param}) of {what}:"
            f" {converter.name} accepts {accepted}"
        )
    return text


def _error(message: str, path: str, column: int) -> InvalidPattern:
    """An InvalidPattern whose message shows the pattern with a caret under ``column``."""
    return InvalidPattern(f"{message}\n    {path}\n    {' ' * column}^")


def parse_pattern(
    path: str,
    converters: Mapping[str, Converter] = BUILTIN_CONVERTERS,
    cache: dict[str, Segment] | None = None,
) -> Pattern:
    """Parse ``path`` into a :class:`Pattern`, or raise :class:`InvalidPattern` saying where.

    ``cache`` (segment text -> Segment, for one set of converters) lets a router parse each
    distinct segment once: segments are immutable, and big route sets repeat them a lot.

    >>> try:
    ...     parse_pattern("/a/{id:uuid4}")
    ... except InvalidPattern as exc:
    ...     print(exc)
    unknown converter 'uuid4' in '/a/{id:uuid4}' (known: float, int, path, str, uuid)
        /a/{id:uuid4}
               ^
    """
    if not path.startswith("/"):
        raise _error(f"pattern {path!r} must start with '/'", path, 0)
    segments: list[Segment] = []
    seen: set[str] = set()
    start = 1  # column where the current segment starts
    while True:
        end = path.find("/", start)
        text = path[start:] if end < 0 else path[start:end]
        segment = cache.get(text) if cache is not None else None
        if segment is None or not seen.isdisjoint(p.name for p in segment.params):
            # Not cached, or a name clash: parse (again), so that errors point at this pattern.
            segment = _parse_segment(path, text, start, converters, seen)
            if cache is not None:
                cache[text] = segment
        else:
            seen.update(p.name for p in segment.params)
        if segment.kind == "catch_all" and end >= 0:
            raise _error(
                f"catch-all '{segment.text}' must be the whole last segment in {path!r}",
                path,
                start,
            )
        segments.append(segment)
        if end < 0:
            break
        start = end + 1
    return Pattern(path, tuple(segments))


def _parse_segment(
    path: str, text: str, offset: int, converters: Mapping[str, Converter], seen: set[str]
) -> Segment:
    """Parse one segment (``text`` starts at column ``offset`` of ``path``)."""
    parts: list[str | Param] = []
    i = 0
    while i < len(text):
        if text[i] == "}":
            raise _error(f"unmatched '}}' in {path!r}", path, offset + i)
        if text[i] != "{":
            j = i
            while j < len(text) and text[j] not in "{}":
                j += 1
            parts.append(text[i:j])
            i = j
            continue
        close = text.find("}", i)
        nested = text.find("{", i + 1)
        if close < 0 or (0 <= nested < close):
            raise _error(f"unclosed '{{' in {path!r}", path, offset + i)
        parts.append(_parse_param(path, text[i + 1 : close], offset + i + 1, converters, seen))
        if len(parts) >= 2 and isinstance(parts[-2], Param):
            raise _error(
                f"parameters '{parts[-2]}' and '{parts[-1]}' need literal text between them"
                f" in {path!r}",
                path,
                offset + i,
            )
        i = close + 1
    params = [p for p in parts if isinstance(p, Param)]
    catch_all = [p for p in params if p.converter.name == "path"]
    if catch_all and len(parts) > 1:
        raise _error(
            f"catch-all '{catch_all[0]}' must be the whole last segment in {path!r}",
            path,
            offset + text.index("{" + catch_all[0].name),
        )
    kind: SegmentKind
    if not params:
        kind = "static"
    elif len(parts) > 1:
        kind = "mixed"
    else:
        kind = "catch_all" if catch_all else "param"
    return Segment(kind, text, tuple(parts))


def _parse_param(
    path: str, inside: str, column: int, converters: Mapping[str, Converter], seen: set[str]
) -> Param:
    """Parse ``name`` or ``name:converter`` (the text between braces, at ``column``)."""
    name, colon, conv_name = inside.partition(":")
    if not name:
        raise _error(f"empty parameter name in {path!r}", path, column)
    if not name.isidentifier():
        raise _error(
            f"parameter name {name!r} is not a Python identifier in {path!r}", path, column
        )
    if name in seen:
        raise _error(
            f"duplicate parameter name {name!r} in {path!r} (rename one of them)", path, column
        )
    seen.add(name)
    if not colon:
        conv_name = "str"
    converter = converters.get(conv_name)
    if converter is None:
        known = ", ".join(sorted(converters))
        raise _error(
            f"unknown converter {conv_name!r} in {path!r} (known: {known})",
            path,
            column + len(name) + 1,
        )
    return Param(name, converter)
