"""Parsing route patterns: segment kinds, shapes, priority keys, errors and URL building."""

import re
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from asgilab.converters import BUILTIN_CONVERTERS, FLOAT, INT, PATH, STR, UUID, Converter
from asgilab.errors import InvalidPattern, URLBuildError
from asgilab.patterns import (
    MAX_MIXED_SEGMENT,
    MIXED_STEPS_PER_CHAR,
    MixedSearch,
    Segment,
    parse_pattern,
)


@pytest.mark.parametrize(
    ("pattern", "kinds", "shape"),
    [
        ("/", ["static"], "/"),
        ("/users", ["static"], "/users"),
        ("/users/", ["static", "static"], "/users/"),
        ("/users/{id}", ["static", "param"], "/users/{str}"),
        ("/users/{id:str}", ["static", "param"], "/users/{str}"),
        ("/users/{id:int}", ["static", "param"], "/users/{int}"),
        ("/files/{name}.{ext}", ["static", "mixed"], "/files/{str}.{str}"),
        ("/v{major:int}/status", ["mixed", "static"], "/v{int}/status"),
        ("/@{handle}", ["mixed"], "/@{str}"),
        ("/files/{rest:path}", ["static", "catch_all"], "/files/{path}"),
        ("/{rest:path}", ["catch_all"], "/{path}"),
        ("/a//b", ["static", "static", "static"], "/a//b"),
        ("/café", ["static"], "/café"),
        ("/{u:uuid}/{x:float}", ["param", "param"], "/{uuid}/{float}"),
    ],
)
def test_segment_kinds_and_shape(pattern: str, kinds: list[str], shape: str) -> None:
    parsed = parse_pattern(pattern)
    assert [s.kind for s in parsed.segments] == kinds
    assert parsed.shape == shape
    assert parsed.path == pattern


def test_params_and_names_in_order() -> None:
    parsed = parse_pattern("/v{major:int}/{name}.{ext}/{rest:path}")
    assert parsed.names == ("major", "name", "ext", "rest")
    assert [p.converter for p in parsed.params] == [INT, STR, STR, PATH]
    assert [str(p) for p in parsed.params] == ["{major:int}", "{name}", "{ext}", "{rest:path}"]


def test_priority_keys_order_segment_kinds() -> None:
    """static < mixed (more text first) < int < float < uuid/custom < str < catch-all."""
    texts = [
        "users",
        "{a}.tar.gz",
        "{a}.{b}",
        "{a:int}",
        "{a:float}",
        "{a:uuid}",
        "{a}",
        "{a:path}",
    ]
    keys = [parse_pattern("/" + t).segments[0].key for t in texts]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("users", "pattern 'users' must start with '/'\n    users\n    ^"),
        ("", "pattern '' must start with '/'\n    \n    ^"),
        ("/a/{id", "unclosed '{' in '/a/{id'\n    /a/{id\n       ^"),
        ("/a/{id/b}", "unclosed '{' in '/a/{id/b}'\n    /a/{id/b}\n       ^"),
        ("/a/{{id}}", "unclosed '{' in '/a/{{id}}'\n    /a/{{id}}\n       ^"),
        ("/a/id}", "unmatched '}' in '/a/id}'\n    /a/id}\n         ^"),
        ("/a/{}", "empty parameter name in '/a/{}'\n    /a/{}\n        ^"),
        ("/a/{:int}", "empty parameter name in '/a/{:int}'\n    /a/{:int}\n        ^"),
        (
            "/a/{1a}",
            "parameter name '1a' is not a Python identifier in '/a/{1a}'\n    /a/{1a}\n        ^",
        ),
        (
            "/a/{user id}",
            "parameter name 'user id' is not a Python identifier in '/a/{user id}'\n"
            "    /a/{user id}\n        ^",
        ),
        (
            "/a/{id:uuid4}",
            "unknown converter 'uuid4' in '/a/{id:uuid4}' (known: float, int, path, str, uuid)\n"
            "    /a/{id:uuid4}\n           ^",
        ),
        (
            "/{id}/{id:int}",
            "duplicate parameter name 'id' in '/{id}/{id:int}' (rename one of them)\n"
            "    /{id}/{id:int}\n           ^",
        ),
        (
            "/a/{rest:path}/b",
            "catch-all '{rest:path}' must be the whole last segment in '/a/{rest:path}/b'\n"
            "    /a/{rest:path}/b\n       ^",
        ),
        (
            "/a/x{rest:path}",
            "catch-all '{rest:path}' must be the whole last segment in '/a/x{rest:path}'\n"
            "    /a/x{rest:path}\n        ^",
        ),
        (
            "/{a}{b:int}",
            "parameters '{a}' and '{b:int}' need literal text between them in '/{a}{b:int}'\n"
            "    /{a}{b:int}\n        ^",
        ),
        (
            "/x/" + "a" * 253 + "{a}.{b}",
            f"segment '{'a' * 253}{{a}}.{{b}}' of '/x/{'a' * 253}{{a}}.{{b}}' can never match:"
            " it needs 256 characters at least, and a segment that mixes text and parameters"
            f" is no match past 255 (split it into several segments)\n    /x/{'a' * 253}{{a}}.{{b}}"
            "\n       ^",
        ),
    ],
)
def test_invalid_patterns(pattern: str, message: str) -> None:
    with pytest.raises(InvalidPattern) as info:
        parse_pattern(pattern)
    assert str(info.value) == message


