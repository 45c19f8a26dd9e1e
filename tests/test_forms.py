"""Forms within limits: files, fields and bytes per field counted as the body streams in,
refused at once with a message naming the limit and how to raise it, files closed."""

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from asgilab.datastructures import UploadFile
from asgilab.errors import HTTPException
from asgilab.forms import DEFAULT_FORM_LIMITS, FormLimits, route_form_limits
from asgilab.request import Request
from asgilab.types import Message

MULTIPART = (b"content-type", b"multipart/form-data; boundary=XyZ")
URLENCODED = (b"content-type", b"application/x-www-form-urlencoded")
CLOSE = {"connection": "close"}


def field(name: str, value: bytes) -> bytes:
    return b'--XyZ\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (
        name.encode(),
        value,
    )


def file(name: str = "f", data: bytes = b"", headers: bytes = b"") -> bytes:
    return (
        b'--XyZ\r\nContent-Disposition: form-data; name="%s"; filename="a.txt"\r\n%s\r\n%s\r\n'
        % (name.encode(), headers, data)
    )


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--XyZ--\r\n"


def make(
    chunks: Iterator[bytes] | list[bytes],
    content_type: tuple[bytes, bytes] = MULTIPART,
    max_body_size: int | None = 1024 * 1024,
    form_limits: FormLimits = DEFAULT_FORM_LIMITS,
) -> tuple[Request, list[int]]:
    """A Request whose body arrives in ``chunks`` (a list or a lazy iterator); the list
    returned counts the body bytes received."""
    received: list[int] = []
    pending = iter(chunks)
    following = next(pending, b"")

    async def receive() -> Message:
        nonlocal following
        chunk, following = following, next(pending, None)
        if chunk is None:
            return {"type": "http.disconnect"}
        received.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": following is not None}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [content_type]}
    return Request(scope, receive, max_body_size, form_limits), received


