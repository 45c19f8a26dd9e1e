"""Hostile request paths, in-process and over a real socket: the right 4xx, a short
message, no traceback, and the server still answers the next request.

Two rules the table pins: asgilab never normalises a path (``..`` is a literal
segment, ``//`` an empty one), and it decodes each segment once, strictly (a bad
escape or non-UTF-8 bytes is the client's error, 400). Where uvicorn's own parser
refuses a request line before the app sees it (raw NUL or non-UTF-8 bytes, and for
httptools a 64 KiB target), the server's 400 is the right answer too.
"""

import pytest

from .conftest import Live
from .support import (
    Hostile,
    assert_clean_error,
    assert_still_serving,
    inprocess,
    over_the_wire,
)

SERVER_REFUSAL = b"Invalid HTTP request received."

CATCH_ALL_5000 = b'{"rest":"' + b"/".join([b"a"] * 5000) + b'"}'

# id, target, status, body, may uvicorn refuse the request line itself?
PATHS = [
    (
        "invalid-escape",
        b"/files/%zz",
        400,
        b"invalid path: invalid percent-escape '%zz' in path segment '%zz'",
        False,
    ),
    (
        "truncated-escape",
        b"/items/%4",
        400,
        b"invalid path: invalid percent-escape '%4' in path segment '%4'",
        False,
    ),
    (
        "lone-percent",
        b"/files/a%",
        400,
        b"invalid path: invalid percent-escape '%' in path segment 'a%'",
        False,
    ),
    ("encoded-nul-no-route", b"/%00", 404, b"Not Found", False),
    # An encoded NUL is a character like any other: it reaches a str parameter as is.
    ("encoded-nul-in-param", b"/files/a%00b", 200, b'{"rest":"a\\u0000b"}', False),
    ("raw-nul", b"/a\x00b", 404, b"Not Found", True),
    ("64-KiB-path", b"/" + b"x" * 65536, 404, b"Not Found", True),
    ("5000-segments", b"/a" * 5000, 404, b"Not Found", False),
    ("5000-segments-catch-all", b"/files" + b"/a" * 5000, 200, CATCH_ALL_5000, False),
    ("dot-dot-not-normalised", b"/items/../items/7", 404, b"Not Found", False),
    # ..: a literal segment; a handler that opens files must refuse it: FileResponse(name, root=...)
    # and safe_join do (tests/test_files.py).
    ("dot-dot-in-param", b"/files/../../etc/passwd", 200, b'{"rest":"../../etc/passwd"}', False),
    ("encoded-dot-dot", b"/files/%2e%2E/x", 200, b'{"rest":"../x"}', False),
    ("leading-double-slash", b"//items/7", 404, b"Not Found", False),
    ("inner-double-slash", b"/items//7", 404, b"Not Found", False),
    ("encoded-slash-stays-in-segment", b"/items/7%2F8", 404, b"Not Found", False),
    ("only-slashes", b"///", 404, b"Not Found", False),
    ("1000-slashes", b"/" * 1000, 404, b"Not Found", False),
    (
        "escaped-non-utf8",
        b"/files/caf%E9",
        400,
        b"invalid path: path segment 'caf%E9' is not UTF-8 once percent-decoded",
        False,
    ),
    (
        "overlong-utf8-slash",
        b"/files/%C0%AF",
        400,
        b"invalid path: path segment '%C0%AF' is not UTF-8 once percent-decoded",
        False,
    ),
    ("raw-non-utf8", b"/files/caf\xe9", 400, b"path is not valid UTF-8", True),
]
IDS = [case[0] for case in PATHS]


@pytest.mark.parametrize(("name", "target", "status", "body", "refusable"), PATHS, ids=IDS)
def test_bad_path_in_process(
    hostile: Hostile, name: str, target: bytes, status: int, body: bytes, refusable: bool
) -> None:
    reply = inprocess(hostile, "GET", target)
    assert (reply.status, reply.body) == (status, body)
    if status >= 400:
        assert_clean_error(reply.status, reply.body, status)
    assert inprocess(hostile, "GET", b"/items/7").body == b'{"id":7}'


@pytest.mark.server
@pytest.mark.parametrize(("name", "target", "status", "body", "refusable"), PATHS, ids=IDS)
def test_bad_path_over_the_wire(
    live: Live, name: str, target: bytes, status: int, body: bytes, refusable: bool
) -> None:
    replies = over_the_wire(live.url, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    first = replies[0]
    if refusable and first.body == SERVER_REFUSAL:
        assert first.status == 400  # uvicorn's parser refused the request line
    else:
        assert (first.status, first.body) == (status, body)
    if first.status >= 400:
        assert_clean_error(first.status, first.body, first.status)
    assert_still_serving(live.url, replies)


def test_invalid_escape_in_a_huge_segment_gets_a_short_message(hostile: Hostile) -> None:
    reply = inprocess(hostile, "GET", b"/files/" + b"%zz" * 20000)
    assert_clean_error(reply.status, reply.body, 400)
