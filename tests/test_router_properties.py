"""The radix tree against a deliberately simple reference matcher, on random routes and paths.

The reference keeps every route as a list of per-segment regexes, sorts the routes by
specificity (the segment keys, left to right) and returns the first whose regexes match
and that accepts the method. It shares only the pattern parser with the router (which
has its own tests): no tree, no backtracking, no fast paths, its own percent-decoder.
"""

import contextlib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgilab.errors import InvalidPath, RouteConflict, URLBuildError
from asgilab.explain import Explanation
from asgilab.patterns import Param, Pattern, Segment, parse_pattern
from asgilab.router import Match, Miss, Route, Router, split_path

METHODS = ["GET", "POST", "HEAD", "PUT"]


# -- the reference matcher ----------------------------------------------------------------------


def reference_decode(segment: str) -> str:
    """Percent-decode one segment, byte by byte (no urllib), strictly UTF-8."""
    out = bytearray()
    i = 0
    while i < len(segment):
        if segment[i] == "%":
            digits = segment[i + 1 : i + 3]
            if len(digits) < 2 or any(c not in string.hexdigits for c in digits):
                raise InvalidPath("bad escape")
            out.append(int(digits, 16))
            i += 3
        else:
            out += segment[i].encode("utf-8")
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPath("not UTF-8") from None


def segment_regex(segment: Segment) -> re.Pattern[str]:
    """The segment as one regex with a group per parameter."""
    return re.compile(
        "".join(
            re.escape(p) if isinstance(p, str) else f"({p.converter.regex})" for p in segment.parts
        )
    )


@dataclass
class Reference:
    """Every route as regexes, tried in specificity order."""

    entries: list[tuple[tuple[Any, ...], Route, Pattern, list[re.Pattern[str]]]]

    @classmethod
    def of(cls, accepted: list[tuple[Route, Pattern]]) -> "Reference":
        entries = [
            (
                tuple(s.key for s in pattern.segments),
                route,
                pattern,
                [segment_regex(s) for s in pattern.segments],
            )
            for route, pattern in accepted
        ]
        return cls(entries)

    def path_matches(
        self, pattern: Pattern, regexes: list[re.Pattern[str]], segments: list[str]
    ) -> dict[str, Any] | None:
        catch_all = pattern.segments[-1].kind == "catch_all"
        n = len(pattern.segments)
        if catch_all:
            if len(segments) < n:
                return None
            segments = [*segments[: n - 1], "/".join(segments[n - 1 :])]
        elif len(segments) != n:
            return None
        params: dict[str, Any] = {}
        for segment, regex, text in zip(pattern.segments, regexes, segments, strict=True):
            m = regex.fullmatch(text)
            if m is None:
                return None
            for param, group in zip(segment.params, m.groups(), strict=True):
                if not group and segment.kind != "catch_all":
                    return None  # parameters never match empty text
                try:
                    value = param.converter.parse(group)
                except ValueError:
                    return None
                if value is None:
                    return None
                params[param.name] = value
        return params

    def all_matches(self, path: str) -> list[tuple[tuple[Any, ...], Route, dict[str, Any]]]:
        if not path.startswith("/"):
            return []
        segments = [reference_decode(s) for s in path[1:].split("/")]
        found = []
        for key, route, pattern, regexes in self.entries:
            params = self.path_matches(pattern, regexes, segments)
            if params is not None:
                found.append((key, route, params))
        return found

    def match(self, method: str, path: str) -> tuple[Route, dict[str, Any]] | None:
        found = self.all_matches(path)
        # Specificity first; at equal specificity (same shape) an explicit method wins,
        # which is how a HEAD route beats the GET route of the same shape.
        found.sort(key=lambda e: (e[0], method not in e[1].methods))
        for _, route, params in found:
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route, params
        return None

    def redirect(self, method: str, path: str) -> str | None:
        """The trailing-slash rule, by its definition: the other form, if only it matches."""
        if path == "/" or not path.startswith("/") or self.match(method, path) is not None:
            return None
        other = path[:-1] if path.endswith("/") else path + "/"
        return other if self.match(method, other) is not None else None

    def allowed(self, path: str) -> frozenset[str]:
        methods: set[str] = set()
        for _, route, _ in self.all_matches(path):
            methods |= route.methods
            if "GET" in route.methods:
                methods.add("HEAD")
        return frozenset(methods)


# -- random routes and paths ------------------------------------------------------------------

STATIC = ["a", "b", "ab", "users", "", "café", "v1", "x.y", "a b"]
PARAM_TEMPLATES = [
    "{%s}",
    "{%s:int}",
    "{%s:float}",
    "{%s:hex}",
    "{%s}.{%s}",
    "{%s}.json",
    "v{%s:int}",
    "@{%s}",
    "{%s:int}.{%s}",
    "{%s}-{%s:int}",
]
PATH_SEGMENTS = [
    "a", "b", "ab", "users", "", "café", "caf%C3%A9", "v1", "v2", "vx", "x.y", "a%20b", "a b",
    "1", "42", "007", "1.5", "ff", "x", "a.json", "a.b.c", "@", "@x", "1.x", "x-1", "a%2Fb",
    "%2F", "%25", "a%2fb.json", "-1",
]  # fmt: skip
BAD_SEGMENTS = ["%", "%zz", "%C3", "%FF"]