def test_custom_converter_known_in_messages() -> None:
    converters = {**BUILTIN_CONVERTERS, "year": Converter("year", r"[0-9]{4}", parse=int)}
    with pytest.raises(InvalidPattern, match=r"\(known: float, int, path, str, uuid, year\)"):
        parse_pattern("/{y:years}", converters)
    assert parse_pattern("/{y:year}", converters).shape == "/{year}"


@pytest.mark.parametrize(
    ("converter", "text", "value"),
    [
        (INT, "42", 42),
        (INT, "007", 7),
        (INT, "-1", None),
        (INT, "+1", None),
        (INT, "1_000", None),
        (INT, "\uff14\uff12", None),  # full-width digits: int() takes them, we do not
        (INT, "", None),
        (FLOAT, "1.5", 1.5),
        (FLOAT, "3", 3.0),
        (FLOAT, "1.", None),
        (FLOAT, ".5", None),
        (FLOAT, "1e5", None),
        (FLOAT, "nan", None),
        (
            UUID,
            "12345678-1234-5678-1234-567812345678",
            uuid.UUID(int=0x12345678123456781234567812345678),
        ),
        (UUID, "12345678123456781234567812345678", None),
        (STR, "a/b", "a/b"),
        (STR, "line\nbreak", "line\nbreak"),
        (STR, "", None),
        (PATH, "", ""),
        (PATH, "a//b", "a//b"),
    ],
)
def test_converters_accept(converter: Converter, text: str, value: object) -> None:
    assert converter.accept(text) == value


