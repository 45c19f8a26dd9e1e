"""Cross-origin resource sharing (CORS): which other sites' pages may read the app's answers.

A page's JavaScript runs as the page's *origin*: its scheme, host and port, such as
``https://shop.example`` or ``http://localhost:5173`` (which is not
``http://127.0.0.1:5173``). The browser lets that script ``fetch`` any URL, but when the
URL is on another origin it hands the script the response only if the response says so,
with ``Access-Control-Allow-Origin`` naming the page's origin (or ``*``). Otherwise the
``fetch`` rejects with a ``TypeError``, and only the browser's console says why.

That is all CORS is: a server opting in to being read by pages of other origins. It is
not access control: ``curl`` reads every answer, and a simple request (below) reaches the
handler whatever the policy says. Authenticate requests, and guard cookie-authenticated
writes against CSRF, as if CORS did not exist.

Browsers send two kinds of cross-origin request:

* **simple requests**, those an HTML form could send anyway (GET, HEAD, or a POST of a
  form's content type, with no headers of the script's own), go out at once with an
  ``Origin`` header. The App answers as usual, and the middleware adds
  ``Access-Control-Allow-Origin`` (and its companions) when that origin is allowed;
* anything else (PUT, DELETE, a JSON body, an ``Authorization`` header) is first asked
  about in a **preflight**: ``OPTIONS`` with ``Origin``, ``Access-Control-Request-Method``
  and ``Access-Control-Request-Headers``. The middleware answers it itself, before the
  App: 204 with what is allowed, or 400 naming what is not. The browser sends the real
  request only after a 2xx that allows the origin, the method and every header.

>>> from asgilab import App, Client
>>> app = App()
>>> @app.get("/items")
... async def items(request):
...     return ["apple"]
>>> app.add_middleware(CORSMiddleware, allow_origins=["https://shop.example"])
>>> client = Client(app)
>>> reply = client.get("/items", headers={"Origin": "https://shop.example"})
>>> reply.json(), reply.headers["Access-Control-Allow-Origin"], reply.headers["Vary"]
(['apple'], 'https://shop.example', 'Origin')
>>> reply = client.get("/items", headers={"Origin": "https://evil.example"})
>>> reply.json(), "Access-Control-Allow-Origin" in reply.headers  # answered, yet unreadable
(['apple'], False)
>>> ask = {"Origin": "https://shop.example", "Access-Control-Request-Method": "DELETE"}
>>> refused = client.options("/items", headers=ask)
>>> refused.status_code, refused.text
(400, "CORS preflight refused: method 'DELETE' is not allowed (allowed: GET)")

WebSockets are not covered: browsers apply no CORS to them, so a websocket endpoint that
cares must check ``Origin`` itself. Websocket and lifespan scopes pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from .errors import InvalidArgument, InvalidArgumentType, excerpt
from .responses import PlainTextResponse, Response
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SAFELISTED_HEADERS", "CORSMiddleware"]

#: The request headers a preflight may always ask for (the Fetch standard's CORS-safelisted
#: request headers), lower-cased as they are compared.
#:
#: NOTE: ``content-type`` counts whatever its value. The Fetch standard safelists only a
#: form's types, so a browser asks before sending ``application/json``; but an API that
#: lets an origin in at all expects its JSON, and Starlette's middleware, which asgilab's
#: users come from, allows it too.
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})

# RFC 9110 section 5.6.2: a method or a header name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# An origin as a browser serialises it: lower-case scheme and host (IDNs in punycode), the
# port only when not the scheme's default; or "null" (sandboxed frames, file:// pages).
# PERF: no two parts can take the same character, so matching is linear in the input.
_ORIGIN = re.compile(r"null|[a-z][a-z0-9+.\-]*://(?:[a-z0-9\-._]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
# A host name is at most 253 characters: longer is no origin, and never meets the user's
# regex (whose backtracking, if it has nested quantifiers, grows with the input).
_MAX_ORIGIN = 300
_DEFAULT_PORTS = {"http": ":80", "https": ":443", "ws": ":80", "wss": ":443"}

_ALLOW_ORIGIN = b"access-control-allow-origin"
_ALLOW_CREDENTIALS = b"access-control-allow-credentials"
_EXPOSE_HEADERS = b"access-control-expose-headers"

# The options and their defaults, in the order __repr__ shows them.
_DEFAULTS: dict[str, Any] = {
    "allow_origins": (),
    "allow_origin_regex": None,
    "allow_methods": ("GET",),
    "allow_headers": (),
    "allow_credentials": False,
    "expose_headers": (),
    "max_age": 600,
}


class CORSMiddleware:
    """Answer preflights and mark the App's responses as readable by the allowed origins.

    Options (keyword-only) are checked when the layer is built, so a mistake fails at
    ``app.add_middleware``, with a message naming the option and the fix:

    - ``allow_origins``: exact origins (``"https://shop.example"``, no path, no
      trailing slash), or ``["*"]`` for every origin;
    - ``allow_origin_regex``: origins the regular expression matches in full, e.g.
      ``r"https://[a-z0-9-]+\\.shop\\.example"``. It only meets well-formed origins of
      at most 300 characters; write it without nested quantifiers all the same;
    - ``allow_methods``: what a preflight may ask for (default ``("GET",)``; ``["*"]``:
      any). Simple requests are never asked about, so they are never refused;
    - ``allow_headers``: request headers a preflight may ask for beyond
      :data:`SAFELISTED_HEADERS` (``["*"]``: any);
    - ``allow_credentials``: let pages send cookies and read the answers. Browsers refuse
      ``*`` with credentials, so with ``["*"]`` the request's ``Origin`` is echoed: every
      site may then act with the user's cookies and read the result;
    - ``expose_headers``: response headers the script may read beyond the basic ones
      (``Content-Type``, ``Content-Length``, ``Cache-Control``...);
    - ``max_age``: seconds a browser may reuse a preflight's answer (default 600;
      browsers cap it, Chromium at 7200).

    ``Vary: Origin`` is added (merged into the App's own ``Vary``) to every answer to a
    request with an ``Origin`` unless the policy is a constant ``*``, so that a shared
    cache never hands one origin's answer to another. A request without ``Origin`` is
    passed through untouched, at the cost of one look through its headers.

    >>> CORSMiddleware(None, allow_origins=["https://Shop.example"], max_age=60)
    CORSMiddleware(allow_origins=['https://shop.example'], max_age=60)
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Collection[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
        **unknown: object,
    ) -> None:
        if unknown:
            raise InvalidArgumentType(_unknown_option(next(iter(unknown))))
        if type(allow_credentials) is not bool:
            raise InvalidArgumentType(
                f"allow_credentials must be True or False, not {allow_credentials!r}"
            )
        if type(max_age) is not int:
            raise InvalidArgumentType(
                f"max_age is a whole number of seconds, not {type(max_age).__name__} {max_age!r}"
            )
        if max_age < 0:
            raise InvalidArgument(
                f"max_age is how many seconds a browser may reuse a preflight's answer: "
                f"0 or more, not {max_age}"
            )
        self.app = app
        self.allow_origins = tuple(_origin(o) for o in _strings("allow_origins", allow_origins))
        self.allow_origin_regex = allow_origin_regex
        self.allow_methods = tuple(m.upper() for m in _tokens("allow_methods", allow_methods))
        self.allow_headers = tuple(h.lower() for h in _tokens("allow_headers", allow_headers))
        self.allow_credentials = allow_credentials
        self.expose_headers = _tokens("expose_headers", expose_headers)
        self.max_age = max_age
        if not self.allow_origins and allow_origin_regex is None:
            raise InvalidArgument(
                "CORSMiddleware needs allow_origins or allow_origin_regex, or it allows no "
                "origin at all: name the pages' origins, e.g. "
                "allow_origins=['https://shop.example']"
            )

        # What the requests are checked against, worked out once.
        self._any_origin = self.allow_origins == ("*",)
        self._origins = frozenset(self.allow_origins) - {"*"}
        self._regex = _regex(allow_origin_regex)
        # None: anything is allowed (and what was asked for is echoed).
        self._methods = None if self.allow_methods == ("*",) else frozenset(self.allow_methods)
        self._headers = (
            None if self.allow_headers == ("*",) else SAFELISTED_HEADERS | set(self.allow_headers)
        )
        # A constant answer: "*" for every origin. Otherwise the answer depends on the origin.
        self._constant = self._any_origin and not allow_credentials
        # The headers every allowed answer gets besides the origin, encoded once.
        self._extra: list[tuple[bytes, bytes]] = []
        if allow_credentials:
            self._extra.append((_ALLOW_CREDENTIALS, b"true"))
        if self.expose_headers:
            self._extra.append((_EXPOSE_HEADERS, ", ".join(self.expose_headers).encode()))
        # A preflight's answer depends on the origin (unless constant), on the headers
        # asked for (they are echoed), and on the method when any is allowed (echoed too).
        vary = [] if self._constant else ["Origin"]
        if self._methods is None:
            vary.append("Access-Control-Request-Method")
        self._preflight_vary = ", ".join([*vary, "Access-Control-Request-Headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # PERF: one look through the headers and nothing built when there is no Origin:
        # same-origin page loads, curl, server-to-server calls.
        origin: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                if origin is not None:
                    # No browser sends two. Combined, as HTTP combines a repeated
                    # header, they are no origin and match none; more change nothing.
                    origin += b", " + value
                    break
                origin = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            preflight = self._preflight(origin.decode("latin-1"), scope["headers"])
            if preflight is not None:
                await preflight(scope, receive, send)
                return
        await self._actual(origin, scope, receive, send)

    def allows(self, origin: str) -> bool:
        """Whether pages of ``origin`` may read the answers.

        >>> cors = CORSMiddleware(None, allow_origin_regex=r"https://[a-z]+\\.shop\\.example")
        >>> [cors.allows(o) for o in ("https://eu.shop.example", "https://shop.example.net")]
        [True, False]
        """
        if origin in self._origins or self._constant:
            return True
        # Beyond the exact list, the origin is echoed: only a well-formed one, never bytes
        # as the client sent them; and only those meet the user's regex.
        if len(origin) > _MAX_ORIGIN or _ORIGIN.fullmatch(origin) is None:
            return False
        return self._any_origin or (self._regex is not None and bool(self._regex.fullmatch(origin)))

    async def _actual(self, origin: bytes, scope: Scope, receive: Receive, send: Send) -> None:
        """A simple (or preflighted) request: the App answers, the middleware adds headers."""
        added: list[tuple[bytes, bytes]] = []
        if self.allows(origin.decode("latin-1")):
            added = [(_ALLOW_ORIGIN, b"*" if self._constant else origin), *self._extra]
        vary = not self._constant

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _with_cors(message.get("headers", ()), added, vary)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str, headers: Iterable[tuple[bytes, bytes]]) -> Response | None:
        """The answer to a preflight, or None for a plain OPTIONS (the App's to answer)."""
        method: bytes | None = None
        repeated = False
        asked: list[bytes] = []
        for name, value in headers:
            if name == b"access-control-request-method":
                repeated = repeated or method is not None
                method = value
            elif name == b"access-control-request-headers":
                asked.append(value)  # repeated, a list header is one comma-separated list
        if method is None:
            return None

        refusals = []
        if not self.allows(origin):
            refusals.append(f"origin {excerpt(origin)!r} is not allowed")
        requested = method.decode("latin-1")
        if repeated:
            refusals.append("Access-Control-Request-Method is sent more than once")
        elif _TOKEN.fullmatch(requested) is None:
            refusals.append(f"{excerpt(requested)!r} is not a method name")
        elif self._methods is not None and requested not in self._methods:
            refusals.append(
                f"method {excerpt(requested)!r} is not allowed "
                f"(allowed: {', '.join(self.allow_methods)})"
            )
        names = _header_names(b",".join(asked).decode("latin-1"))
        malformed = [name for name in names if _TOKEN.fullmatch(name) is None]
        denied = [name for name in names if self._headers is not None and name not in self._headers]
        if malformed:
            refusals.append(f"{excerpt(malformed[0])!r} is not a header name")
        elif denied:
            header, are = ("headers", "are") if len(denied) > 1 else ("header", "is")
            refusals.append(
                f"{header} {excerpt(', '.join(denied))!r} {are} not allowed "
                f"(allowed: {', '.join(sorted(self._headers or ()))})"
            )
        if refusals:
            # Browsers read nothing but the status; the text is for whoever debugs it.
            text = "CORS preflight refused: " + "; ".join(refusals)
            return PlainTextResponse(text, 400, headers={"Vary": self._preflight_vary})

        # Every value below is a configured one or a token that passed the checks above.
        answer = {"Access-Control-Allow-Origin": "*" if self._constant else origin}
        if self.allow_credentials:
            answer["Access-Control-Allow-Credentials"] = "true"
        if self._methods is None:
            answer["Access-Control-Allow-Methods"] = requested
        else:
            answer["Access-Control-Allow-Methods"] = ", ".join(self.allow_methods)
        if names:
            answer["Access-Control-Allow-Headers"] = ", ".join(names)
        answer["Access-Control-Max-Age"] = str(self.max_age)
        answer["Vary"] = self._preflight_vary
        return Response(status_code=204, headers=answer)

    def __repr__(self) -> str:
        options = []
        for option, default in _DEFAULTS.items():
            value = getattr(self, option)
            if value != default:
                shown = list(value) if isinstance(value, tuple) else value
                options.append(f"{option}={shown!r}")
        return f"{type(self).__name__}({', '.join(options)})"


def _with_cors(
    headers: Iterable[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]], vary: bool
) -> list[tuple[bytes, bytes]]:
    """The App's response headers with ``added`` in place of its own of those names, and
    ``Origin`` merged into its ``Vary`` when ``vary``.

    >>> _with_cors([(b"vary", b"Accept-Encoding")], [(b"access-control-allow-origin", b"*")], True)
    [(b'vary', b'Accept-Encoding, Origin'), (b'access-control-allow-origin', b'*')]
    """
    # The policy decides: a handler's own CORS headers of these names give way to it.
    replaced = {name for name, _ in added}
    result = [(name, value) for name, value in headers if name.lower() not in replaced]
    if vary:
        _vary_on_origin(result)
    result.extend(added)
    return result


def _vary_on_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """Add ``Origin`` to the first ``Vary`` header (or a new one) unless a Vary has it or ``*``."""
    first = None
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            fields = {field.strip().lower() for field in value.split(b",")}
            if b"origin" in fields or b"*" in fields:
                return
            if first is None:
                first = index
    if first is None:
        headers.append((b"vary", b"Origin"))
        return
    name, value = headers[first]
    headers[first] = (name, value + b", Origin" if value.strip() else b"Origin")


def _header_names(asked: str) -> list[str]:
    """The header names a preflight asks for: lower-cased, blanks dropped, each once.

    Linear in the header's length, however long or strange it is.

    >>> _header_names(" X-Token, content-type,,x-token ")
    ['x-token', 'content-type']
    """
    names = (name.strip(" \t").lower() for name in asked.split(","))
    return list(dict.fromkeys(name for name in names if name))


# -- checking the options ------------------------------------------------------------


def _unknown_option(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, _DEFAULTS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"CORSMiddleware has no option {name!r}{hint} (options: {', '.join(sorted(_DEFAULTS))})"


def _strings(option: str, values: object) -> list[str]:
    """The strings of a list option; ``"*"`` only alone."""
    if isinstance(values, str):
        # A string is a sequence too, of one-character "origins".
        raise InvalidArgumentType(
            f"{option} takes a list of strings, not one string: write {option}=[{values!r}]"
        )
    if isinstance(values, bytes) or not isinstance(values, Iterable):
        raise InvalidArgumentType(
            f"{option} takes a list of strings, not {type(values).__name__} {values!r}"
        )
    strings = list(values)
    for value in strings:
        if not isinstance(value, str):
            raise InvalidArgumentType(
                f"{option} holds strings, not {type(value).__name__} {value!r}"
            )
    if "*" in strings and len(strings) > 1:
        raise InvalidArgument(
            f"{option}={strings!r} mixes '*' (any) with names: pass ['*'] alone, or only the names"
        )
    return strings


def _tokens(option: str, values: object) -> tuple[str, ...]:
    """The names of a methods or headers option, each a token (``"*"`` alone: any)."""
    names = _strings(option, values)
    for name in names:
        if _TOKEN.fullmatch(name) is None:
            fix = (
                f": give each its own entry, {[n.strip() for n in name.split(',')]!r}"
                if "," in name
                else " (letters, digits and !#$%&'*+-.^_`|~; no spaces or colons)"
            )
            raise InvalidArgument(f"{option} entry {name!r} is not one name{fix}")
    return tuple(names)


def _origin(entry: str) -> str:
    """An ``allow_origins`` entry as browsers send an origin (lower case), or an error saying
    why a browser would never send it."""
    if entry == "*":
        return entry
    origin = entry.lower()
    scheme, sep, rest = origin.partition("://")
    example = "an origin is scheme://host[:port], e.g. 'https://example.com'"
    if not sep:
        raise InvalidArgument(f"allow_origins entry {entry!r} has no scheme: {example}")
    if "*" in origin:
        raise InvalidArgument(
            f"allow_origins entry {entry!r} is a wildcard, which allow_origins does not "
            "expand: match several origins with allow_origin_regex, e.g. "
            r"r'https://[a-z0-9-]+\.example\.com'"
        )
    host, slash, path = rest.partition("/")
    if slash:
        raise InvalidArgument(
            f"allow_origins entry {entry!r} has a path ('/{path}'), which an origin never "
            f"has: write {f'{scheme}://{host}'!r}"
        )
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and host.endswith(default):
        raise InvalidArgument(
            f"allow_origins entry {entry!r} names the default port, which browsers leave "
            f"out of an origin: write {f'{scheme}://{host.removesuffix(default)}'!r}"
        )
    if _ORIGIN.fullmatch(origin) is None:
        raise InvalidArgument(f"allow_origins entry {entry!r} is not an origin: {example}")
    return origin


def _regex(pattern: object) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise InvalidArgumentType(
            f"allow_origin_regex is a regular expression as a string, not "
            f"{type(pattern).__name__} {pattern!r}"
        )
    if "://*" in pattern:
        # "https://*.example.com" compiles: "/*" is "any number of slashes".
        raise InvalidArgument(
            f"allow_origin_regex {pattern!r} reads like a wildcard, but it is a regular "
            "expression, where '/*' means 'any number of slashes': write e.g. "
            r"r'https://[a-z0-9-]+\.example\.com'"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidArgument(
            f"allow_origin_regex {pattern!r} is not a regular expression: {exc}"
        ) from None
