"""The small containers a request and a response are made of.

ASGI hands an application raw material: headers as a list of ``(bytes, bytes)``
pairs, the query string as bytes. The classes here give that material the shape
HTTP gives it, and nothing more:

* :class:`Headers` -- case-insensitive, keeps repeated headers, decoded as latin-1
  (HTTP/1.1 header values are bytes; latin-1 maps every byte to one character, so
  nothing is lost and nothing can fail to decode).
* :class:`MutableHeaders` -- the same view over a response's header list, refusing
  CR and LF so a header can never split a response in two.
* :class:`MultiDict` / :class:`QueryParams` -- a key may repeat (``?tag=a&tag=b``);
  ``query["tag"]`` gives the last value, ``getlist`` gives all of them, and typed
  access answers the *client* with 400 when a value does not convert.
* :class:`State` -- a dict seen through attributes (``request.state.db``).
* :class:`URL`, :class:`Address`, :class:`UploadFile`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar, overload
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .converters import BY_TYPE, converter_name
from .errors import AsgilabError, HTTPException, excerpt
from .files import safe_filename

__all__ = [
    "URL",
    "Address",
    "FormData",
    "Headers",
    "InvalidHeader",
    "InvalidParameter",
    "MissingParameter",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "State",
    "UploadFile",
    "ascii_url",
    "encode_header",
    "strip_root_path",
]

T = TypeVar("T")
D = TypeVar("D")
V = TypeVar("V")


class InvalidHeader(AsgilabError, ValueError):
    """A response header name or value that would corrupt the response (CR, LF, NUL, non latin-1).

    Raised in the handler that builds the response, so the client gets a 500 and
    never a response split in two by an injected line break.
    """


class MissingParameter(HTTPException, KeyError):
    """``query["page"]`` with no ``page`` sent: a 400 for the client, a KeyError for code.

    Being a ``KeyError`` keeps ``Mapping`` semantics (``in``, ``get``) intact; being an
    :class:`~asgilab.errors.HTTPException` means an unguarded ``request.query["page"]``
    answers ``400 missing query parameter 'page'`` instead of a 500.
    """

    def __init__(self, key: str, where: str = "query parameter") -> None:
        super().__init__(400, f"missing {where} {key!r}")
        self.key = key

    def __str__(self) -> str:
        return HTTPException.__str__(self)


class InvalidParameter(HTTPException, ValueError):
    """``?limit=5_0`` read with ``type=int``: a 400 for the client, a ValueError for code.

    The detail names the parameter, quotes the value (an excerpt of it: the client wrote
    it) and says what would do.

    >>> error = InvalidParameter("page", "two", "int")
    >>> error.status_code, error.detail, isinstance(error, ValueError)
    (400, "query parameter 'page' must be int, got 'two'", True)
    """

    def __init__(self, key: str, value: str, expected: str, where: str = "query parameter") -> None:
        super().__init__(400, f"{where} {key!r} must be {expected}, got {excerpt(value)!r}")
        self.key = key
        self.value = value


# NOTE: a header value may hold no control character but tab (RFC 9110 section 5.5: CR
# and LF would inject headers); a name must be a non-empty token (section 5.6.2). These
# checks run on headers the *application* sets: the server parsed the request's already,
# and refuses a bad response header by dropping the connection, not with a 500.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    """Validate one response header and encode it for ASGI (name lower-cased, latin-1).

    >>> encode_header("X-Count", "3")
    (b'x-count', b'3')
    >>> encode_header("X-Evil", "a\\r\\nSet-Cookie: b=c")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.datastructures.InvalidHeader: header 'X-Evil' has a CR, LF, NUL or other control ...
    """
    if _TOKEN.fullmatch(name) is None:
        raise InvalidHeader(
            f"invalid header name {name!r}: it must be a non-empty token (letters, digits "
            "and !#$%&'*+-.^_`|~; no spaces, colons or control characters)"
        )
    if _CONTROL.search(value):
        raise InvalidHeader(
            f"header {name!r} has a CR, LF, NUL or other control character in its value "
            f"{value!r}; remove it (a line break would inject a header)"
        )
    try:
        return name.lower().encode("latin-1"), value.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidHeader(
            f"header {name!r}: {value!r} is not latin-1; percent-encode it "
            "(or use RFC 8187 encoding) before putting it in a header"
        ) from None


# A Host header: a name or an IPv4 address (unreserved and sub-delims, RFC 3986), or an
# IPv6 address in brackets; then an optional port.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::([0-9]{1,5}))?")


def _valid_host(host: str) -> bool:
    """Whether a client's ``Host`` is an authority a URL can hold (a port up to 65535).

    >>> [_valid_host(h) for h in ("example.com:8000", "[::1]:80", "a/b?", "a:99999", "[zz]")]
    [True, True, False, False, False]
    """
    found = _HOST.fullmatch(host)
    return found is not None and int(found[1] or 0) <= 65535


def _header_key(key: str) -> bytes:
    try:
        return key.lower().encode("latin-1")
    except UnicodeEncodeError:  # "€": no header has such a name, so a miss, not an error
        return b""


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive headers over the ASGI ``[(name, value), ...]`` list.

    >>> h = Headers([(b"accept", b"text/html"), (b"x-tag", b"a"), (b"x-tag", b"b")])
    >>> h["Accept"], h["x-tag"], h.getlist("X-Tag")
    ('text/html', 'b', ['a', 'b'])
    >>> "ACCEPT" in h, len(h)
    (True, 3)
    """

    __slots__ = ("raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]] | None = None) -> None:
        # PERF: keep the server's list as is; decode only what is asked for.
        self.raw: list[tuple[bytes, bytes]] = raw if raw is not None else []

    def __getitem__(self, key: str) -> str:
        # HTTP says repeated headers combine in order, so the last one wins for a
        # single-valued lookup (as with query parameters); getlist() gives them all.
        wanted = _header_key(key)
        found: bytes | None = None
        for name, value in self.raw:
            if name == wanted:
                found = value
        if found is None:
            raise KeyError(key)
        return found.decode("latin-1")

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in the order the client sent them."""
        wanted = _header_key(key)
        return [v.decode("latin-1") for n, v in self.raw if n == wanted]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        wanted = _header_key(key)
        return any(name == wanted for name, _ in self.raw)

    def __iter__(self) -> Iterator[str]:
        return (name.decode("latin-1") for name, _ in self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """All ``(name, value)`` pairs, repeated names included."""
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw]

    def values(self) -> list[str]:  # type: ignore[override]
        """Every value, in order, repeated names included (as :meth:`items`)."""
        return [v.decode("latin-1") for _, v in self.raw]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return sorted(self.raw) == sorted(other.raw)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items()!r})"


class MutableHeaders(Headers):
    """Headers a response is still allowed to change; every write is validated.

    >>> h = MutableHeaders()
    >>> h["Content-Type"] = "text/plain"
    >>> h.append("set-cookie", "a=1"); h.append("set-cookie", "b=2")
    >>> h.raw
    [(b'content-type', b'text/plain'), (b'set-cookie', b'a=1'), (b'set-cookie', b'b=2')]
    >>> del h["SET-COOKIE"]; h.raw
    [(b'content-type', b'text/plain')]
    """

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        """Replace every ``key`` header with this one value."""
        name, raw_value = encode_header(key, value)
        self.raw[:] = [(n, v) for n, v in self.raw if n != name]
        self.raw.append((name, raw_value))

    def __delitem__(self, key: str) -> None:
        wanted = _header_key(key)
        self.raw[:] = [(n, v) for n, v in self.raw if n != wanted]

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping those already there (for ``set-cookie``, ``vary``...)."""
        self.raw.append(encode_header(key, value))

    def setdefault(self, key: str, value: str) -> str:
        """Set ``key`` unless present; return its value."""
        if key not in self:
            self[key] = value
        return self[key]

    def update(self, other: Mapping[str, str]) -> None:
        """Set each header of ``other`` (replacing same-named ones)."""
        for key, value in other.items():
            self[key] = value


# NOTE: bool("false") is True, a classic trap, so type=bool never calls bool(): it takes
# these words (in any case), as HTML forms and config files spell booleans, and refuses
# the rest. "" is refused too: "?debug" alone does not say which.
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_BOOL_FORM = "bool (1, true, yes, on, or 0, false, no, off)"


def _convert(key: str, value: str, type_: Callable[[str], T], where: str) -> T:
    """Convert a client-supplied string, answering 400 (not 500) when it does not fit.

    ``int``, ``float`` and ``uuid.UUID`` take what the path converter of that type takes
    (``{x:int}``), by asking that converter, and numbers may be negative; ``bool`` takes
    the words above; any other callable is called, and a ``ValueError`` (or
    ``TypeError``, ``ArithmeticError``) it raises becomes the 400.
    """
    name = converter_name(type_)
    typed = BY_TYPE[name] if name is not None else None
    if typed is not None:
        converter, form, signed = typed
        negative = signed and value.startswith("-")
        result = converter.accept(value[1:] if negative else value)
        if result is None:
            raise InvalidParameter(key, value, f"{type_.__name__} ({form})", where)
        return -result if negative else result  # type: ignore[no-any-return]
    if type_ is bool:
        low = value.lower()
        if low in _TRUE:
            return True  # type: ignore[return-value]
        if low in _FALSE:
            return False  # type: ignore[return-value]
        raise InvalidParameter(key, value, _BOOL_FORM, where)
    try:
        return type_(value)
    except (ValueError, TypeError, ArithmeticError) as error:  # Decimal("x"): InvalidOperation
        type_name = getattr(type_, "__name__", repr(type_))
        raise InvalidParameter(key, value, type_name, where) from error


class MultiDict(Mapping[str, V]):
    """A mapping where a key may repeat: ``d[key]`` is the last value, ``getlist`` all of them.

    >>> d = MultiDict([("tag", "a"), ("tag", "b"), ("page", "2")])
    >>> d["tag"], d.getlist("tag"), list(d), d.multi_items()
    ('b', ['a', 'b'], ['tag', 'page'], [('tag', 'a'), ('tag', 'b'), ('page', '2')])
    """

    __slots__ = ("_dict", "_list")
    _where = "parameter"

    def __init__(self, items: Iterable[tuple[str, V]] = ()) -> None:
        self._list: list[tuple[str, V]] = list(items)
        # A later value overwrites an earlier one, so the dict holds the last of each key.
        self._dict: dict[str, V] = dict(self._list)

    def __getitem__(self, key: str) -> V:
        try:
            return self._dict[key]
        except KeyError:
            raise MissingParameter(key, self._where) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def getlist(self, key: str) -> list[V]:
        """Every value of ``key`` in order (``[]`` when absent)."""
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, V]]:
        """All ``(key, value)`` pairs in order, repeats included."""
        return list(self._list)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return sorted(self._list, key=repr) == sorted(other._list, key=repr)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class QueryParams(MultiDict[str]):
    """The query string, parsed once; typed access answers 400 on a bad value.

    >>> q = QueryParams(b"page=2&tag=a&tag=b&debug=on")
    >>> q["page"], q.get("page", type=int), q.getlist("tag"), q.get("debug", type=bool)
    ('2', 2, ['a', 'b'], True)
    >>> q.get("size", 10, type=int)
    10
    >>> q.get("tag", type=int)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    asgilab.datastructures.InvalidParameter: 400: query parameter 'tag' must be int (...), got 'b'
    >>> q["missing"]
    Traceback (most recent call last):
    ...
    asgilab.datastructures.MissingParameter: 400: missing query parameter 'missing'
    """

    __slots__ = ()
    _where = "query parameter"

    def __init__(self, query: bytes | str | Iterable[tuple[str, str]] = b"") -> None:
        if isinstance(query, bytes):
            # Browsers percent-encode a query, but some servers (Granian) pass on raw UTF-8
            # bytes a client sent: escaped here, they decode as UTF-8, as %C3%A9 does.
            query = ascii_url(query)
        if isinstance(query, str):
            # keep_blank_values: "?flag" and "?flag=" are both present, with value "".
            super().__init__(parse_qsl(query, keep_blank_values=True))
        else:
            super().__init__(query)

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: D) -> str | D: ...
    @overload
    def get(self, key: str, default: D = ..., *, type: Callable[[str], T]) -> T | D: ...

    def get(self, key: str, default: Any = None, *, type: Any = None) -> Any:
        """The last value of ``key`` (or ``default``), converted by ``type`` when given.

        A value that ``type`` cannot convert raises :class:`InvalidParameter`, a 400
        naming the parameter, so a bad ``?page=abc`` is the client's error, not a 500.

        - ``int``, ``float``, ``uuid.UUID``: what ``{page:int}`` (``float``, ``uuid``)
          takes in a path, so ``"5_0"``, ``" 5 "``, ``"1e3"`` and non-ASCII digits are
          refused although ``int()`` and ``float()`` take them; in a query a number may
          also be negative (``?offset=-1``).
        - ``bool``: ``1``, ``true``, ``yes``, ``on`` or ``0``, ``false``, ``no``, ``off``
          in any case; anything else is refused (``bool("false")`` would be True).
        - any other callable is called with the text; a ``ValueError`` it raises is the 400.

        >>> q = QueryParams("lat=-1.5&page=5_0&tag=a")
        >>> q.get("lat", type=float), q.get("tag", type=str.upper)
        (-1.5, 'A')
        >>> q.get("page", type=int)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        asgilab.datastructures.InvalidParameter: 400: query parameter 'page' must be int (...
        """
        value = self._dict.get(key)
        if value is None:
            return default
        if type is None:
            return value
        return _convert(key, value, type, self._where)

    def getlist(self, key: str, *, type: Callable[[str], Any] | None = None) -> list[Any]:
        """Every value of ``key``, each converted by ``type`` when given (400 on a bad one)."""
        values = super().getlist(key)
        if type is None:
            return values
        return [_convert(key, v, type, self._where) for v in values]


