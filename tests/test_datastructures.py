"""Headers, query parameters, state, URL and uploads: one rule per test, in tables."""

import asyncio
import copy
import datetime
import pickle
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgilab.converters import FLOAT, INT, UUID
from asgilab.datastructures import (
    URL,
    Headers,
    InvalidHeader,
    InvalidParameter,
    MissingParameter,
    MultiDict,
    MutableHeaders,
    QueryParams,
    State,
    UploadFile,
    encode_header,
)
from asgilab.errors import HTTPException

RAW = [(b"accept", b"text/html"), (b"x-tag", b"a"), (b"x-tag", b"b"), (b"x-name", b"Zo\xeb")]


@pytest.mark.parametrize(
    ("key", "value"),
    [("accept", "text/html"), ("ACCEPT", "text/html"), ("X-Tag", "b"), ("x-name", "Zoë")],
)
def test_headers_are_case_insensitive_last_wins_and_latin1(key: str, value: str) -> None:
    assert Headers(RAW)[key] == value


def test_headers_keep_repeated_values_in_order() -> None:
    headers = Headers(RAW)
    assert headers.getlist("x-tag") == ["a", "b"]
    assert headers.items()[1:3] == [("x-tag", "a"), ("x-tag", "b")]
    assert len(headers) == 4


def test_headers_missing_key() -> None:
    headers = Headers(RAW)
    assert "x-missing" not in headers
    assert headers.get("x-missing", "default") == "default"
    with pytest.raises(KeyError):
        headers["x-missing"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "X-A",
            "1\r\nSet-Cookie: evil=1",
            "header 'X-A' has a CR, LF, NUL or other control character in its value "
            "'1\\r\\nSet-Cookie: evil=1'; remove it (a line break would inject a header)",
        ),
        (
            "X-A",
            "1\n",
            "header 'X-A' has a CR, LF, NUL or other control character in its value "
            "'1\\n'; remove it (a line break would inject a header)",
        ),
        (
            "X-A\r\nB",
            "1",
            "invalid header name 'X-A\\r\\nB': it must be a non-empty token (letters, "
            "digits and !#$%&'*+-.^_`|~; no spaces, colons or control characters)",
        ),
        (
            "",
            "1",
            "invalid header name '': it must be a non-empty token (letters, "
            "digits and !#$%&'*+-.^_`|~; no spaces, colons or control characters)",
        ),
        (
            "X(A)",
            "1",
            "invalid header name 'X(A)': it must be a non-empty token (letters, "
            "digits and !#$%&'*+-.^_`|~; no spaces, colons or control characters)",
        ),
        (
            "X-A",
            "a\x0bb\x7f",
            "header 'X-A' has a CR, LF, NUL or other control character in its value "
            "'a\\x0bb\\x7f'; remove it (a line break would inject a header)",
        ),
        (
            "X-A",
            "日本",
            "header 'X-A': '日本' is not latin-1; percent-encode it "
            "(or use RFC 8187 encoding) before putting it in a header",
        ),
    ],
)
def test_encode_header_refuses_injection_and_non_latin1(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidHeader) as info:
        encode_header(name, value)
    assert str(info.value) == message


def test_mutable_headers_set_append_delete_validate() -> None:
    headers = MutableHeaders()
    headers["X-One"] = "1"
    headers["x-one"] = "2"
    headers.append("Vary", "a")
    headers.append("vary", "b")
    assert headers.raw == [(b"x-one", b"2"), (b"vary", b"a"), (b"vary", b"b")]
    del headers["VARY"]
    assert headers.raw == [(b"x-one", b"2")]
    with pytest.raises(InvalidHeader):
        headers["x-two"] = "a\rb"
    assert headers.raw == [(b"x-one", b"2")]