def segment_text(draw: st.DrawFn, counter: list[int]) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(STATIC))
    template = draw(st.sampled_from(PARAM_TEMPLATES))
    names = []
    for _ in range(template.count("%s")):
        counter[0] += 1
        names.append(f"p{counter[0]}")
    return template % tuple(names)


@st.composite
def route_lines(draw: st.DrawFn) -> tuple[list[str], str]:
    counter = [0]
    segments = [segment_text(draw, counter) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.integers(0, 5)) == 0:
        counter[0] += 1
        segments.append(f"{{p{counter[0]}:path}}")
    methods = draw(st.lists(st.sampled_from(METHODS[:3]), min_size=1, max_size=2, unique=True))
    return methods, "/" + "/".join(segments)


@st.composite
def request_paths(draw: st.DrawFn) -> str:
    segments = draw(st.lists(st.sampled_from(PATH_SEGMENTS), min_size=1, max_size=4))
    if draw(st.integers(0, 20)) == 0:
        segments[-1] = draw(st.sampled_from(BAD_SEGMENTS))
    return "/" + "/".join(segments)


def new_router() -> Router:
    router = Router()
    router.register_converter(
        "hex", r"[0-9a-f]+", parse=lambda t: int(t, 16), format=lambda v: f"{v:x}"
    )
    return router


def outcome(call: Callable[..., Any], *args: Any) -> Any:
    """What ``call(*args)`` gives, a Match reduced to (route, params), or "InvalidPath"."""
    try:
        result = call(*args)
    except InvalidPath:
        return "InvalidPath"
    if isinstance(result, Explanation):
        result = result.match
    if isinstance(result, Match):
        return result.route, dict(result.params)
    return result


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    routes=st.lists(route_lines(), min_size=1, max_size=14),
    paths=st.lists(request_paths(), min_size=10, max_size=25),
    methods=st.lists(st.sampled_from(METHODS), min_size=1, max_size=3),
    twins=st.lists(
        st.tuples(
            st.integers(0, 13),
            st.lists(st.sampled_from(METHODS[:3]), min_size=1, max_size=2, unique=True),
        ),
        max_size=3,
    ),
)
def test_router_agrees_with_reference(
    routes: list[tuple[list[str], str]],
    paths: list[str],
    methods: list[str],
    twins: list[tuple[int, list[str]]],
) -> None:
    # Twins: an earlier pattern again, with its parameters renamed (same shape, so one node):
    # a conflict when the methods overlap, else each route must bind its own names.
    for index, twin_methods in twins:
        if index < len(routes):
            routes.append((twin_methods, re.sub(r"\{p(\d+)", r"{q\1", routes[index][1])))
    router = new_router()
    accepted: list[tuple[Route, Pattern]] = []
    shapes: dict[str, set[str]] = {}
    for index, (route_methods, pattern_text) in enumerate(routes):
        # A conflict is exactly: same shape, overlapping methods.
        pattern = parse_pattern(pattern_text, router.converters)
        taken = shapes.setdefault(pattern.shape, set())
        expect_conflict = bool(taken & set(route_methods))
        name = f"r{index}"
        try:
            route = router.add(pattern_text, lambda request: None, route_methods, name=name)
        except RouteConflict:
            assert expect_conflict, (pattern_text, route_methods)
            continue
        assert not expect_conflict, (pattern_text, route_methods, shapes)
        taken.update(route_methods)
        accepted.append((route, pattern))
        found = router.find(pattern)  # the non-mutating lookup that include() relies on
        assert found is not None and all(found.routes[m] is route for m in route_methods)
        # Paths built from the routes themselves hit far more often than random ones
        # (a mixed segment such as {a}.{b} with a="x.y" may not round-trip: skip those).
        with contextlib.suppress(URLBuildError):
            paths.append(router.url_for(name, **{p.name: sample_value(p) for p in pattern.params}))
    check_against_reference(router, Reference.of(accepted), paths, methods)
    # Every route registered again by its own function (a re-run notebook cell): each is
    # replaced by its new registration, and nothing else changes.
    tree = str(router)
    again = [
        (router.add(r.path, r.endpoint, r.methods, name=r.name), pattern) for r, pattern in accepted
    ]
    assert str(router) == tree
    assert router.routes == [route for route, _ in again]
    check_against_reference(router, Reference.of(again), paths, methods)


def check_against_reference(
    router: Router, reference: Reference, paths: list[str], methods: list[str]
) -> None:
    for path in paths:
        for method in methods:
            want = outcome(reference.match, method, path)
            assert outcome(router.match, method, path) == want, (method, path, str(router))
            assert outcome(router.explain, method, path) == want
            # The one walk of a lookup: a match, or a Miss that knows what a 405 and a 308 need.
            found = outcome(router.lookup, method, path)
            if isinstance(found, Miss):
                assert want is None
                assert found.allowed == reference.allowed(path), (method, path, str(router))
                assert found.redirect == reference.redirect(method, path), (method, path)
            else:
                assert found == want
        assert outcome(router.allowed_methods, path) == outcome(reference.allowed, path)


def sample_value(param: Param) -> Any:
    return {"int": 7, "float": 1.5, "hex": 255, "path": "a/b", "str": "x.y"}[param.converter.name]


@pytest.mark.parametrize("path", ["/a%2Fb", "/caf%C3%A9", "/%", "/%zz", "/%C3", "/a+b", "/é"])
def test_reference_decoder_agrees(path: str) -> None:
    want = outcome(lambda: ["", *[reference_decode(s) for s in path[1:].split("/")]])
    assert outcome(split_path, path) == want