class State:
    """Attribute access over a dict: ``state.db`` is ``state_dict["db"]``.

    The App builds ``request.state`` over ``scope["state"]``, the per-request copy
    of what the lifespan yielded, so setting ``request.state.user`` in a middleware
    is visible to the handler, and never to the next request.

    >>> s = State({"db": "sqlite"})
    >>> s.db
    'sqlite'
    >>> s.user = "ada"; s._state
    {'db': 'sqlite', 'user': 'ada'}
    >>> s.cache
    Traceback (most recent call last):
    ...
    AttributeError: 'State' has no attribute 'cache' (known: db, user)
    """

    __slots__ = ("_state",)

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_state", state if state is not None else {})

    def __getattr__(self, key: str) -> Any:
        if key == "_state":  # unset: copy and pickle build the object without __init__
            raise AttributeError(key)
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(self._missing(key)) from None

    def _missing(self, key: str) -> str:
        """What the error for a missing ``key`` says (``request.state`` says more)."""
        known = ", ".join(sorted(self._state)) or "none"
        # A private subclass (request.state's) is a State to whoever reads the message.
        name = type(self).__name__
        name = "State" if name.startswith("_") else name
        return f"{name!r} has no attribute {key!r} (known: {known})"

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delattr__(self, key: str) -> None:
        del self._state[key]

    def __getstate__(self) -> dict[str, Any]:
        return dict(self._state)  # copy.copy(state) gets its own dict, not this one

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_state", state)

    def __repr__(self) -> str:
        return f"State({self._state!r})"