@pytest.mark.parametrize(
    ("pattern", "values", "url"),
    [
        ("/users/{id:int}", {"id": 42}, "/users/42"),
        ("/users/{id:int}", {"id": "42"}, "/users/42"),
        ("/files/{name}", {"name": "a b/c"}, "/files/a%20b%2Fc"),
        ("/files/{name}", {"name": "café"}, "/files/caf%C3%A9"),
        ("/files/{name}", {"name": "100%"}, "/files/100%25"),
        ("/files/{name}", {"name": "a+b@c:d"}, "/files/a+b@c:d"),
        ("/files/{name}.{ext}", {"name": "report", "ext": "pdf"}, "/files/report.pdf"),
        ("/files/{name}.{ext}", {"name": "a.b", "ext": "c"}, "/files/a.b.c"),
        ("/v{major:int}/status", {"major": 2}, "/v2/status"),
        ("/static/{rest:path}", {"rest": "css/site.css"}, "/static/css/site.css"),
        ("/static/{rest:path}", {"rest": ""}, "/static/"),
        ("/static/{rest:path}", {"rest": "a b/c?d"}, "/static/a%20b/c%3Fd"),
        ("/café/{x:float}", {"x": 0.1}, "/caf%C3%A9/0.1"),
        ("/p/{x:float}", {"x": 1e-7}, "/p/0.0000001"),
        (
            "/u/{u:uuid}",
            {"u": uuid.UUID(int=1)},
            "/u/00000000-0000-0000-0000-000000000001",
        ),
    ],
)
def test_build(pattern: str, values: dict[str, object], url: str) -> None:
    assert parse_pattern(pattern).build(values) == url