def refusal(request: Request, **limits: int) -> tuple[int, str, dict[str, str]]:
    with pytest.raises(HTTPException) as info:
        asyncio.run(request.form(**limits))
    return info.value.status_code, info.value.detail, info.value.headers


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[UploadFile]:
    """Every UploadFile created while the test runs."""
    files: list[UploadFile] = []
    original = UploadFile.__init__

    def recording(self: UploadFile, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        files.append(self)

    monkeypatch.setattr(UploadFile, "__init__", recording)
    return files


def raise_it(limit: str) -> str:
    return (
        f"(raise it on the route, @app.post(..., {limit}=N), or per call, request.form({limit}=N))"
    )


# id, content-type, body, form() arguments, status, detail
REFUSALS = [
    (
        "1001-files",
        MULTIPART,
        multipart(*[file()] * 1001),
        {},
        400,
        "multipart form with more than 1000 files; the limit is max_files=1000 "
        + raise_it("max_files"),
    ),
    (
        "no-files-allowed",
        MULTIPART,
        multipart(field("a", b"1"), file()),
        {"max_files": 0},
        400,
        "multipart form with more than 0 files; the limit is max_files=0 " + raise_it("max_files"),
    ),
    (
        "multipart-fields",
        MULTIPART,
        multipart(field("a", b"1"), field("b", b"2"), field("c", b"3")),
        {"max_fields": 2},
        400,
        "form with more than 2 fields; the limit is max_fields=2 " + raise_it("max_fields"),
    ),
    (
        "multipart-field-size",
        MULTIPART,
        multipart(field("bio", b"x" * 11)),
        {"max_part_size": 10},
        413,
        "form field 'bio' is larger than 10 bytes; the limit is max_part_size=10 "
        + raise_it("max_part_size"),
    ),
    (
        "urlencoded-fields",
        URLENCODED,
        b"a=1&b=2&&c=3",
        {"max_fields": 2},
        400,
        "form with more than 2 fields; the limit is max_fields=2 " + raise_it("max_fields"),
    ),
    (
        "urlencoded-1001-fields",
        URLENCODED,
        b"&".join([b"a=1"] * 1001),
        {},
        400,
        "form with more than 1000 fields; the limit is max_fields=1000 " + raise_it("max_fields"),
    ),
    (
        "urlencoded-field-size",
        URLENCODED,
        b"a=1&b%C3%AF=" + b"x" * 10,
        {"max_part_size": 10},
        413,
        "form field 'bï' is larger than 10 bytes; the limit is max_part_size=10 "
        + raise_it("max_part_size"),
    ),
    (
        "part-header-bytes",
        MULTIPART,
        multipart(file(headers=b"".join(b"X-%d: %s\r\n" % (n, b"v" * 3000) for n in range(3)))),
        {},
        400,
        "multipart part with headers larger than 8192 bytes",
    ),
]


@pytest.mark.parametrize(
    ("content_type", "body", "limits", "status", "detail"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_a_form_past_a_limit_is_refused_naming_it(
    content_type: tuple[bytes, bytes],
    body: bytes,
    limits: dict[str, int],
    status: int,
    detail: str,
    opened: list[UploadFile],
) -> None:
    request, _ = make([body], content_type)
    # connection: close -- the rest of the body is not read, as after a 413 for its size.
    assert refusal(request, **limits) == (status, detail, CLOSE)
    assert all(upload.file.closed for upload in opened)


def test_a_part_with_more_than_eight_headers_is_refused() -> None:
    headers = b"".join(b"X-%d: v\r\n" % n for n in range(8))  # and Content-Disposition
    request, _ = make([multipart(file(headers=headers))])
    status, detail, _ = refusal(request)
    # python-multipart 0.0.27 and later count them itself, and say so first.
    assert (status, detail) in [
        (400, "multipart part with more than 8 headers"),
        (400, "invalid multipart body: Maximum header count exceeded"),
    ]


def test_a_boundary_the_parser_refuses_is_a_400_not_a_500() -> None:
    # Found by the fuzzer: python-multipart refuses a boundary over 256 bytes when the
    # parser is made, before any of the body is read.
    boundary = b"b" * 300
    request, _ = make(
        [b"--" + boundary + b"--\r\n"],
        (b"content-type", b"multipart/form-data; boundary=" + boundary),
    )
    status, detail, _ = refusal(request)
    assert (status, detail) == (
        400,
        "invalid multipart content-type: Boundary length 300 exceeds maximum of 256",
    )


def test_a_form_at_its_limits_is_read() -> None:
    body = multipart(field("a", b"x" * 10), field("b", b""), file(), file())
    request, _ = make([body])
    form = asyncio.run(request.form(max_files=2, max_fields=2, max_part_size=10))
    assert [(name, type(value).__name__) for name, value in form.multi_items()] == [
        ("a", "str"),
        ("b", "str"),
        ("f", "UploadFile"),
        ("f", "UploadFile"),
    ]
    request, _ = make([b"a=1&b=" + b"x" * 8], URLENCODED)
    assert len(asyncio.run(request.form(max_fields=2, max_part_size=10))) == 2


def test_the_call_overrides_the_route_and_the_route_the_default() -> None:
    body = multipart(file(), file())
    route = FormLimits(max_files=1)
    request, _ = make([body], form_limits=route)
    assert refusal(request)[1].startswith("multipart form with more than 1 file; ")
    request, _ = make([body], form_limits=route)
    assert len(asyncio.run(request.form(max_files=2)).multi_items()) == 2


def test_the_reviewed_body_of_empty_files_is_refused_at_once(opened: list[UploadFile]) -> None:
    # Issue 22: 14,563 empty files fit the default 1 MiB body; each was a spooled file.
    part = b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="ab"\r\n\r\n\r\n'
    body = part * ((1024 * 1024 - 9) // len(part)) + b"--XyZ--\r\n"
    assert body.count(b"filename=") == 14_563
    request, _ = make([body])
    status, detail, _ = refusal(request)
    assert (status, detail.partition(";")[0]) == (400, "multipart form with more than 1000 files")
    # At once: the parse stopped at the limit (no clock here, which a busy machine moves):
    # the file past the limit was never opened, and those before it are closed.
    assert len(opened) == 1000
    assert all(upload.file.closed for upload in opened)


def test_a_text_field_that_never_ends_stops_at_max_part_size() -> None:
    # No body limit: a text part used to grow in memory for as long as the client sent.
    head = b'--XyZ\r\nContent-Disposition: form-data; name="bio"\r\n\r\n'
    chunks = (head if n == 0 else b"x" * 65536 for n in range(256))  # 16 MiB at most
    request, received = make(chunks, max_body_size=None)
    status, detail, _ = refusal(request)
    assert (status, detail.partition(";")[0]) == (
        413,
        "form field 'bio' is larger than 1048576 bytes",
    )
    assert sum(received) < 1024 * 1024 + 2 * 65536  # stopped with the chunk that passed it


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_files_spooled_to_disk_are_deleted_when_a_limit_refuses_the_form(
    opened: list[UploadFile],
) -> None:
    big = b"x" * (UploadFile.spool_max_size + 1)  # rolls over to a temporary file
    body = multipart(file("a", big), file("b", big), field("note", b"hi"))
    before = open_descriptors()
    request, _ = make([body], max_body_size=None)
    assert refusal(request, max_fields=0)[0] == 400
    assert [upload.file._rolled for upload in opened] == [True, True]  # type: ignore[attr-defined]
    assert all(upload.file.closed for upload in opened)
    assert open_descriptors() == before  # unlinked at creation, gone once closed


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_files": 1e4}, "max_files must be a whole number, 0 or more, not 10000.0"),
        ({"max_fields": -1}, "max_fields must be a whole number, 0 or more, not -1"),
        ({"max_part_size": True}, "max_part_size must be a whole number, 0 or more, not True"),
    ],
)
def test_bad_limits_are_refused(limits: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        FormLimits(**limits)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        ({}, None),
        ({"max_body_size": 10}, None),
        ({"max_files": 0}, FormLimits(max_files=0)),
        (
            {"max_fields": 5, "max_part_size": 10},
            FormLimits(max_fields=5, max_part_size=10),
        ),
        (
            {"max_files": None},
            "max_files of route '/up' must be a whole number, 0 or more, not None",
        ),
        (
            {"max_fields": "9"},
            "max_fields of route '/up' must be a whole number, 0 or more, not '9'",
        ),
    ],
)
def test_route_form_limits(extras: dict[str, Any], expected: FormLimits | str | None) -> None:
    if isinstance(expected, str):
        with pytest.raises(TypeError) as info:
            route_form_limits(extras, "/up")
        assert str(info.value) == expected
    else:
        assert route_form_limits(extras, "/up") == expected
