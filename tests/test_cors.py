"""CORS through an App and the in-process Client: requests in, status and CORS headers out.

Each table row is one request against an App built with the options of that row; the
CORS headers of the answer (``Access-Control-*`` and ``Vary``) are compared whole, so a
header that should be absent is checked as absent.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from asgilab import App, Client
from asgilab.cors import SAFELISTED_HEADERS, CORSMiddleware
from asgilab.errors import InvalidArgument, InvalidArgumentType
from asgilab.request import Request
from asgilab.responses import PlainTextResponse, Response
from asgilab.types import Message, Receive, Scope, Send

SHOP = "https://shop.example"
EVIL = "https://evil.example"
ALLOW_SHOP: dict[str, Any] = {"allow_origins": [SHOP]}
EVERYONE: dict[str, Any] = {"allow_origins": ["*"]}


def api(**options: Any) -> App:
    """An App with a few routes, wrapped in CORSMiddleware(**options)."""
    app = App()

    @app.get("/items")
    async def items(request: Request) -> list[str]:
        return ["apple"]

    @app.put("/items")
    async def put_items(request: Request) -> dict[str, Any]:
        return {"stored": await request.json()}

    @app.get("/varied")
    async def varied(request: Request) -> Response:
        return PlainTextResponse("gzip or not", headers={"Vary": "Accept-Encoding"})

    @app.get("/vary-origin")
    async def vary_origin(request: Request) -> Response:
        return PlainTextResponse("knows", headers={"Vary": "accept, origin"})

    @app.get("/vary-star")
    async def vary_star(request: Request) -> Response:
        return PlainTextResponse("never cached", headers={"Vary": "*"})

    @app.get("/own-cors")
    async def own_cors(request: Request) -> Response:
        return PlainTextResponse("mine", headers={"Access-Control-Allow-Origin": "https://x.y"})

    @app.get("/broken")
    async def broken(request: Request) -> str:
        raise RuntimeError("boom")

    app.add_middleware(CORSMiddleware, **options)
    return app


def cors_headers(reply: httpx.Response) -> dict[str, str]:
    """The CORS headers of an answer (and Vary), each name once: a repeat would show."""
    names = [k for k, _ in reply.headers.multi_items()]
    assert len(names) == len(set(names)), f"a header is repeated: {names}"
    return {
        k: v for k, v in reply.headers.items() if k.startswith("access-control-") or k == "vary"
    }


def ask(origin: str, method: str, headers: str | None = None) -> dict[str, str]:
    """The headers of a preflight."""
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return asked


# -- simple (and actual) requests ----------------------------------------------------

SIMPLE = [
    pytest.param(ALLOW_SHOP, "/items", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "vary": "Origin"}, id="allowed"),
    pytest.param(ALLOW_SHOP, "/items", {"Origin": EVIL}, {"vary": "Origin"}, id="disallowed"),
    pytest.param(ALLOW_SHOP, "/items", {}, {}, id="no-origin-untouched"),
    pytest.param(ALLOW_SHOP, "/items", {"Origin": "https://shop.example:8443"},
                 {"vary": "Origin"}, id="another-port-is-another-origin"),
    pytest.param(ALLOW_SHOP, "/items", {"Origin": "http://shop.example"},
                 {"vary": "Origin"}, id="another-scheme-is-another-origin"),
    pytest.param({"allow_origins": ["https://SHOP.example"]}, "/items", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "vary": "Origin"},
                 id="configured-in-upper-case"),
    pytest.param(EVERYONE, "/items", {"Origin": EVIL},
                 {"access-control-allow-origin": "*"}, id="star-is-constant-no-vary"),
    pytest.param(EVERYONE, "/items", {}, {}, id="star-no-origin-untouched"),
    pytest.param({**EVERYONE, "allow_credentials": True}, "/items", {"Origin": EVIL},
                 {"access-control-allow-origin": EVIL, "access-control-allow-credentials": "true",
                  "vary": "Origin"}, id="star-with-credentials-echoes"),
    pytest.param({**EVERYONE, "allow_credentials": True}, "/items", {"Origin": "null"},
                 {"access-control-allow-origin": "null", "access-control-allow-credentials": "true",
                  "vary": "Origin"}, id="star-with-credentials-null-origin"),
    pytest.param({**EVERYONE, "allow_credentials": True}, "/items",
                 {"Origin": "https://a.example/<script>"}, {"vary": "Origin"},
                 id="star-with-credentials-never-echoes-a-malformed-origin"),
    pytest.param({**EVERYONE, "allow_credentials": True}, "/items",
                 {"Origin": "https://" + "a" * 400 + ".example"}, {"vary": "Origin"},
                 id="star-with-credentials-never-echoes-an-overlong-origin"),
    pytest.param({**ALLOW_SHOP, "allow_credentials": True}, "/items", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "access-control-allow-credentials": "true",
                  "vary": "Origin"}, id="credentials"),
    pytest.param({**ALLOW_SHOP, "allow_credentials": True}, "/items", {"Origin": EVIL},
                 {"vary": "Origin"}, id="credentials-disallowed"),
    pytest.param({**ALLOW_SHOP, "expose_headers": ["X-Total", "X-Page"]}, "/items",
                 {"Origin": SHOP}, {"access-control-allow-origin": SHOP,
                                    "access-control-expose-headers": "X-Total, X-Page",
                                    "vary": "Origin"}, id="expose-headers"),
    pytest.param({**EVERYONE, "expose_headers": ["X-Total"]}, "/items", {"Origin": SHOP},
                 {"access-control-allow-origin": "*", "access-control-expose-headers": "X-Total"},
                 id="star-expose-headers"),
    pytest.param({"allow_origin_regex": r"https://[a-z0-9-]+\.shop\.example"}, "/items",
                 {"Origin": "https://eu.shop.example"},
                 {"access-control-allow-origin": "https://eu.shop.example", "vary": "Origin"},
                 id="regex"),
    pytest.param({"allow_origin_regex": r"https://[a-z0-9-]+\.shop\.example"}, "/items",
                 {"Origin": "https://eu.shop.example.evil.example"}, {"vary": "Origin"},
                 id="regex-matches-in-full"),
    pytest.param({"allow_origin_regex": r"https://[a-z0-9-]+\.shop\.example"}, "/items",
                 {"Origin": "https://eu.shop.example:8443"}, {"vary": "Origin"},
                 id="regex-port-not-matched"),
    pytest.param({"allow_origin_regex": ".*"}, "/items", {"Origin": "not an origin"},
                 {"vary": "Origin"}, id="regex-meets-only-well-formed-origins"),
    pytest.param({"allow_origins": [SHOP], "allow_origin_regex": r"http://localhost:\d+"},
                 "/items", {"Origin": "http://localhost:5173"},
                 {"access-control-allow-origin": "http://localhost:5173", "vary": "Origin"},
                 id="regex-and-list"),
    pytest.param(ALLOW_SHOP, "/items", [("Origin", SHOP), ("Origin", SHOP)], {"vary": "Origin"},
                 id="two-origin-headers-match-nothing"),
    # The App's own Vary header gets Origin merged in, never repeated.
    pytest.param(ALLOW_SHOP, "/varied", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "vary": "Accept-Encoding, Origin"},
                 id="vary-merged"),
    pytest.param(ALLOW_SHOP, "/varied", {"Origin": EVIL}, {"vary": "Accept-Encoding, Origin"},
                 id="vary-merged-disallowed"),
    pytest.param(ALLOW_SHOP, "/vary-origin", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "vary": "accept, origin"},
                 id="vary-already-has-origin"),
    pytest.param(ALLOW_SHOP, "/vary-star", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "vary": "*"}, id="vary-star-kept"),
    pytest.param(EVERYONE, "/varied", {"Origin": SHOP},
                 {"access-control-allow-origin": "*", "vary": "Accept-Encoding"},
                 id="star-leaves-vary-alone"),
    pytest.param(ALLOW_SHOP, "/varied", {}, {"vary": "Accept-Encoding"}, id="no-origin-vary-kept"),
    # The policy decides over a handler's own CORS header, on an allowed origin.
    pytest.param(ALLOW_SHOP, "/own-cors", {"Origin": SHOP},
                 {"access-control-allow-origin": SHOP, "vary": "Origin"}, id="policy-replaces"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "path", "headers", "expected"), SIMPLE)
def test_simple_request(
    options: dict[str, Any], path: str, headers: Any, expected: dict[str, str]
) -> None:
    reply = Client(api(**options)).get(path, headers=headers)
    assert reply.status_code == 200
    assert cors_headers(reply) == expected


def test_the_app_answers_whatever_the_origin() -> None:
    # CORS hides the answer from another origin's page; it does not stop the request.
    reply = Client(api(**ALLOW_SHOP)).put("/items", headers={"Origin": EVIL}, json=[1])
    assert (reply.status_code, reply.json()) == (200, {"stored": [1]})
    assert cors_headers(reply) == {"vary": "Origin"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("GET", "/broken", 500), ("DELETE", "/items", 405)],
)
def test_error_answers_are_readable_by_allowed_origins(method: str, path: str, status: int) -> None:
    # So the page's script can tell a 404 or a 500 from a CORS failure.
    client = Client(api(**ALLOW_SHOP), raise_app_exceptions=False)
    reply = client.request(method, path, headers={"Origin": SHOP})
    assert reply.status_code == status
    assert reply.headers["access-control-allow-origin"] == SHOP


def test_streamed_body_passes_through() -> None:
    app = App()

    @app.get("/stream")
    async def stream(request: Request) -> Response:
        from asgilab.responses import StreamingResponse

        async def parts() -> AsyncIterator[bytes]:
            for part in (b"a", b"b", b"c"):
                yield part

        return StreamingResponse(parts())

    app.add_middleware(CORSMiddleware, allow_origins=[SHOP])
    reply = Client(app).get("/stream", headers={"Origin": SHOP})
    assert (reply.content, reply.headers["access-control-allow-origin"]) == (b"abc", SHOP)


# -- preflights ----------------------------------------------------------------------

SAFE = "accept, accept-language, content-language, content-type"

PREFLIGHTS = [
    pytest.param(ALLOW_SHOP, ask(SHOP, "GET"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="allowed"),
    pytest.param({**ALLOW_SHOP, "allow_methods": ["get", "put"]}, ask(SHOP, "PUT"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET, PUT",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="methods-upper-cased-listed"),
    pytest.param({**ALLOW_SHOP, "allow_methods": ["*"]}, ask(SHOP, "PATCH"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "PATCH",
        "access-control-max-age": "600",
        "vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    }, "", id="any-method-echoed"),
    pytest.param({**ALLOW_SHOP, "allow_headers": ["X-Token"]},
                 ask(SHOP, "GET", "X-Token, Content-Type"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET",
        "access-control-allow-headers": "x-token, content-type",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="headers-echoed-lower-case"),
    pytest.param(ALLOW_SHOP, ask(SHOP, "GET", "content-type, accept"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET",
        "access-control-allow-headers": "content-type, accept",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="safelisted-headers-always-allowed"),
    pytest.param({**ALLOW_SHOP, "allow_headers": ["x-token"]},
                 ask(SHOP, "GET", " ,x-token,, X-TOKEN ,"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET",
        "access-control-allow-headers": "x-token",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="headers-blanks-and-repeats-dropped"),
    pytest.param({**ALLOW_SHOP, "allow_headers": ["*"]}, ask(SHOP, "GET", "X-A, x-b"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET",
        "access-control-allow-headers": "x-a, x-b",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="any-header-echoed"),
    pytest.param({**ALLOW_SHOP, "allow_credentials": True, "max_age": 0}, ask(SHOP, "GET"), 204, {
        "access-control-allow-origin": SHOP, "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET", "access-control-max-age": "0",
        "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="credentials-max-age"),
    pytest.param(EVERYONE, ask(EVIL, "GET"), 204, {
        "access-control-allow-origin": "*", "access-control-allow-methods": "GET",
        "access-control-max-age": "600", "vary": "Access-Control-Request-Headers",
    }, "", id="star"),
    pytest.param({**EVERYONE, "allow_credentials": True}, ask(EVIL, "GET"), 204, {
        "access-control-allow-origin": EVIL, "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET", "access-control-max-age": "600",
        "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="star-with-credentials-echoes"),
    pytest.param({"allow_origin_regex": r"http://localhost:\d+"},
                 ask("http://localhost:3000", "GET"), 204, {
        "access-control-allow-origin": "http://localhost:3000",
        "access-control-allow-methods": "GET", "access-control-max-age": "600",
        "vary": "Origin, Access-Control-Request-Headers",
    }, "", id="regex"),
    # Refusals: 400, the Vary, no CORS header, and a text naming what is not allowed.
    pytest.param(ALLOW_SHOP, ask(EVIL, "GET"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: origin 'https://evil.example' is not allowed",
                 id="origin-refused"),
    pytest.param(ALLOW_SHOP, ask(SHOP, "PUT"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: method 'PUT' is not allowed (allowed: GET)",
                 id="method-refused"),
    pytest.param(ALLOW_SHOP, ask(SHOP, "put"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: method 'put' is not allowed (allowed: GET)",
                 id="methods-are-case-sensitive"),
    pytest.param({**ALLOW_SHOP, "allow_headers": ["X-Token"]},
                 ask(SHOP, "GET", "x-token, X-Other"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: header 'x-other' is not allowed "
                 f"(allowed: {SAFE}, x-token)", id="header-refused"),
    pytest.param(ALLOW_SHOP, ask(SHOP, "GET", "X-A, X-B"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 f"CORS preflight refused: headers 'x-a, x-b' are not allowed (allowed: {SAFE})",
                 id="headers-refused"),
    pytest.param({**ALLOW_SHOP, "allow_headers": ["*"]}, ask(SHOP, "GET", "x-a, x b"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: 'x b' is not a header name",
                 id="any-header-still-a-token"),
    pytest.param({**ALLOW_SHOP, "allow_methods": ["*"]}, ask(SHOP, "GET()"), 400,
                 {"vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
                 "CORS preflight refused: 'GET()' is not a method name",
                 id="any-method-still-a-token"),
    pytest.param(ALLOW_SHOP, ask(EVIL, "DELETE", "x-a"), 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: origin 'https://evil.example' is not allowed; "
                 f"method 'DELETE' is not allowed (allowed: GET); "
                 f"header 'x-a' is not allowed (allowed: {SAFE})", id="everything-refused"),
    pytest.param(ALLOW_SHOP, {**ask(SHOP, "GET"), "Origin": "https://" + "x" * 5000}, 400,
                 {"vary": "Origin, Access-Control-Request-Headers"},
                 "CORS preflight refused: origin 'https://xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' "
                 "is not allowed", id="long-origin-quoted-short"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "headers", "status", "expected", "text"), PREFLIGHTS)
def test_preflight(
    options: dict[str, Any],
    headers: dict[str, str],
    status: int,
    expected: dict[str, str],
    text: str,
) -> None:
    reply = Client(api(**options)).options("/items", headers=headers)
    assert (reply.status_code, reply.text) == (status, text)
    assert cors_headers(reply) == expected
    assert "allow" not in reply.headers  # the middleware answered, not the App


def test_preflight_request_headers_sent_twice_are_one_list() -> None:
    headers = [*ask(SHOP, "GET").items()]
    headers += [
        ("Access-Control-Request-Headers", "x-a"),
        ("Access-Control-Request-Headers", "x-b"),
    ]
    reply = Client(api(**ALLOW_SHOP, allow_headers=["x-a", "x-b"])).options(
        "/items", headers=headers
    )
    assert reply.headers["access-control-allow-headers"] == "x-a, x-b"


def test_preflight_with_two_methods_is_refused() -> None:
    headers = [("Origin", SHOP), *[("Access-Control-Request-Method", "GET")] * 3]
    reply = Client(api(**ALLOW_SHOP)).options("/items", headers=headers)
    assert (reply.status_code, reply.text) == (
        400,
        "CORS preflight refused: Access-Control-Request-Method is sent more than once",
    )


# -- with the App's automatic OPTIONS ------------------------------------------------

OPTIONS = [
    # A plain OPTIONS (no Access-Control-Request-Method) is the App's: 204 with Allow.
    pytest.param("/items", {"Origin": SHOP}, 204, "GET, HEAD, OPTIONS, PUT",
                 {"access-control-allow-origin": SHOP, "vary": "Origin"}, id="plain-with-origin"),
    pytest.param("/items", {}, 204, "GET, HEAD, OPTIONS, PUT", {}, id="plain-without-origin"),
    pytest.param("/items", {"Access-Control-Request-Method": "GET"}, 204,
                 "GET, HEAD, OPTIONS, PUT", {}, id="no-origin-is-no-preflight"),
    pytest.param("/nowhere", {"Origin": SHOP}, 404, None,
                 {"access-control-allow-origin": SHOP, "vary": "Origin"}, id="plain-404"),
    # A preflight is the middleware's, which knows no routes: the real request gets the 404.
    pytest.param("/nowhere", ask(SHOP, "GET"), 204, None, {
        "access-control-allow-origin": SHOP, "access-control-allow-methods": "GET",
        "access-control-max-age": "600", "vary": "Origin, Access-Control-Request-Headers",
    }, id="preflight-any-path"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "headers", "status", "allow", "expected"), OPTIONS)
def test_options_with_the_apps_automatic_answer(
    path: str, headers: dict[str, str], status: int, allow: str | None, expected: dict[str, str]
) -> None:
    reply = Client(api(**ALLOW_SHOP)).options(path, headers=headers)
    assert reply.status_code == status
    assert reply.headers.get("allow") == allow
    assert cors_headers(reply) == expected


def test_preflight_then_the_actual_request() -> None:
    client = Client(api(**ALLOW_SHOP, allow_methods=["PUT"], allow_headers=["X-Request-Id"]))
    preflight = client.options("/items", headers=ask(SHOP, "PUT", "content-type, x-request-id"))
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == "content-type, x-request-id"
    reply = client.put("/items", json={"n": 1}, headers={"Origin": SHOP, "X-Request-Id": "7"})
    assert reply.json() == {"stored": {"n": 1}}
    assert cors_headers(reply) == {"access-control-allow-origin": SHOP, "vary": "Origin"}


# -- bad input costs little ----------------------------------------------------------


def test_huge_request_headers_cost_linear_time() -> None:
    client = Client(api(**ALLOW_SHOP, allow_headers=["*"], allow_origin_regex=r"(a|a)*b"))
    names = ", ".join(f"x-{n}" for n in range(20_000))
    start = time.perf_counter()
    reply = client.options("/items", headers=ask("https://" + "a" * 100_000, "GET", names))
    elapsed = time.perf_counter() - start
    assert reply.status_code == 400
    assert len(reply.text) < 200  # client input is quoted, never returned whole
    assert elapsed < 2.0


def test_malformed_header_names_are_not_echoed() -> None:
    reply = Client(api(**ALLOW_SHOP, allow_headers=["*"])).options(
        "/items", headers=ask(SHOP, "GET", "x-ok, <img src=x>")
    )
    assert reply.status_code == 400
    assert "access-control-allow-headers" not in reply.headers


# -- other scopes ----------------------------------------------------------------------


def test_lifespan_passes_through_to_the_app() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, str]]:
        events.append("startup")
        yield {"greeting": "hi"}
        events.append("shutdown")

    app = App(lifespan=lifespan)

    @app.get("/")
    async def index(request: Request) -> str:
        return request.state.greeting  # type: ignore[no-any-return]

    app.add_middleware(CORSMiddleware, allow_origins=[SHOP])
    with Client(app) as client:
        reply = client.get("/", headers={"Origin": SHOP})
    assert (reply.text, reply.headers["access-control-allow-origin"]) == ("hi", SHOP)
    assert events == ["startup", "shutdown"]


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
def test_other_scopes_reach_the_app_as_they_came(scope_type: str) -> None:
    seen: list[tuple[Scope, Receive, Send]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": f"{scope_type}.connect"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": scope_type, "headers": [(b"origin", EVIL.encode())]}
    asyncio.run(CORSMiddleware(inner, allow_origins=[SHOP])(scope, receive, send))
    assert seen == [(scope, receive, send)]
    assert scope == {"type": scope_type, "headers": [(b"origin", EVIL.encode())]}


def test_a_request_without_origin_gets_the_apps_own_send() -> None:
    sends: list[Send] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        sends.append(send)

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "http", "method": "GET", "headers": [(b"accept", b"*/*")]}
    asyncio.run(CORSMiddleware(inner, allow_origins=[SHOP])(scope, None, send))  # type: ignore[arg-type]
    assert sends == [send]


# -- the options ---------------------------------------------------------------------

OPTION_ERRORS = [
    ({}, InvalidArgument,
     "CORSMiddleware needs allow_origins or allow_origin_regex, or it allows no origin at all: "
     "name the pages' origins, e.g. allow_origins=['https://shop.example']"),
    ({"allow_origins": SHOP}, InvalidArgumentType,
     "allow_origins takes a list of strings, not one string: "
     "write allow_origins=['https://shop.example']"),
    ({"allow_origins": 3}, InvalidArgumentType, "allow_origins takes a list of strings, not int 3"),
    ({"allow_origins": [b"https://a.example"]}, InvalidArgumentType,
     "allow_origins holds strings, not bytes b'https://a.example'"),
    ({"allow_origins": ["*", SHOP]}, InvalidArgument,
     "allow_origins=['*', 'https://shop.example'] mixes '*' (any) with names: "
     "pass ['*'] alone, or only the names"),
    ({"allow_origins": ["shop.example"]}, InvalidArgument,
     "allow_origins entry 'shop.example' has no scheme: "
     "an origin is scheme://host[:port], e.g. 'https://example.com'"),
    ({"allow_origins": ["https://shop.example/"]}, InvalidArgument,
     "allow_origins entry 'https://shop.example/' has a path ('/'), which an origin never has: "
     "write 'https://shop.example'"),
    ({"allow_origins": ["https://shop.example/api"]}, InvalidArgument,
     "allow_origins entry 'https://shop.example/api' has a path ('/api'), which an origin "
     "never has: write 'https://shop.example'"),
    ({"allow_origins": ["https://shop.example:443"]}, InvalidArgument,
     "allow_origins entry 'https://shop.example:443' names the default port, which browsers "
     "leave out of an origin: write 'https://shop.example'"),
    ({"allow_origins": ["https://*.shop.example"]}, InvalidArgument,
     "allow_origins entry 'https://*.shop.example' is a wildcard, which allow_origins does not "
     "expand: match several origins with allow_origin_regex, e.g. "
     r"r'https://[a-z0-9-]+\.example\.com'"),
    ({"allow_origins": ["https://shop example"]}, InvalidArgument,
     "allow_origins entry 'https://shop example' is not an origin: "
     "an origin is scheme://host[:port], e.g. 'https://example.com'"),
    ({"allow_origin_regex": "https://(shop"}, InvalidArgument,
     "allow_origin_regex 'https://(shop' is not a regular expression: "
     "missing ), unterminated subpattern at position 8"),
    ({"allow_origin_regex": "https://*.shop.example"}, InvalidArgument,
     "allow_origin_regex 'https://*.shop.example' reads like a wildcard, but it is a regular "
     "expression, where '/*' means 'any number of slashes': write e.g. "
     r"r'https://[a-z0-9-]+\.example\.com'"),
    ({"allow_origin_regex": ["https://a.example"]}, InvalidArgumentType,
     "allow_origin_regex is a regular expression as a string, not list ['https://a.example']"),
    ({**ALLOW_SHOP, "allow_methods": "GET"}, InvalidArgumentType,
     "allow_methods takes a list of strings, not one string: write allow_methods=['GET']"),
    ({**ALLOW_SHOP, "allow_methods": ["GET, POST"]}, InvalidArgument,
     "allow_methods entry 'GET, POST' is not one name: give each its own entry, ['GET', 'POST']"),
    ({**ALLOW_SHOP, "allow_headers": ["X Token"]}, InvalidArgument,
     "allow_headers entry 'X Token' is not one name "
     "(letters, digits and !#$%&'*+-.^_`|~; no spaces or colons)"),
    ({**ALLOW_SHOP, "allow_headers": ["*", "x-token"]}, InvalidArgument,
     "allow_headers=['*', 'x-token'] mixes '*' (any) with names: "
     "pass ['*'] alone, or only the names"),
    ({**ALLOW_SHOP, "expose_headers": ["X-Total:"]}, InvalidArgument,
     "expose_headers entry 'X-Total:' is not one name "
     "(letters, digits and !#$%&'*+-.^_`|~; no spaces or colons)"),
    ({**ALLOW_SHOP, "allow_credentials": "yes"}, InvalidArgumentType,
     "allow_credentials must be True or False, not 'yes'"),
    ({**ALLOW_SHOP, "max_age": 1.5}, InvalidArgumentType,
     "max_age is a whole number of seconds, not float 1.5"),
    ({**ALLOW_SHOP, "max_age": True}, InvalidArgumentType,
     "max_age is a whole number of seconds, not bool True"),
    ({**ALLOW_SHOP, "max_age": -1}, InvalidArgument,
     "max_age is how many seconds a browser may reuse a preflight's answer: 0 or more, not -1"),
    ({"allow_origin": [SHOP]}, InvalidArgumentType,
     "CORSMiddleware has no option 'allow_origin'; did you mean 'allow_origins'? (options: "
     "allow_credentials, allow_headers, allow_methods, allow_origin_regex, allow_origins, "
     "expose_headers, max_age)"),
    ({"origins": [SHOP]}, InvalidArgumentType,
     "CORSMiddleware has no option 'origins'; did you mean 'allow_origins'? (options: "
     "allow_credentials, allow_headers, allow_methods, allow_origin_regex, allow_origins, "
     "expose_headers, max_age)"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "error", "message"), OPTION_ERRORS)
def test_invalid_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        CORSMiddleware(None, **options)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_invalid_options_fail_before_any_answer() -> None:
    # The App builds the layer when it is added (at the latest, for the first request).
    app = App()
    with pytest.raises(InvalidArgumentType, match="not one string"):
        app.add_middleware(CORSMiddleware, allow_origins="https://shop.example")
        Client(app).get("/")


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        (ALLOW_SHOP, "CORSMiddleware(allow_origins=['https://shop.example'])"),
        (
            {
                "allow_origin_regex": r"https://.+\.example",
                "allow_methods": ["get", "PUT"],
                "allow_headers": ["X-Token"],
                "allow_credentials": True,
                "expose_headers": ["X-Total"],
                "max_age": 60,
            },
            r"CORSMiddleware(allow_origin_regex='https://.+\\.example', "
            "allow_methods=['GET', 'PUT'], allow_headers=['x-token'], allow_credentials=True, "
            "expose_headers=['X-Total'], max_age=60)",
        ),
    ],
)
def test_repr_shows_what_was_registered(options: dict[str, Any], shown: str) -> None:
    assert repr(CORSMiddleware(None, **options)) == shown  # type: ignore[arg-type]


def test_safelisted_headers() -> None:
    assert sorted(SAFELISTED_HEADERS) == SAFE.split(", ")


def test_adding_it_again_replaces_it() -> None:
    # A re-run notebook cell: the same class with the same options is one layer.
    app = api(**ALLOW_SHOP)
    app.add_middleware(CORSMiddleware, allow_origins=[SHOP])
    assert len(app.user_middleware) == 1