@pytest.mark.parametrize(
    ("query", "key", "expected"),
    [
        (b"a=1&a=2", "a", "2"),
        (b"a=1&b=", "b", ""),
        (b"flag", "flag", ""),
        (b"name=Zo%C3%AB", "name", "Zoë"),
        (b"q=a+b", "q", "a b"),
        ("a=x", "a", "x"),
    ],
)
def test_query_params_last_value(query: bytes | str, key: str, expected: str) -> None:
    assert QueryParams(query)[key] == expected


def test_query_params_getlist_and_multi_items() -> None:
    query = QueryParams(b"tag=a&page=1&tag=b")
    assert query.getlist("tag") == ["a", "b"]
    assert query.getlist("none") == []
    assert query.multi_items() == [("tag", "a"), ("page", "1"), ("tag", "b")]
    assert list(query) == ["tag", "page"]


@pytest.mark.parametrize(
    ("query", "call", "expected"),
    [
        (b"page=3", lambda q: q.get("page", type=int), 3),
        (b"", lambda q: q.get("page", 1, type=int), 1),
        (b"x=2.5", lambda q: q.get("x", type=float), 2.5),
        (b"d=on", lambda q: q.get("d", type=bool), True),
        (b"d=false", lambda q: q.get("d", type=bool), False),
        (b"d=0", lambda q: q.get("d", type=bool), False),
        (b"n=1&n=2", lambda q: q.getlist("n", type=int), [1, 2]),
    ],
)
def test_query_params_typed_access(query: bytes, call: object, expected: object) -> None:
    assert call(QueryParams(query)) == expected  # type: ignore[operator]


INT_FORM = "int (ASCII digits, such as 42)"
FLOAT_FORM = "float (ASCII digits with an optional decimal point, such as 2.5)"
UUID_FORM = "UUID (a hyphenated UUID, such as 12345678-1234-5678-1234-567812345678)"
BOOL_FORM = "bool (1, true, yes, on, or 0, false, no, off)"
AN_ID = "12345678-1234-5678-1234-567812345678"


# What a query value converts to: the same as the path converter of that type.
@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        ("42", int, 42),
        ("007", int, 7),  # leading zeros, as {x:int} takes them
        ("0", int, 0),
        ("-1", int, -1),  # a query number may be negative, unlike a path segment's
        ("-0", int, 0),
        ("2.5", float, 2.5),
        ("-33.9", float, -33.9),
        ("2", float, 2.0),
        ("1" * 300, float, float("1" * 300)),
        (AN_ID, uuid.UUID, uuid.UUID(AN_ID)),
        (AN_ID.upper(), uuid.UUID, uuid.UUID(AN_ID)),
        ("1", bool, True),
        ("TRUE", bool, True),
        ("Yes", bool, True),
        ("on", bool, True),
        ("0", bool, False),
        ("False", bool, False),
        ("no", bool, False),
        ("OFF", bool, False),
        # Any other callable is called as it is: its rules, not a converter's.
        ("-1.5", lambda s: float(s), -1.5),
        ("5_0", lambda s: int(s), 50),
        ("1.10", Decimal, Decimal("1.10")),
        ("a b", str, "a b"),
        ("", str, ""),
    ],
)
def test_typed_query_value(value: str, type_: Any, expected: object) -> None:
    assert QueryParams([("x", value)]).get("x", type=type_) == expected