class Address(NamedTuple):
    """The peer of a connection: ``Address(host='127.0.0.1', port=51234)``."""

    host: str
    port: int


def strip_root_path(path: str, root_path: str) -> str | None:
    """``path`` below ``root_path``, or None when it does not start there (at a segment end).

    ``path`` is raw (percent-encoded, as the client sent it) and ``root_path`` decoded, as
    ASGI gives both. Servers differ: uvicorn puts the root in front of the path as it was
    configured; a client or proxy may have percent-encoded it.

    >>> strip_root_path("/api/users", "/api"), strip_root_path("/apix", "/api")
    ('/users', None)
    >>> strip_root_path("/my%20api/items", "/my api"), strip_root_path("/api", "/api")
    ('/items', '/')
    """
    if path.startswith(root_path):
        rest = path[len(root_path) :]
    else:
        # Compare decoded: as many segments of path as root_path has.
        segments = root_path.count("/") + 1
        head = "/".join(path.split("/", segments)[:segments])
        if "%" not in head or unquote(head) != root_path:
            return None
        rest = path[len(head) :]
    if rest and rest[0] != "/":
        return None  # "/api" is no prefix of "/apix"
    return rest or "/"


def ascii_url(raw: bytes) -> str:
    """A raw path or query as URL text: ASCII as is, every other byte percent-encoded.

    Clients send a URL in ASCII, escaping the rest (``/files/caf%C3%A9``), and most
    servers pass those bytes on; some (Granian) pass on raw UTF-8 a client sent unescaped.
    Read as latin-1, those bytes would be mojibake (``/files/cafÃ©``); escaped, they are
    the URL a browser would have sent. ``%`` escapes already there are kept.

    >>> ascii_url("/files/café".encode()), ascii_url(b"/files/caf%C3%A9?q=1")
    ('/files/caf%C3%A9', '/files/caf%C3%A9?q=1')
    """
    if raw.isascii():  # PERF: the usual case, one C call
        return raw.decode("ascii")
    return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)