@pytest.mark.parametrize(
    ("pattern", "values", "message"),
    [
        ("/users/{id:int}", {}, "missing parameter 'id' for '/users/{id:int}'"),
        (
            "/users/{id:int}",
            {"id": 1, "x": 2},
            "unexpected parameter 'x' for '/users/{id:int}' (it takes: 'id')",
        ),
        (
            "/users",
            {"x": 2},
            "unexpected parameter 'x' for '/users' (it takes: none)",
        ),
        (
            "/users/{id:int}",
            {"id": -1},
            "invalid value -1 for parameter 'id' ({id:int}) of '/users/{id:int}':"
            " int accepts [0-9]+",
        ),
        (
            "/users/{id}",
            {"id": ""},
            "invalid value '' for parameter 'id' ({id}) of '/users/{id}': str accepts (?s:.+)",
        ),
        (
            "/files/{name}.{ext}",
            {"name": "a", "ext": "b.c"},
            "name='a', ext='b.c' for '{name}.{ext}' of '/files/{name}.{ext}' would not match back:"
            " 'a.b.c' splits differently",
        ),
    ],
)
def test_build_errors(pattern: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(URLBuildError) as info:
        parse_pattern(pattern).build(values)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("pattern", "values", "message"),
    [
        # Clients resolve dot segments: /files/.. would be sent as /.
        ("/files/{name}", {"name": ".."}, "has a '.' or '..' segment"),
        ("/files/{name}", {"name": "."}, "has a '.' or '..' segment"),
        ("/files/{rest:path}", {"rest": "a/../b"}, "has a '.' or '..' segment"),
        # //host/x names another host: an open redirect in a Location header.
        ("/{rest:path}", {"rest": "/evil.example/x"}, "starts with '//', which names a host"),
        ("/files/{name}", {"name": "\ud800"}, "surrogates not allowed"),
    ],
)
def test_build_refuses_what_would_not_come_back(
    pattern: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises(URLBuildError, match=message):
        parse_pattern(pattern).build(values)
    assert parse_pattern("/files/{name}").build({"name": "..."}) == "/files/..."


def test_a_large_float_keeps_its_point_so_an_int_sibling_cannot_take_it() -> None:
    assert parse_pattern("/a/{x:float}").build({"x": 1e16}) == "/a/10000000000000000.0"
    assert parse_pattern("/a/{x:float}").build({"x": 2}) == "/a/2.0"


# -- mixed segments: the split, and what finding it costs -----------------------------------


def reference_split(segment: Segment, text: str) -> list[Any] | None:
    """The split as a regex with one greedy group per parameter gives it (what asgilab used
    before MixedSearch: right, and slow), each value then converted; no value may be empty."""
    regex = "".join(
        re.escape(p) if isinstance(p, str) else f"({p.converter.regex})" for p in segment.parts
    )
    found = re.fullmatch(regex, text)
    if found is None:
        return None
    values = [
        p.converter.accept(t) if t else None
        for p, t in zip(segment.params, found.groups(), strict=True)
    ]
    return None if None in values else values


CUSTOM = {
    **BUILTIN_CONVERTERS,
    "hex": Converter("hex", r"[0-9a-f]+", parse=lambda t: int(t, 16)),
    "two": Converter("two", r"[0-9]{2}", parse=int),
    "alpha": Converter("alpha", r"[a-z]+"),
}
U = "12345678-1234-5678-1234-567812345678"


@pytest.mark.parametrize(
    ("pattern", "text", "values"),
    [
        ("/{name}.{ext}", "report.pdf", ["report", "pdf"]),
        ("/{name}.{ext}", "a.b.c", ["a.b", "c"]),  # earlier parameters take all they can
        ("/{name}.{ext}", ".pdf", None),  # a parameter takes one character at least
        ("/{name}.{ext}", "a.", None),
        ("/{a}..{b}", "x...y", ["x.", "y"]),  # separators may overlap where they occur
        ("/{a:int}.{b}", "1.2.x", [1, "2.x"]),  # "1.2" is no int: a shorter one is taken
        ("/{x:float}.{fmt}", "1.5.tar.gz", [1.5, "tar.gz"]),
        ("/{x:float}.{fmt}", "1.5", [1.0, "5"]),
        ("/{name}-{n:int}", "a-b-1", ["a-b", 1]),
        ("/{name}-{n:int}", "a-b-x", None),
        ("/v{major:int}.{minor:int}", "v1.22", [1, 22]),
        ("/v{major:int}.{minor:int}", "v1.2.3", None),
        ("/{u:uuid}.{ext}", f"{U}.json", [uuid.UUID(U), "json"]),
        ("/{name}.json", "a.b.json", ["a.b"]),
        ("/@{handle}", "@", None),
        ("/{y:two}{m:two}-{d:two}", "1", None),  # (parameters need text between them)
        ("/{a}-{b:alpha}-{c}", "a-b-c-d-e-1", ["a-b-c-d", "e", "1"]),
        ("/{a}.{b}.{c}.{d}.{e:int}", "a.b.c.d.1", ["a", "b", "c", "d", 1]),
        ("/{a}.{b}.{c}.{d}.{e:int}", "." * 250 + "1", ["." * 243, ".", ".", ".", 1]),
        ("/{a}.{b}.{c}.{d}.{e:int}", "." * 254 + "x", None),  # issue 22: 19 s of CPU once
    ],
)
def test_a_mixed_segment_splits_as_greedy_groups_would(
    pattern: str, text: str, values: list[Any] | None
) -> None:
    try:
        segment = parse_pattern(pattern, CUSTOM).segments[0]
    except InvalidPattern:
        assert values is None  # "{y:two}{m:two}": no split to find
        return
    assert segment.parse(text) == values
    if len(text) < 20:
        assert reference_split(segment, text) == values


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(
        st.sampled_from(
            ["{}", "{:int}", "{:float}", "{:hex}", "{:two}", "{:alpha}", ".", "-", "..", "a", "1."]
        ),
        min_size=1,
        max_size=7,
    ),
    text=st.text(alphabet=".-a1f2", max_size=14),
)
@example(parts=["{:alpha}", "a", "{}"], text="aaa")
def test_mixed_search_agrees_with_the_greedy_regex(parts: list[str], text: str) -> None:
    names = iter("abcdefgh")
    written = "".join("{" + next(names) + p[1:] if p.startswith("{") else p for p in parts)
    try:
        segment = parse_pattern("/" + written, CUSTOM).segments[0]
    except InvalidPattern:
        return  # parameters side by side
    if segment.kind == "mixed":
        assert segment.parse(text) == reference_split(segment, text), written


def steps(pattern: str, text: str, converters: dict[str, Converter] = CUSTOM) -> MixedSearch:
    search = MixedSearch(parse_pattern(pattern, converters).segments[0], text)
    search.texts()
    return search


