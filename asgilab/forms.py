"""Forms: a request body read as fields and files, within limits.

``await request.form()`` lands here. A form body is the client's to shape, and
the body limit alone does not bound what parsing it costs: one mebibyte of
multipart holds fourteen thousand empty files, each a spooled file object, and
a text field with no body limit grows in memory until it ends. So a form is
read within :class:`FormLimits`, counted as it streams in, and refused the
moment it passes one -- the rest of the body is never parsed, the files spooled
so far are closed (a rolled-over temporary file is deleted with it), and the
answer says which limit and how to raise it:

* ``max_files``: file parts in a multipart form (default 1000; past it, 400);
* ``max_fields``: text fields, multipart parts or ``a=1`` pairs (1000; 400);
* ``max_part_size``: bytes of one text field (1 MiB; 413). Files have no such
  limit of their own: they spool to disk, within the body limit.

The defaults are Starlette's. A route raises them for its own forms
(``@app.post("/import", max_files=10_000)``), and a handler for one call
(``await request.form(max_files=10_000)``); the call wins over the route. The
headers of one multipart part are bounded too, and not configurable: at most
:data:`MAX_PART_HEADERS` of them, :data:`MAX_PART_HEADER_BYTES` in all (a browser
sends two, ``Content-Disposition`` and ``Content-Type``).

>>> parse_urlencoded(b"name=Zo%C3%AB&lang=py&lang=c", FormLimits())
FormData([('name', 'Zoë'), ('lang', 'py'), ('lang', 'c')])
>>> parse_urlencoded(b"a=1&b=2&c=3", FormLimits(max_fields=2))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
asgilab.errors.HTTPException: 400: form with more than 2 fields; the limit is max_fields=2 ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

from .datastructures import FormData, Headers, UploadFile
from .errors import HTTPException, InvalidArgumentType, excerpt

if TYPE_CHECKING:  # python_multipart declares its callback types for type checkers only
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "DEFAULT_FORM_LIMITS",
    "MAX_PART_HEADERS",
    "MAX_PART_HEADER_BYTES",
    "FormLimits",
    "parse_multipart",
    "parse_urlencoded",
    "route_form_limits",
]

# A part's headers: browsers send Content-Disposition and Content-Type, and
# python-multipart (0.0.27 and later) stops at 8 headers of 4 KiB each itself.
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 8 * 1024

# The rest of a refused body is never read, so the connection cannot carry another
# request: the server closes it after the answer (as after a 413 for the body limit).
_CLOSE = {"connection": "close"}


@dataclasses.dataclass(frozen=True, slots=True)
class FormLimits:
    """How much form :meth:`Request.form` reads before refusing it; see the module docstring.

    >>> FormLimits()
    FormLimits(max_files=1000, max_fields=1000, max_part_size=1048576)
    >>> FormLimits().override(max_files=10_000, max_fields=None)
    FormLimits(max_files=10000, max_fields=1000, max_part_size=1048576)
    >>> FormLimits(max_files=1e4)
    Traceback (most recent call last):
    ...
    asgilab.errors.InvalidArgumentType: max_files must be a whole number, 0 or more, not 10000.0
    """

    max_files: int = 1000
    max_fields: int = 1000
    max_part_size: int = 1024 * 1024

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check(field.name, getattr(self, field.name))

    def override(self, **changes: int | None) -> FormLimits:
        """These limits with ``changes`` applied; None keeps a limit as it is, as the
        arguments of ``request.form()`` do when not given."""
        given = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, **given) if given else self


# The names of the limits, as route options and form() arguments.
_LIMITS = ("max_files", "max_fields", "max_part_size")


def route_form_limits(extras: Mapping[str, Any], path: str) -> FormLimits | None:
    """The form limits route ``path`` sets in its ``extras``, checked; None if it sets none.

    >>> route_form_limits({"max_files": 10_000}, "/import")
    FormLimits(max_files=10000, max_fields=1000, max_part_size=1048576)
    >>> route_form_limits({"max_body_size": 10}, "/upload") is None
    True
    >>> route_form_limits({"max_fields": None}, "/upload")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.errors.InvalidArgumentType: max_fields of route '/upload' must be ..., not None
    """
    options = {name: extras[name] for name in _LIMITS if name in extras}
    if not options:
        return None
    for name, value in options.items():
        _check(name, value, f" of route {path!r}")
    return dataclasses.replace(DEFAULT_FORM_LIMITS, **options)


def _check(name: str, value: object, where: str = "") -> None:
    # A bool is an int to Python, and no limit; 1e4 is a float. Both are refused where
    # they are set (a route's at registration), not on the first form that meets them.
    if type(value) is not int or value < 0:
        raise InvalidArgumentType(f"{name}{where} must be a whole number, 0 or more, not {value!r}")


#: The limits of a form whose route and call set none.
DEFAULT_FORM_LIMITS = FormLimits()


def _over(limit: str, value: int, what: str, status: int = 400) -> HTTPException:
    """The refusal of a form past ``limit``: what passed it, and the two ways to raise it."""
    return HTTPException(
        status,
        f"{what}; the limit is {limit}={value} (raise it on the route, "
        f"@app.post(..., {limit}=N), or per call, request.form({limit}=N))",
        headers=_CLOSE,
    )


def _too_many_fields(limits: FormLimits) -> HTTPException:
    n = limits.max_fields
    return _over("max_fields", n, f"form with more than {n} field{'s' * (n != 1)}")


def _field_too_large(name: str, limits: FormLimits) -> HTTPException:
    n = limits.max_part_size
    what = f"form field {excerpt(name)!r} is larger than {n} bytes"
    return _over("max_part_size", n, what, status=413)


# -- application/x-www-form-urlencoded ---------------------------------------------------


def parse_urlencoded(body: bytes, limits: FormLimits) -> FormData:
    """``a=1&b=2`` as a form; the fields are counted and measured before any is decoded."""
    # parse_qsl skips empty pieces ("a=1&&b=2" has two fields): so do the limits.
    pieces = body.split(b"&")
    if len(pieces) - pieces.count(b"") > limits.max_fields:
        raise _too_many_fields(limits)
    longest = max(pieces, key=len)
    if len(longest) > limits.max_part_size:
        name = unquote_plus(longest.partition(b"=")[0].decode("utf-8", "replace"))
        raise _field_too_large(name, limits)
    # Browsers send forms as UTF-8, percent-encoded; parse_qsl decodes the escapes.
    return FormData(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


# -- multipart/form-data ----------------------------------------------------------------


async def parse_multipart(
    chunks: AsyncIterable[bytes], content_type: str, limits: FormLimits
) -> FormData:
    """The parts of a multipart body as it streams in: text fields as ``str``, files spooled.

    Every limit is checked in the parser's callbacks, so the chunk that passes one
    is the last one parsed. Whatever ends the parse early (a limit, a malformed
    body, a client that hangs up) closes the files spooled so far.
    """
    # python_multipart is imported here: only apps that take uploads pay for it.
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise HTTPException(400, "multipart form without a boundary in its content-type")

    items: list[tuple[str, str | UploadFile]] = []
    uploads: list[UploadFile] = []  # every file opened, for the cleanup on failure
    headers: list[tuple[bytes, bytes]] = []
    header_name = bytearray()
    header_value = bytearray()
    part_data = bytearray()
    current: dict[str, Any] = {}
    # What the form holds so far, and the size of the current part's headers.
    count = {"files": 0, "fields": 0, "header_bytes": 0}

    def on_part_begin() -> None:
        headers.clear()
        part_data.clear()
        current.clear()
        count["header_bytes"] = 0

    def add_header_bytes(size: int) -> None:
        count["header_bytes"] += size
        if count["header_bytes"] > MAX_PART_HEADER_BYTES:
            raise HTTPException(
                400,
                f"multipart part with headers larger than {MAX_PART_HEADER_BYTES} bytes",
                headers=_CLOSE,
            )

    def on_header_field(data: bytes, start: int, end: int) -> None:
        add_header_bytes(end - start)
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        add_header_bytes(end - start)
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        if len(headers) == MAX_PART_HEADERS:
            raise HTTPException(
                400, f"multipart part with more than {MAX_PART_HEADERS} headers", headers=_CLOSE
            )
        headers.append((bytes(header_name).lower(), bytes(header_value)))
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        disposition = b""
        part_type = "text/plain"
        for name, value in headers:
            if name == b"content-disposition":
                disposition = value
            elif name == b"content-type":
                part_type = value.decode("latin-1")
        _, params = parse_options_header(disposition)
        if b"name" not in params:
            raise HTTPException(400, "multipart part without a name in its content-disposition")
        current["name"] = params[b"name"].decode("utf-8", "replace")
        if b"filename" not in params:
            count["fields"] += 1
            if count["fields"] > limits.max_fields:
                raise _too_many_fields(limits)
            return
        # Counted before the file is opened: the file past the limit is never created.
        count["files"] += 1
        if count["files"] > limits.max_files:
            n = limits.max_files
            raise _over("max_files", n, f"multipart form with more than {n} file{'s' * (n != 1)}")
        upload = UploadFile(
            params[b"filename"].decode("utf-8", "replace"), part_type, Headers(list(headers))
        )
        uploads.append(upload)
        current["file"] = upload

    def on_part_data(data: bytes, start: int, end: int) -> None:
        upload = current.get("file")
        if upload is not None:
            # The parser's callbacks are sync; the spooled file write is a memory
            # copy (or a small local write past the spool size).
            upload.file.write(data[start:end])
            upload.size += end - start
        else:
            if len(part_data) + (end - start) > limits.max_part_size:
                raise _field_too_large(current["name"], limits)
            part_data.extend(data[start:end])

    def on_part_end() -> None:
        if "file" in current:
            items.append((current["name"], current["file"]))
        else:
            items.append((current["name"], part_data.decode("utf-8", "replace")))

    callbacks: MultipartCallbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
    except FormParserError as exc:  # a boundary the parser refuses (longer than 256 bytes)
        raise HTTPException(400, f"invalid multipart content-type: {exc}") from None
    try:
        try:
            async for chunk in chunks:
                parser.write(chunk)
            parser.finalize()
        except FormParserError as exc:
            raise HTTPException(400, f"invalid multipart body: {exc}") from None
        if parser.state != MultipartState.END:
            # A body cut short: the part being read would be lost without a word.
            raise HTTPException(400, "invalid multipart body: it ends before its last boundary")
    except BaseException:
        # Nobody gets the form: close the files spooled so far, which deletes those
        # that rolled over to disk (past 1 MiB).
        for upload in uploads:
            upload.file.close()
        raise
    for upload in uploads:
        upload.file.seek(0)  # ready to read from the start
    return FormData(items)
