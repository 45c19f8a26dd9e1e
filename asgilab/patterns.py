"""Route patterns: from the text ``/users/{id:int}`` to a structure the router can insert.

A pattern is split on ``/`` into segments, and each segment is one of four kinds:

* ``static`` — plain text (``users``);
* ``param`` — one whole-segment parameter (``{id:int}``, ``{name}`` which means ``{name:str}``);
* ``mixed`` — parameters mixed with text (``{name}.{ext}``, ``v{major:int}``, ``@{handle}``),
  whose text is split among the parameters as greedy regex groups would split it, but in
  steps linear in its length (:class:`MixedSearch`);
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

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from .converters import BUILTIN_CONVERTERS, Converter
from .errors import AsgilabError, InvalidPattern, URLBuildError

__all__ = [
    "MAX_MIXED_SEGMENT",
    "MIXED_STEPS_PER_CHAR",
    "MixedSearch",
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


# As find-my-way caps parameters (maxParamLength), a longer mixed segment is no match: mixed
# segments name files, and 255 characters is the longest name most file systems take.
MAX_MIXED_SEGMENT = 255
# What a mixed segment's search may cost: this many steps per character (and one more) per
# parameter. The built-in converters never need more than 3 (see MixedSearch); a custom one
# between two parameters may (its regex is tried end by end): the search stops there, no match.
MIXED_STEPS_PER_CHAR = 4
# MixedSearch: an answer not worked out yet (every real answer is a position, or -1).
_UNKNOWN = -2


class _Stop(AsgilabError):
    """MixedSearch reached its limit: the segment is no match, whatever is left to try.

    Internal: ``texts()`` catches it; rooted like every other error all the same."""


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
    # The parameters of this segment, in order.
    params: tuple[Param, ...] = field(init=False, repr=False)
    # Mixed segments: the text before the first parameter ("v" in "v{major:int}"), or "".
    lead: str = field(init=False, repr=False)
    # Mixed segments: the text after the last parameter (".json" in "{name}.json"), or "".
    tail: str = field(init=False, repr=False)
    # Mixed segments: the text between each parameter and the next ("." in "{name}.{ext}").
    seps: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        shape = "".join(
            p if isinstance(p, str) else "{" + p.converter.name + "}" for p in self.parts
        )
        params = tuple(p for p in self.parts if isinstance(p, Param))
        literal = sum(len(p) for p in self.parts if isinstance(p, str))
        key: SegmentKey
        if self.kind == "static":
            key = (0, 0, (), "")
        elif self.kind == "mixed":
            key = (1, -literal, tuple(p.converter.rank for p in params), shape)
        elif self.kind == "param":
            key = (2, params[0].converter.rank, (), params[0].converter.name)
        else:
            key = (3, 0, (), "")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", params)
        # Parameters never touch (the parser refuses "{a}{b}"): literals and parameters
        # alternate, so the literals are the lead, the separators and the tail.
        parts = self.parts if self.kind == "mixed" else ()
        lead = parts[0] if parts and isinstance(parts[0], str) else ""
        tail = parts[-1] if parts and isinstance(parts[-1], str) else ""
        inner = parts[1 if lead else 0 : len(parts) - 1 if tail else len(parts)]
        object.__setattr__(self, "lead", lead)
        object.__setattr__(self, "tail", tail)
        object.__setattr__(self, "seps", tuple(p for p in inner if isinstance(p, str)))

    @property
    def verbatim(self) -> bool:
        """Whether the value is the segment's text itself: a plain ``{name}``, nothing to convert.

        The router binds such values by position after the walk instead of during it.
        """
        return self.kind == "param" and self.params[0].converter.name == "str"

    def parse(self, text: str) -> list[Any] | None:
        """Mixed segments: the converted parameter values found in ``text``, or ``None``.

        Earlier parameters take as much text as they can (``{name}.{ext}`` on ``a.b.c``
        gives ``["a.b", "c"]``), as a regex with greedy groups would; :class:`MixedSearch`
        finds that split in steps linear in the length. Each converter then converts its
        text, and may refuse it: no match. A segment longer than :data:`MAX_MIXED_SEGMENT`
        is no match.
        """
        if len(text) > MAX_MIXED_SEGMENT:
            return None
        values = self._widest(text)
        if values is not None:
            return values
        texts = MixedSearch(self, text).texts()
        if texts is None:
            return None
        values = []
        for param, value_text in zip(self.params, texts):  # noqa: B905 (same length)
            value = param.converter.accept(value_text)
            if value is None:
                return None
            values.append(value)
        return values

    def _widest(self, text: str) -> list[Any] | None:
        """The values of the widest split the separators allow, if the converters take them.

        PERF: found right to left, each separator as far right as the ones after it let it
        be, this split gives each parameter, left to right, the most text any split can: if
        the converters take it, it is the answer, and the usual text ("report.pdf") needs no
        search. ``None``: the search decides (see :class:`MixedSearch`).
        """
        start, end = len(self.lead), len(text) - len(self.tail)
        if not (start < end and text.startswith(self.lead) and text.endswith(self.tail)):
            return None
        texts = []
        for sep in reversed(self.seps):
            at = text.rfind(sep, start + 1, end - 1)  # a character at least on each side
            if at < 0:
                return None
            texts.append(text[at + len(sep) : end])
            end = at
        texts.append(text[start:end])
        values = []
        for param, value_text in zip(self.params, reversed(texts)):  # noqa: B905
            value = param.converter.accept(value_text)
            if value is None:
                return None
            values.append(value)
        return values


class MixedSearch:
    """How one text splits among the parameters of a mixed segment, found in linear steps.

    The answer is the one a regex with one greedy group per parameter would give: left to
    right, each parameter takes the longest text after which the rest of the segment still
    fits (so ``{name}.{ext}`` splits ``a.b.c`` after ``a.b``); each takes one character at
    least, and only text its converter's regex takes (``parse`` converts it afterwards).

    >>> segment = parse_pattern("/{name}.{ext:int}").segments[0]
    >>> search = MixedSearch(segment, "a.1.b.2")
    >>> search.texts(), search.steps
    (['a.1.b', '2'], 6)

    The regex found its answer by trying splits and backtracking, in time that grows as a
    power of the length (the number of parameters): 19 s of CPU for 255 characters and
    five parameters. This search keeps what it learns instead, in three parts:

    * ``found[j]``: where separator ``j`` occurs, the only places parameter ``j`` can end;
    * ``end(j, start)``: where parameter ``j`` ends when it starts at ``start``: the
      largest end its converter takes (:meth:`~asgilab.converters.Converter.spans` gives
      them as intervals) that is an occurrence of separator ``j`` after which the rest
      fits, that is, ``best(j, high)`` for the highest interval that has one; ``-1``: none;
    * ``best(j, high)``: the last occurrence of separator ``j`` at or before ``high`` after
      which parameter ``j + 1`` has an end. It walks down the occurrences and gives each
      one it passes the answer it finds, so none is ever walked twice.

    Both remember their answers. What ``steps`` counts: an occurrence found, an ``end``
    worked out, an occurrence walked, a regex tried. Each occurrence of a separator is found
    once, walked once and starts one ``end``, so with the built-in converters a text of n
    characters costs at most ``3·n·(k - 1) + 1`` steps for k parameters: linear in the
    length, whatever the number of parameters (each step makes one C call at most, over n
    characters at most).
    A custom converter has no spans: between two parameters its regex is tried at each end
    the rest can follow, which an adversarial text makes quadratic, so past
    ``MIXED_STEPS_PER_CHAR·(n + 1)·k`` steps the search stops, and the segment is no match.
    """

    def __init__(self, segment: Segment, text: str) -> None:
        self.text = text
        self.params = segment.params
        self.seps = segment.seps
        # Where the first parameter starts, and where the last one ends.
        self.start = len(segment.lead)
        self.stop = len(text) - len(segment.tail)
        self.steps = 0
        self.limit = MIXED_STEPS_PER_CHAR * (len(text) + 1) * len(self.params)
        # Whether the search stopped at the limit (no match, whatever it found).
        self.stopped = False
        self.fits = text.startswith(segment.lead) and text.endswith(segment.tail)
        self.fits = self.fits and self.start < self.stop
        # Where each separator occurs, with a parameter's character at least on each side.
        self.found: list[list[int]] = []
        for sep in self.seps if self.fits else ():
            at: list[int] = []
            p = text.find(sep, self.start + 1, self.stop - 1)
            while p >= 0:
                self.steps += 1
                at.append(p)
                p = text.find(sep, p + 1, self.stop - 1)
            self.found.append(at)
        # best()'s answer for each occurrence, and end()'s for each start, once worked out.
        self.known = [[_UNKNOWN] * len(at) for at in self.found]
        self.ends: list[dict[int, int]] = [{} for _ in self.params]

    def texts(self) -> list[str] | None:
        """The text of each parameter, left to right, or ``None`` when the segment does not fit."""
        if not self.fits or self.stopped:
            return None
        out = []
        start = self.start
        for j, sep in enumerate((*self.seps, "")):
            try:
                end = self.end(j, start)  # the first call searches; the next ones remember
            except _Stop:
                self.stopped = True
                return None
            if end < 0:
                return None
            out.append(self.text[start:end])
            start = end + len(sep)
        return out

    def end(self, j: int, start: int) -> int:
        """Where parameter ``j`` ends when it starts at ``start`` (the longest end after which
        the rest of the segment fits), or ``-1``."""
        ends = self.ends[j]
        end = ends.get(start, _UNKNOWN)
        if end != _UNKNOWN:
            return end
        self.steps += 1
        converter = self.params[j].converter
        end = -1
        if j == len(self.seps):
            # The last parameter ends where the tail starts: one end to check.
            if start < self.stop and converter.compiled.fullmatch(self.text[start : self.stop]):
                end = self.stop
        else:
            spans = converter.spans(self.text, start)
            if spans is None:
                end = self._try_each_end(j, start)
            else:
                for low, high in spans:  # longest first
                    found = self.best(j, high)
                    if found > low:
                        end = found
                        break
        ends[start] = end
        return end

    def best(self, j: int, high: int) -> int:
        """The last occurrence of separator ``j`` at or before ``high`` after which parameter
        ``j + 1`` has an end, or ``-1``."""
        found = self.found[j]
        known = self.known[j]
        top = bisect_right(found, high) - 1
        i = top
        while i >= 0 and known[i] == _UNKNOWN:
            self.steps += 1
            if self.end(j + 1, found[i] + len(self.seps[j])) >= 0:
                known[i] = found[i]
                break
            i -= 1
        answer = known[i] if i >= 0 else -1
        for passed in range(i + 1, top + 1):
            known[passed] = answer  # what is below them is below them all: never walk again
        return answer

    def _try_each_end(self, j: int, start: int) -> int:
        """end() for a converter without spans: its regex on each end the rest can follow."""
        regex = self.params[j].converter.compiled
        end = self.best(j, self.stop)
        while end > start:
            self.steps += 1
            if self.steps > self.limit:
                raise _Stop
            if regex.fullmatch(self.text[start:end]) is not None:
                return end
            end = self.best(j, end - 1)
        return -1


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
        shortest = len(params) + sum(len(p) for p in parts if isinstance(p, str))
        if shortest > MAX_MIXED_SEGMENT:
            # (It would never match; refusing it also bounds MixedSearch's recursion.)
            raise _error(
                f"segment '{text}' of {path!r} can never match: it needs {shortest} characters"
                f" at least, and a segment that mixes text and parameters is no match past"
                f" {MAX_MIXED_SEGMENT} (split it into several segments)",
                path,
                offset,
            )
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