class URL(str):
    """A URL that is a ``str`` and also exposes its parts.

    >>> url = URL("http://example.com:8000/api/users?page=2")
    >>> url.scheme, url.netloc, url.hostname, url.port, url.path, url.query
    ('http', 'example.com:8000', 'example.com', 8000, '/api/users', 'page=2')
    >>> url == "http://example.com:8000/api/users?page=2"
    True
    """

    __slots__ = ()

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> URL:
        """Rebuild the URL the client asked for, from the ``Host`` header or ``server``.

        ASGI's ``path`` is decoded; the URL keeps the raw (percent-encoded) form
        from ``raw_path`` so it can be sent back out unchanged (raw non-ASCII bytes,
        which Granian passes on, percent-encoded: see :func:`ascii_url`). ``root_path``
        (where the app is mounted) is part of the URL, not of the route. With no usable
        ``Host`` header, the host is the ``server`` address, or ``localhost`` when there
        is none or it is a Unix socket.

        >>> URL.from_scope({"server": ("/run/app.sock", None), "headers": [],
        ...                 "raw_path": "/files/café".encode(), "query_string": "q=é".encode()})
        URL('http://localhost/files/caf%C3%A9?q=%C3%A9')
        """
        scheme = scope.get("scheme", "http")
        host = None
        for name, value in scope.get("headers") or ():
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host is not None and not _valid_host(host):
            # The client wrote it: "evil.example/x?" would move the path, "a:99999" make
            # url.port raise. Such a Host names no authority; use the server's address.
            host = None
        if host is None:
            server = scope.get("server")
            # A Unix socket is (path, None) in ASGI ((path, 0) from Granian): its path is no
            # host. Like no server at all, it gets localhost (a URL needs a host).
            if server is None or not server[1] or "/" in server[0]:
                host = "localhost"
            else:
                server_host, port = server[0], server[1]
                if ":" in server_host:
                    server_host = f"[{server_host}]"  # IPv6, as a URL writes it
                default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)
                host = server_host if port == default else f"{server_host}:{port}"
        raw_path = scope.get("raw_path")
        root_path: str = scope.get("root_path", "")
        path = ascii_url(raw_path) if raw_path is not None else quote(scope.get("path", "/"))
        # uvicorn's path already starts with root_path, httpx's does not: add it once.
        if root_path and strip_root_path(path, root_path) is None:
            path = quote(root_path) + path
        url = f"{scheme}://{host}{path}"
        query = scope.get("query_string") or b""
        if query:
            url += "?" + ascii_url(query)
        return cls(url)

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` (or ``ws``/``wss``)."""
        return urlsplit(self).scheme

    @property
    def netloc(self) -> str:
        """Host and port as sent: ``example.com:8000``."""
        return urlsplit(self).netloc

    @property
    def hostname(self) -> str | None:
        """The host name, lower-cased, without the port."""
        return urlsplit(self).hostname

    @property
    def port(self) -> int | None:
        """The port when explicit in the URL, else ``None``."""
        return urlsplit(self).port

    @property
    def path(self) -> str:
        """The (percent-encoded) path, root path included."""
        return urlsplit(self).path

    @property
    def query(self) -> str:
        """The raw query string, without ``?``."""
        return urlsplit(self).query

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"


class UploadFile:
    """One file from a multipart form: its name, type, and contents spooled to disk past 1 MiB.

    ``filename`` is the name *as the client sent it*: ``../../etc/cron.d/pwn`` as
    often as ``cv.pdf``. To save the file, use :attr:`safe_filename`, never ``filename``::

        path = safe_join(DIR, upload.safe_filename)  # NOT os.path.join(DIR, upload.filename)

    >>> import asyncio
    >>> f = UploadFile("notes.txt", content_type="text/plain")
    >>> async def roundtrip():
    ...     await f.write(b"hello")
    ...     await f.seek(0)
    ...     return await f.read()
    >>> asyncio.run(roundtrip())
    b'hello'
    """

    # Small uploads stay in memory; bigger ones go to a temporary file, so a form
    # never holds more than this much of a file in RAM.
    spool_max_size = 1024 * 1024

    def __init__(
        self,
        filename: str | None,
        content_type: str = "application/octet-stream",
        headers: Headers | None = None,
    ) -> None:
        import tempfile  # here, not at import time: only a form with a file needs it

        self.filename = filename
        self.content_type = content_type
        self.headers = headers or Headers()
        self.file = tempfile.SpooledTemporaryFile(max_size=self.spool_max_size)  # noqa: SIM115
        self.size = 0

    @property
    def safe_filename(self) -> str:
        """A name that is safe to save this file under: the last part of ``filename``,
        printable, never hidden, empty, ``.`` or ``..`` (see :func:`asgilab.files.safe_filename`).

        >>> UploadFile("../../etc/cron.d/pwn").safe_filename, UploadFile(None).safe_filename
        ('pwn', 'upload')
        """
        return safe_filename(self.filename)

    # The file methods are async so a handler reads an upload the same way it reads
    # a body; in memory they are instant, and rolled-over files are small local reads.
    async def write(self, data: bytes) -> None:
        """Append ``data`` (used while parsing)."""
        self.file.write(data)
        self.size += len(data)

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all by default)."""
        return self.file.read(size)

    async def seek(self, offset: int) -> None:
        """Move to ``offset``."""
        self.file.seek(offset)

    async def close(self) -> None:
        """Release the temporary file."""
        self.file.close()

    def __repr__(self) -> str:
        return (
            f"UploadFile(filename={self.filename!r}, content_type={self.content_type!r}, "
            f"size={self.size})"
        )


class FormData(MultiDict[str | UploadFile]):
    """A parsed form: text fields are ``str``, file fields :class:`UploadFile`.

    >>> form = FormData([("name", "ada"), ("lang", "py"), ("lang", "c")])
    >>> form["name"], form.getlist("lang")
    ('ada', ['py', 'c'])
    """

    __slots__ = ()
    _where = "form field"

    async def close(self) -> None:
        """Close every uploaded file (the Request does this after the response)."""
        for _, value in self._list:
            if isinstance(value, UploadFile):
                await value.close()