# What it refuses, with the whole 400 message: the parameter, the value, what would do.
@pytest.mark.parametrize(
    ("value", "type_", "message"),
    [
        ("abc", int, f"query parameter 'x' must be {INT_FORM}, got 'abc'"),
        ("5_0", int, f"query parameter 'x' must be {INT_FORM}, got '5_0'"),  # int() takes it
        (" 5 ", int, f"query parameter 'x' must be {INT_FORM}, got ' 5 '"),  # int() takes it
        ("\u0665", int, f"query parameter 'x' must be {INT_FORM}, got '\u0665'"),  # Arabic-Indic 5
        ("\uff14\uff12", int, f"query parameter 'x' must be {INT_FORM}, got '\uff14\uff12'"),
        ("\u00b2", int, f"query parameter 'x' must be {INT_FORM}, got '\u00b2'"),  # superscript 2
        ("--1", int, f"query parameter 'x' must be {INT_FORM}, got '--1'"),
        ("-", int, f"query parameter 'x' must be {INT_FORM}, got '-'"),
        ("- 1", int, f"query parameter 'x' must be {INT_FORM}, got '- 1'"),
        ("+1", int, f"query parameter 'x' must be {INT_FORM}, got '+1'"),
        ("", int, f"query parameter 'x' must be {INT_FORM}, got ''"),
        ("1.0", int, f"query parameter 'x' must be {INT_FORM}, got '1.0'"),
        (
            "1" * 5000,  # more digits than int() converts: a 400, not a 500
            int,
            f"query parameter 'x' must be {INT_FORM}, got '{'1' * 40}...'",
        ),
        ("1e3", float, f"query parameter 'x' must be {FLOAT_FORM}, got '1e3'"),
        ("-nan", float, f"query parameter 'x' must be {FLOAT_FORM}, got '-nan'"),
        (".5", float, f"query parameter 'x' must be {FLOAT_FORM}, got '.5'"),
        ("5.", float, f"query parameter 'x' must be {FLOAT_FORM}, got '5.'"),
        ("nan", float, f"query parameter 'x' must be {FLOAT_FORM}, got 'nan'"),
        ("inf", float, f"query parameter 'x' must be {FLOAT_FORM}, got 'inf'"),
        ("1_0.5", float, f"query parameter 'x' must be {FLOAT_FORM}, got '1_0.5'"),
        (
            "1" * 400,  # float() overflows to inf: refused, as in a path
            float,
            f"query parameter 'x' must be {FLOAT_FORM}, got '{'1' * 40}...'",
        ),
        (
            AN_ID.replace("-", ""),
            uuid.UUID,
            f"query parameter 'x' must be {UUID_FORM}, got '{AN_ID.replace('-', '')}'",
        ),
        (
            f"{{{AN_ID}}}",
            uuid.UUID,
            f"query parameter 'x' must be {UUID_FORM}, got '{{{AN_ID}}}'",  # uuid.UUID() takes it
        ),
        ("maybe", bool, f"query parameter 'x' must be {BOOL_FORM}, got 'maybe'"),
        ("", bool, f"query parameter 'x' must be {BOOL_FORM}, got ''"),  # "?x" says neither
        ("2", bool, f"query parameter 'x' must be {BOOL_FORM}, got '2'"),
        # Decimal raises InvalidOperation, an ArithmeticError, not a ValueError
        ("abc", Decimal, "query parameter 'x' must be Decimal, got 'abc'"),
        (
            "12:30",
            datetime.date.fromisoformat,
            "query parameter 'x' must be fromisoformat, got '12:30'",
        ),
    ],
)
def test_typed_query_value_refused(value: str, type_: Any, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        QueryParams([("x", value)]).get("x", type=type_)
    assert (info.value.status_code, info.value.detail) == (400, message)
    assert (info.value.key, info.value.value) == ("x", value)


@given(st.text(alphabet="0123456789.-_ +e\u0665\uff14", max_size=8) | st.text(max_size=8))
@example("\u00b2")
def test_typed_query_takes_exactly_what_the_path_converter_takes(text: str) -> None:
    # One rule for a value, wherever the client puts it: {x:int} in the path, ?x= in the
    # query; a query number may also be negative.
    query = QueryParams([("x", text)])
    for type_, converter, signed in [
        (int, INT, True),
        (float, FLOAT, True),
        (uuid.UUID, UUID, False),
    ]:
        try:
            got = query.get("x", type=type_)
        except InvalidParameter:
            got = None
        negative = signed and text.startswith("-")
        expected = converter.accept(text[1:] if negative else text)
        if negative and expected is not None:
            expected = -expected
        assert got == expected


@pytest.mark.parametrize(
    ("query", "call", "message"),
    [
        (
            b"page=abc",
            lambda q: q.get("page", type=int),
            f"query parameter 'page' must be {INT_FORM}, got 'abc'",
        ),
        (
            b"n=1&n=x",
            lambda q: q.getlist("n", type=int),
            f"query parameter 'n' must be {INT_FORM}, got 'x'",
        ),
        (b"", lambda q: q["page"], "missing query parameter 'page'"),
    ],
)
def test_query_params_bad_values_are_400(query: bytes, call: object, message: str) -> None:
    with pytest.raises(HTTPException) as info:
        call(QueryParams(query))  # type: ignore[operator]
    assert info.value.status_code == 400
    assert info.value.detail == message


def test_invalid_parameter_is_also_a_value_error() -> None:
    # Code that wraps int(query["n"]) in `except ValueError` keeps working with type=int.
    with pytest.raises(ValueError):
        QueryParams(b"n=x").get("n", type=int)
    assert issubclass(InvalidParameter, HTTPException)


def test_missing_parameter_is_also_a_key_error() -> None:
    with pytest.raises(KeyError):
        QueryParams(b"")["x"]
    assert isinstance(MissingParameter("x"), HTTPException)


def test_multidict_equality_ignores_order_of_pairs() -> None:
    assert MultiDict([("a", "1"), ("b", "2")]) == MultiDict([("b", "2"), ("a", "1")])
    assert MultiDict([("a", "1")]) != MultiDict([("a", "2")])


def test_state_attribute_access_and_error_message() -> None:
    backing: dict[str, object] = {"db": "pool"}
    state = State(backing)
    state.user = "ada"
    assert backing == {"db": "pool", "user": "ada"}
    del state.user
    with pytest.raises(AttributeError) as info:
        state.user  # noqa: B018
    assert str(info.value) == "'State' has no attribute 'user' (known: db)"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (
            {
                "scheme": "http",
                "headers": [(b"host", b"example.com")],
                "path": "/a",
                "raw_path": b"/a",
                "query_string": b"x=1",
            },
            "http://example.com/a?x=1",
        ),
        (
            {
                "scheme": "https",
                "headers": [],
                "server": ("10.0.0.1", 443),
                "path": "/a b",
                "query_string": b"",
            },
            "https://10.0.0.1/a%20b",
        ),
        (
            {
                "scheme": "http",
                "headers": [],
                "server": ("10.0.0.1", 8000),
                "path": "/x",
                "raw_path": b"/x%2Fy",
            },
            "http://10.0.0.1:8000/x%2Fy",
        ),
        (
            {
                "headers": [(b"host", b"h")],
                "root_path": "/api",
                "path": "/users",
                "raw_path": b"/users",
            },
            "http://h/api/users",
        ),
        (
            {
                "headers": [(b"host", b"h")],
                "root_path": "/api",
                "path": "/api/users",
                "raw_path": b"/api/users",
            },
            "http://h/api/users",
        ),
        (  # root_path is decoded: a URL carries it encoded, once
            {
                "headers": [(b"host", b"h")],
                "root_path": "/my api",
                "path": "/my api/users",
                "raw_path": b"/my%20api/users",
            },
            "http://h/my%20api/users",
        ),
        (
            {
                "headers": [(b"host", b"h")],
                "root_path": "/my api",
                "path": "/users",
                "raw_path": b"/users",
            },
            "http://h/my%20api/users",
        ),
    ],
)
def test_url_from_scope(scope: dict[str, object], expected: str) -> None:
    assert URL.from_scope(scope) == expected


