"""Parsing route patterns: segment kinds, shapes, priority keys, errors and URL building."""

import uuid

import pytest

from asgilab.converters import BUILTIN_CONVERTERS, FLOAT, INT, PATH, STR, UUID, Converter
from asgilab.errors import InvalidPattern, URLBuildError
from asgilab.patterns import parse_pattern


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