def linear_bound(text: str, params: int) -> int:
    """What MixedSearch's docstring promises with the built-in converters."""
    return 3 * len(text) * (params - 1) + 1


@pytest.mark.parametrize("params", range(1, 9))
@pytest.mark.parametrize("last", ["", ":int", ":float", ":uuid"])
@pytest.mark.parametrize("text", ["." * 254 + "x", "." * 255, ".1" * 127, "1." * 127 + "x"])
def test_the_worst_texts_cost_linear_steps(params: int, last: str, text: str) -> None:
    # Every shape from one to eight parameters, separators everywhere, and a near miss at
    # the end: what made the backtracking regex take 19 s with five parameters.
    pattern = "/" + ".".join(f"{{p{i}}}" for i in range(params - 1)) + (params > 1) * "."
    pattern += f"{{last{last}}}"
    search = steps(pattern, text)
    assert search.steps <= linear_bound(text, params), pattern
    assert not search.stopped


def test_issue_22_fails_in_linear_steps_and_milliseconds() -> None:
    text = "." * 254 + "x"
    segment = parse_pattern("/n/{a}.{b}.{c}.{d}.{e:int}").segments[1]
    search = MixedSearch(segment, text)
    assert (search.texts(), search.steps) == (None, 3037)  # the regex: ~10^8 backtracking steps
    assert search.steps <= linear_bound(text, 5)
    started = time.process_time()
    assert segment.parse(text) is None
    assert time.process_time() - started < 0.5  # a sanity check only; the steps are the test


SEPARATORS = [".", "-", "..", ".-", "a", "1"]


@st.composite
def adversarial(draw: st.DrawFn) -> tuple[str, str]:
    """A pattern of one to eight parameters and a text of up to 255 characters made of its
    separators and near misses: the texts that make a search try the most splits."""
    count = draw(st.integers(1, 8))
    seps = [draw(st.sampled_from(SEPARATORS)) for _ in range(count - 1)]
    kinds = [draw(st.sampled_from(["", ":int", ":float", ":uuid"])) for _ in range(count)]
    pattern = "/" + draw(st.sampled_from(["", "v", "@"]))
    for i, kind in enumerate(kinds):
        pattern += f"{{p{i}{kind}}}" + (seps[i] if i < len(seps) else "")
    pattern += draw(st.sampled_from(["", ".json", "-"]))
    pieces = st.sampled_from([*SEPARATORS, "x", "7", "1.5", U[:9], U])
    text = "".join(draw(st.lists(pieces, max_size=120)))[:MAX_MIXED_SEGMENT]
    return pattern, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial())
def test_mixed_search_steps_are_linear_in_the_length(case: tuple[str, str]) -> None:
    pattern, text = case
    try:
        search = steps(pattern, text)
    except InvalidPattern:
        return  # a pattern such as "/{p0}a{p1}..." is fine; "{p0}{p1}" cannot be drawn
    params = len(search.params)
    assert search.steps <= linear_bound(text, params)
    assert search.steps <= MIXED_STEPS_PER_CHAR * (len(text) + 1) * params
    assert not search.stopped


def test_a_custom_converter_between_parameters_has_a_limit() -> None:
    # A regex is a black box: tried at each end where the rest fits, which "1-1-1-..."
    # makes quadratic. The search stops at the stated limit: no match.
    text = "-1" * 127
    search = steps("/{a}-{b:alpha}-{c}", text)
    limit = MIXED_STEPS_PER_CHAR * (len(text) + 1) * 3
    assert (search.texts(), search.stopped, search.steps) == (None, True, limit + 1)
    # Texts as people write them are nowhere near it.
    letters = "-".join("abcdefghijklmnopqrstuvwxyz")
    search = steps("/{a}-{b:alpha}-{c}", letters)
    assert search.texts() == [letters[:-4], "y", "z"]
    assert search.steps < 2 * len(letters)  # each "-" found twice (two separators), a few tries