def test_url_parts() -> None:
    url = URL("https://Example.com:8443/p?q=1")
    assert (url.scheme, url.hostname, url.port, url.path, url.query) == (
        "https",
        "example.com",
        8443,
        "/p",
        "q=1",
    )


def test_upload_file_spools_and_reads_back() -> None:
    async def roundtrip() -> tuple[bytes, int]:
        upload = UploadFile("a.bin", "application/octet-stream")
        await upload.write(b"x" * 10)
        await upload.seek(0)
        data = await upload.read()
        await upload.close()
        return data, upload.size

    assert asyncio.run(roundtrip()) == (b"x" * 10, 10)


def test_headers_values_and_names_no_header_can_have() -> None:
    headers = Headers([(b"x", b"a"), (b"x", b"b")])
    assert headers.values() == ["a", "b"]  # as items(): repeated names included
    assert ("€" in headers, headers.get("€"), headers.getlist("€")) == (False, None, [])


def test_state_copies_and_pickles() -> None:
    state = State({"db": "pool", "tags": ["a"]})
    shallow, deep = copy.copy(state), copy.deepcopy(state)
    shallow.user = "ada"  # its own dict: the original does not see it
    assert ("user" in state._state, deep.tags is not state.tags) == (False, True)
    assert pickle.loads(pickle.dumps(state))._state == {"db": "pool", "tags": ["a"]}


def test_url_of_an_ipv6_server_brackets_the_address() -> None:
    url = URL.from_scope({"server": ("::1", 8000), "headers": [], "raw_path": b"/x"})
    assert (url, url.hostname, url.port) == ("http://[::1]:8000/x", "::1", 8000)


@pytest.mark.parametrize("host", ["evil.example/x?", "t#frag", "a:99999", "[zz]", "[::1"])
def test_url_ignores_a_host_header_no_url_can_hold(host: str) -> None:
    # The client writes Host: it must neither move the path nor make url.port raise.
    scope = {
        "headers": [(b"host", host.encode())],
        "server": ("10.0.0.1", 8000),
        "raw_path": b"/u",
        "query_string": b"k=v",
    }
    url = URL.from_scope(scope)
    assert (url, url.path, url.query, url.port) == ("http://10.0.0.1:8000/u?k=v", "/u", "k=v", 8000)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Granian passes on raw UTF-8 a client sent: escaped as a browser would have sent it.
        (
            {"raw_path": "/files/café".encode(), "query_string": "q=thé&n=1".encode()},
            "http://h/files/caf%C3%A9?q=th%C3%A9&n=1",
        ),
        # Escapes already there stay as they are.
        (
            {"raw_path": b"/files/caf%C3%A9", "query_string": b"q=%C3%A9"},
            "http://h/files/caf%C3%A9?q=%C3%A9",
        ),
        # Bytes that are not UTF-8 are escaped too, never turned into other characters.
        ({"raw_path": b"/a\xe9", "query_string": b"q=\xff"}, "http://h/a%E9?q=%FF"),
    ],
)
def test_url_escapes_raw_bytes_that_are_not_ascii(scope: dict[str, Any], expected: str) -> None:
    url = URL.from_scope({"headers": [(b"host", b"h")], **scope})
    assert url == expected
    assert url.isascii()


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (("/run/app.sock", None), "http://localhost/x"),  # a Unix socket: ASGI's (path, None)
        (("/run/app.sock", 0), "http://localhost/x"),  # ... and Granian's
        (None, "http://localhost/x"),
        (("10.0.0.1", 80), "http://10.0.0.1/x"),
    ],
)
def test_url_without_a_host_header(server: tuple[str, int | None] | None, expected: str) -> None:
    url = URL.from_scope({"headers": [], "server": server, "raw_path": b"/x"})
    assert (url, url.hostname) == (expected, expected.split("/")[2])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=café".encode(), "café"),  # raw UTF-8, as Granian passes it on
        (b"q=caf%C3%A9", "café"),
        (b"q=caf\xe9", "caf\ufffd"),  # not UTF-8: as %E9 reads, a replacement character
    ],
)
def test_query_reads_raw_utf8_as_utf8(query: bytes, expected: str) -> None:
    assert QueryParams(query)["q"] == expected
