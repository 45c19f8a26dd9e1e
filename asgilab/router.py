"""The router: a radix tree over path segments, matched with explicit backtracking.

Every route pattern is split into segments (see :mod:`asgilab.patterns`) and inserted into
a tree whose nodes each consume one segment, or a run of static segments compressed into
one node. A request path is split on ``/`` once and walked from the root: at every node the
static child is tried first (one dict lookup), then the parameter children in priority
order, then the catch-all. When a branch dead-ends, the walk *backtracks* to the most recent
node with an untried candidate, dropping the parameters bound on the abandoned branch.

There is one walk (``Router._walk``), and everything that searches the tree runs it:
:meth:`~Router.lookup`, which the App calls, and which answers a miss with a :class:`Miss`
that the same walk filled in (the methods for a 405, the other trailing-slash form for a
308); :meth:`~Router.match`; :meth:`~Router.allowed_methods`; and :meth:`~Router.explain`,
which has the walk's reports put in words.

>>> router = Router()
>>> async def user(request): ...
>>> async def users(request): ...
>>> route = router.add("/users/{user_id:int}", user)
>>> route = router.add("/users", users, methods=["GET", "POST"])
>>> m = router.match("GET", "/users/42")
>>> m.route.name, m.params
('user', {'user_id': 42})
>>> router.match("GET", "/users/abc") is None
True
>>> sorted(router.allowed_methods("/users"))
['GET', 'HEAD', 'POST']
>>> router.url_for("user", user_id=7)
'/users/7'
>>> print(router)
<root>
└── /users  GET users, POST users
    └── /{user_id:int}  GET user

Decisions worth knowing:

* ``match`` takes the raw path (as ASGI's ``raw_path``), splits it on literal ``/`` and
  only then percent-decodes each segment, once, as strict UTF-8 (else ``InvalidPath``).
  So ``/files/a%2Fb`` gives ``name == "a/b"`` for ``/files/{name}``; ``+`` stays a plus;
  nothing is case-folded, no ``//`` is merged, no ``.``/``..`` is resolved.
* A catch-all value is the decoded segments joined with ``/``: an encoded slash inside it
  reads as a real one (``/static/a%2Fb`` and ``/static/a/b`` both give ``"a/b"``).
* A route matches when the path does *and* the route accepts the method; a GET route
  serves HEAD unless the same node has a HEAD route of its own.
* Matches of fully static routes are built once, and share one read-only empty ``params``
  mapping: treat ``Match`` objects as read-only.
* A mixed segment (``{name}.{ext}``) is split among its parameters in steps linear in its
  length (:class:`~asgilab.patterns.MixedSearch`, not a backtracking regex), and one longer
  than ``MAX_MIXED_SEGMENT`` (255) characters is no match.
* ``url_for`` refuses what would not route back: a value a converter refuses, a ``.`` or
  ``..`` segment (clients resolve them), a path starting with ``//`` (another host).
* Two routes of one shape may not share a method, with one exception, the notebook way: a
  route registered again by its own function (the same one, or one a re-run cell defined
  again, see :func:`redefines`) replaces the old route in place (see :meth:`Router.add`).

Showing the tree and narrating a lookup (``str(router)``, :meth:`Router.explain`) live in
:mod:`asgilab.explain`, which only reads the tree built here.

PERF: the hot path is :meth:`Router.lookup` (and :meth:`Router.match`): a dict of fully
static paths first, then one ``split("/")`` and an iterative walk, which reports to no one
unless it fails. Allocations are most of what a lookup costs (a
profile of the compiled build spends its time in dict lookups, the split, and making and
freeing the params dict and the Match), so the walk allocates nothing else unless it must:
a backtrack stack at a fork only, a list of values for converted parameters only (a plain
``{name}`` value is read off the split path at the end, see ``_sources``). The module is
plain typed Python that mypyc compiles unchanged (with patterns and converters), which
roughly halves lookup times; the interpreted module stays the reference.
"""

import difflib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote_to_bytes

from ._mypyc import mypyc_attr
from .converters import BUILTIN_CONVERTERS, RANK_OTHER, Converter
from .errors import InvalidPath, InvalidPattern, RouteConflict, URLBuildError, excerpt
from .patterns import Pattern, Segment, parse_pattern

if TYPE_CHECKING:
    # Types only: asgilab.explain imports this module (its narration is a Miss).
    from .explain import Explanation

__all__ = [
    "Match",
    "Miss",
    "Node",
    "NodeKind",
    "Route",
    "Router",
    "prepared",
    "redefines",
    "split_path",
]

NodeKind = Literal["root", "static", "mixed", "param", "catch_all"]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
# What a node keeps per method: (route, parameter names, where each value is, see _sources).
Handler = tuple["Route", tuple[str, ...], tuple[int, ...]]

# PERF: static matches carry no parameters; they all share one read-only empty mapping, so
# the static fast path allocates nothing but (at most) the Match it returns.
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})
# Routes without extras share one read-only empty mapping too.
_NO_EXTRAS: Mapping[str, Any] = _NO_PARAMS

# Node.mode: what the match loop does with a child (ints compare faster than kind strings).
STATIC, STR_PARAM, PARAM, MIXED, CATCH_ALL = range(5)


class Node:
    """One position in the radix tree.

    The fields are public so that the drawing and the notebooks can walk the tree; only the
    router changes them.
    """

    __slots__ = (
        "accept",
        "catch_all",
        "converter",
        "handlers",
        "key",
        "kind",
        "label",
        "mode",
        "param",
        "param_children",
        "parent",
        "prefix",
        "routes",
        "segment",
        "static_children",
        "str_only",
        "width",
        "wild",
    )

    def __init__(self, kind: NodeKind, segment: Segment | None = None, prefix: Iterable[str] = ()):
        # What the node matches: "root", "static", "mixed", "param" or "catch_all".
        self.kind: NodeKind = kind
        # Static nodes: the decoded segments this node consumes (several = a compressed run).
        self.prefix: list[str] = list(prefix)
        # PERF: len(prefix), read on every step of the walk.
        self.width = len(self.prefix)
        # Mixed, param and catch-all nodes: the pattern segment they test, as first registered.
        self.segment: Segment | None = segment
        # The text to show, in pattern syntax: "users/events", "{id:int}", "{name}.{ext}".
        self.label = "/".join(self.prefix) if segment is None else segment.text
        # Static children, keyed by the first segment of their prefix: at most one can match.
        self.static_children: dict[str, Node] = {}
        # Mixed and param children, in the order matching tries them (see Segment.key).
        self.param_children: list[Node] = []
        # The catch-all child ({rest:path}), tried last.
        self.catch_all: Node | None = None
        # The node this one is a child of (None for the root): the way back up, which the
        # narration and the trailing-slash rule follow after a failed walk.
        self.parent: Node | None = None
        # PERF: param_children + [catch_all], the list the match loop walks after a static miss.
        self.wild: list[Node] = []
        # PERF: the only wildcard child, when it is a plain {name}: no alternatives to remember.
        self.str_only: Node | None = None
        # The routes that end at this node, by method, as registered.
        self.routes: dict[str, Route] = {}
        # What matching reads: method -> (route, parameter names, where each value is: see
        # _sources); HEAD is added where GET is.
        self.handlers: dict[str, Handler] = {}
        # Param and catch-all nodes: the parameter name (as the first route spelled it; other
        # routes may name the same position differently) and the converter name.
        self.param: str | None = None
        self.converter: str | None = None
        # Param nodes: the converter's accept(), None for plain `str` (inlined in the walk);
        # mixed nodes: Segment.parse, which returns the list of values (or None).
        self.accept: Callable[[str], Any] | None = None
        # Priority among siblings: smaller is tried first.
        self.key = segment.key if segment is not None else (0, 0, (), "")
        # PERF: how the match loop treats this node as a child, as a small int.
        self.mode = STATIC
        if segment is not None and kind in ("param", "catch_all"):
            converter = segment.params[0].converter
            self.param = segment.params[0].name
            self.converter = converter.name
            if kind == "catch_all":
                self.mode = CATCH_ALL
            elif segment.verbatim:
                self.mode = STR_PARAM
            else:
                self.mode = PARAM
                self.accept = converter.accept
        elif segment is not None and kind == "mixed":
            self.mode = MIXED
            self.accept = segment.parse

    @property
    def children(self) -> list["Node"]:
        """Every child, in the order matching tries them (static ones by label)."""
        return sorted(self.static_children.values(), key=lambda n: n.label) + self.wild

    def __repr__(self) -> str:
        return f"<Node {self.kind} {self.label!r}>"

    # -- building -----------------------------------------------------------------------

    def insert_static(self, texts: list[str]) -> "Node":
        """The node reached by the static run ``texts`` below this one, created if needed."""
        node = self
        while texts:
            child = node.static_children.get(texts[0])
            if child is None:
                # A new branch takes the whole remaining run: it is compressed from birth.
                child = node.static_children[texts[0]] = Node("static", prefix=texts)
                child.parent = node
                return child
            # Find the common prefix of the child's run and ours; split the child if shorter.
            common = 1
            while common < min(child.width, len(texts)) and child.prefix[common] == texts[common]:
                common += 1
            if common < child.width:
                child._split(common)
            node, texts = child, texts[common:]
        return node

    def _split(self, at: int) -> None:
        """Cut this static run in two: keep ``prefix[:at]``, move the rest to a new child."""
        tail = Node("static", prefix=self.prefix[at:])
        tail.static_children, self.static_children = self.static_children, {tail.prefix[0]: tail}
        tail.param_children, self.param_children = self.param_children, []
        tail.catch_all, self.catch_all = self.catch_all, None
        tail.wild, self.wild = self.wild, []
        tail.str_only, self.str_only = self.str_only, None
        tail.routes, self.routes = self.routes, {}
        tail.handlers, self.handlers = self.handlers, {}
        tail.parent = self
        for child in [*tail.static_children.values(), *tail.wild]:
            child.parent = tail
        self.prefix = self.prefix[:at]
        self.width = at
        self.label = "/".join(self.prefix)

    def wild_child(self, segment: Segment) -> "Node | None":
        """The mixed, param or catch-all child with ``segment``'s shape, if there is one."""
        for child in self.wild:
            if child.segment is not None and child.segment.shape == segment.shape:
                return child
        return None

    def insert_wild(self, segment: Segment) -> "Node":
        """The mixed, param or catch-all child for ``segment``'s shape, created if needed."""
        child = self.wild_child(segment)
        if child is not None:
            return child
        if segment.kind == "catch_all":
            child = self.catch_all = Node("catch_all", segment)
        else:
            child = Node("mixed" if segment.kind == "mixed" else "param", segment)
            self.param_children.append(child)
            self.param_children.sort(key=lambda n: n.key)
        child.parent = self
        self.wild = [*self.param_children, *([self.catch_all] if self.catch_all else [])]
        self.str_only = (
            self.wild[0] if len(self.wild) == 1 and self.wild[0].mode == STR_PARAM else None
        )
        return child


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Route:
    """A registered route: what :meth:`Router.add` returns and ``Match.route`` holds.

    A Route is one registration: it equals only itself and hashes by identity, so the
    App and the drawing can key what they know about a route by the route itself.
    ``handler`` is what the App prepared to call it (see the ``prepare`` of
    :meth:`Router.add`), None for a route no App has prepared: the one field set after
    the route is made, once, before the route is in any tree (see :func:`prepared`).

    >>> async def user(request): ...
    >>> Route("/users/{user_id:int}", user, frozenset({"GET"}), "user")
    Route(path='/users/{user_id:int}', name='user', methods=['GET'])
    """

    path: str
    endpoint: Callable[..., Any]
    methods: frozenset[str] = frozenset({"GET"})
    name: str | None = None
    # Free per-route data for the App (e.g. {"max_body_size": 10}); read-only.
    extras: Mapping[str, Any] = field(default_factory=lambda: _NO_EXTRAS)
    handler: Any = None

    def __repr__(self) -> str:
        return f"Route(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods)!r})"


def prepared(route: Route, handler: object) -> Route:
    """``route`` with ``handler``, what its App prepared to call it, filled in.

    A Route is frozen so that nothing changes it once it routes requests; its handler is
    only known once the route exists (the App inspects the route's function, path and
    limits), so it is set here, once, before the route is added to a tree, or by the
    App for a route of a router made without one (the same handler each time).
    """
    object.__setattr__(route, "handler", handler)
    return route


class Match:
    """The result of a successful lookup: the route and its converted parameters.

    PERF: a slotted class rather than a frozen dataclass (whose __init__ costs several
    times more); treat it as read-only. Matches of static routes are built once and reused.
    """

    __slots__ = ("params", "route")

    def __init__(self, route: Route, params: Mapping[str, Any]) -> None:
        self.route = route
        self.params = params

    def __repr__(self) -> str:
        return f"Match(route={self.route!r}, params={dict(self.params)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return self.route is other.route and dict(self.params) == dict(other.params)

    __hash__ = None  # type: ignore[assignment]


# A dead end tries no wildcard child: the walk goes straight to its backtrack.
_NO_CHILDREN: list[Node] = []


@mypyc_attr(allow_interpreted_subclasses=True)
class Miss:
    """Why a lookup found no route, noted by the walk that looked: what a 404, 405 or 308 needs.

    :meth:`Router.lookup` returns one when nothing matches. The walk calls the hooks below
    where it fails (:meth:`rejected`, :meth:`ended`, :meth:`backtracked`) and where it
    succeeds (:meth:`matched`); a Miss keeps from them the nodes where the path ends, whose
    methods are the ``Allow`` of a 405, and the nodes where the path's other trailing-slash
    form ends, which decide a 308. The narration of :meth:`Router.explain` is a Miss that
    also puts every step in words (:mod:`asgilab.explain`).
    """

    def __init__(
        self, method: str, path: str, segments: list[str], every_end: bool = False
    ) -> None:
        self.method = method
        self.path = path
        # The decoded segments, as the walk reads them ("" first, before the leading "/").
        self.segments = segments
        # Whether to go on past a match, so that every node where the path ends is noted
        # (allowed_methods wants them all).
        self.every_end = every_end
        # Whether the path ends with "/" (not "/" itself): its other form has no slash there.
        self.slashed = len(segments) > 2 and not segments[-1]
        # The nodes where the path ends (none has a route for the method, unless every_end).
        self.ends: list[Node] = []
        # Nodes where the path's other form ends (some may have no route for the method).
        self.others: list[Node] = []

    @property
    def allowed(self) -> frozenset[str]:
        """Every method a route accepts at this path (HEAD wherever GET is): a 405's ``Allow``."""
        return frozenset(method for node in self.ends for method in node.handlers)

    @property
    def redirect(self) -> str | None:
        """The other form of the path (its trailing slash removed, or one added) when that
        has a route for the method, else ``None``; never for ``/``."""
        path = self.path
        if path == "/" or not path.startswith("/"):
            return None
        if not any(self.method in node.handlers for node in self.others):
            return None
        return path[:-1] if path.endswith("/") else path + "/"

    def __bool__(self) -> Literal[False]:
        """A Miss is falsy, as the ``None`` of :meth:`Router.match`: ``if not found: ...``."""
        return False

    def __repr__(self) -> str:
        return (
            f"Miss(method={self.method!r}, path={self.path!r},"
            f" allowed={sorted(self.allowed)!r}, redirect={self.redirect!r})"
        )

    def matched(self, node: Node, route: Route) -> bool:
        """The path ends at ``node``, where ``route`` takes the method: stop the walk there?
        (No, with ``every_end``: the walk then treats the node as it treats a dead end.)"""
        return not self.every_end

    def rejected(self, child: Node, i: int) -> None:
        """``child`` refused ``segments[i]`` (or, a static run, the segments from there)."""
        segments = self.segments
        # A static run that is the rest of the path and one "" is where it ends with a slash.
        rest = len(segments) - i
        if not self.slashed and child.width == rest + 1 and child.prefix == [*segments[i:], ""]:
            self.others.append(child)

    def ended(self, node: Node, values: list[Any] | None) -> None:
        """The path ends at ``node``, which has no route for the method (``values``: those
        the walk bound on the way, a catch-all's last)."""
        self.ends.append(node)
        if self.slashed:
            # Without its slash the path ends one segment higher, where the walk took that
            # last "": above a static "" node, or above a catch-all that took nothing.
            took_the_slash = node.width == 1 and node.kind == "static"
            took_the_slash |= node.kind == "catch_all" and values is not None and not values[-1]
            if took_the_slash and node.parent is not None:
                self.others.append(node.parent)
        else:
            # With a slash it ends one "" further: at a static "" child, or the catch-all.
            empty = node.static_children.get("")
            if empty is not None and empty.width == 1:
                self.others.append(empty)
            if node.catch_all is not None:
                self.others.append(node.catch_all)

    def backtracked(self, node: Node, i: int, to: Node | None) -> None:
        """Nothing fits below ``node``, where the walk was at ``segments[i]``: it goes back
        up to ``to``, an ancestor, or gives up (``None``)."""
        if self.slashed and i == len(self.segments) - 1:
            # The walk was at the last segment, "": without the slash the path ends here.
            self.others.append(node)


# The Miss of a walk asked not to say why (see Router._walk): empty, and shared.
_NO_REASON = Miss("", "", [""])


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decode(segment: str) -> str:
    """Percent-decode one segment as UTF-8, strictly."""
    bad = _BAD_ESCAPE.search(segment)
    if bad is not None:
        escape = segment[bad.start() : bad.start() + 3]
        raise InvalidPath(f"invalid percent-escape {escape!r} in path segment {excerpt(segment)!r}")
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPath(
            f"path segment {excerpt(segment)!r} is not UTF-8 once percent-decoded"
        ) from None


def split_path(path: str) -> list[str]:
    """Split a raw path on ``/``, then percent-decode each segment once.

    An encoded slash therefore stays inside its segment; ``+`` stays a plus.

    >>> split_path("/files/a%2Fb/caf%C3%A9+1")
    ['', 'files', 'a/b', 'café+1']
    """
    segments = path.split("/")
    if "%" in path:
        segments = [_decode(s) if "%" in s else s for s in segments]
    return segments


def _sources(pattern: Pattern) -> tuple[int, ...]:
    """Where match() finds each parameter's value once the walk reaches the pattern's node.

    A plain ``{name}`` takes its whole segment unchanged, and every pattern segment but
    the catch-all consumes exactly one path segment, so its value is ``segments[j]`` for a
    ``j`` known now: the source is ``j``. Converted, mixed and catch-all values are computed
    during the walk and kept in order in a list: the source is ``~index`` (negative).
    Patterns with the same shape end at the same node and get the same sources.

    >>> _sources(parse_pattern("/repos/{owner}/{repo}/pulls/{number:int}"))
    (2, 3, -1)
    """
    sources: list[int] = []
    computed = 0
    for j, segment in enumerate(pattern.segments, start=1):
        for _ in segment.params:
            if segment.verbatim:
                sources.append(j)
            else:
                sources.append(~computed)
                computed += 1
    return tuple(sources)


def _methods_text(methods: Iterable[str]) -> str:
    return ",".join(sorted(methods))


def redefines(new: Callable[..., Any], old: Callable[..., Any]) -> bool:
    """Whether ``new`` is ``old`` defined again, as a re-run notebook cell defines it.

    Running a cell again makes new function (or class) objects, compiled anew, with the
    same ``__module__`` and ``__qualname__`` as before. Not a redefinition:

    * the very same object (nothing was defined again; callers check ``new is old``);
    * a lambda: every lambda of a scope is called ``<lambda>``, so two different ones
      would pass for one another;
    * functions made by one ``def`` run twice without compiling it again (in a loop, in
      a factory): they share their code and differ in what they close over, so they are
      different functions (decorators that set ``__wrapped__`` are looked through);
    * objects without a ``__qualname__`` (a ``functools.partial``, a callable instance):
      nothing names them, so only the same object is the same.

    >>> def page(request): ...
    >>> old = page
    >>> def page(request): ...
    >>> redefines(page, old), redefines(page, page), redefines(lambda r: 1, lambda r: 1)
    (True, False, False)
    """
    if new is old:
        return False
    name = getattr(new, "__qualname__", None)
    if not isinstance(name, str) or "<lambda>" in name:
        return False
    if getattr(old, "__qualname__", None) != name:
        return False
    if getattr(old, "__module__", None) != getattr(new, "__module__", None):
        return False
    code = getattr(inspect.unwrap(new), "__code__", None)
    return code is None or code is not getattr(inspect.unwrap(old), "__code__", None)


def _function_name(endpoint: Callable[..., Any]) -> str:
    name = getattr(endpoint, "__qualname__", None)
    return name if isinstance(name, str) else f"{type(endpoint).__qualname__} object"


def _other_function(route: Route, other: Route) -> str:
    """The end of a RouteConflict message: the two functions, and why they are not one."""
    new, old = _function_name(route.endpoint), _function_name(other.endpoint)
    said = f"; {old} serves it, {new} is another function"
    if new != old:
        return said
    if "<lambda>" in new:
        return said + " (a lambda replaces no other lambda)"
    if getattr(route.endpoint, "__module__", None) != getattr(other.endpoint, "__module__", None):
        return said + f" (of module {getattr(route.endpoint, '__module__', None)})"
    if hasattr(route.endpoint, "__qualname__"):
        return said + " (made by the same def: in a loop, or by a factory?)"
    return said + " (an object with no __qualname__ replaces only itself)"


def _name_summary(entries: list[tuple[Route, Pattern, bool]]) -> tuple[str, bool, str | None]:
    """What ``Router._name_paths`` keeps for a name that these (non-empty) entries have."""
    first_path = entries[0][0].path
    several = any(route.path != first_path for route, _, _ in entries)
    explicit_path = next((route.path for route, _, explicit in entries if explicit), None)
    return first_path, several, explicit_path


@mypyc_attr(allow_interpreted_subclasses=True)
class Router:
    """Routes, a radix tree to find them, and the way back from a name to a URL.

    Register with :meth:`add` or the decorators, look up with :meth:`match`, and ask the
    tree why with :meth:`explain`.
    """

    def __init__(self) -> None:
        self.root = Node("root")
        # Every route, in registration order.
        self.routes: list[Route] = []
        # Converters this router knows: the built-in ones plus register_converter()'s.
        self.converters: dict[str, Converter] = dict(BUILTIN_CONVERTERS)
        # PERF: fully static paths -> method -> prebuilt Match, checked before the tree.
        self._static_paths: dict[str, dict[str, Match]] = {}
        # Method sets already in use, shared between routes.
        self._method_sets: dict[frozenset[str], frozenset[str]] = {}
        # Name -> (route, pattern, name given explicitly?), for url_for and name clashes.
        self._by_name: dict[str, list[tuple[Route, Pattern, bool]]] = {}
        # Name -> (the first path with that name, whether other paths have it too, the path
        # where it was given explicitly or None): all _check_name needs, since a name given
        # explicitly can only ever name one path.
        # PERF: checking clashes against this, not by scanning _by_name, keeps adding many
        # routes that share a derived name linear; three fields rather than two sets of
        # paths take ~330 bytes less per name (100,000 routes: 33 MB).
        self._name_paths: dict[str, tuple[str, bool, str | None]] = {}
        # Equal _sources() tuples, shared between nodes (memory, as for method sets).
        self._sources: dict[tuple[int, ...], tuple[int, ...]] = {}
        # Segment text -> parsed Segment: big route sets repeat segments a lot.
        self._segments: dict[str, Segment] = {}

    def __repr__(self) -> str:
        return f"<Router with {len(self.routes)} routes>"

    # -- registration ---------------------------------------------------------------------

    def register_converter(
        self,
        name: str,
        regex: str,
        *,
        parse: Callable[[str], Any] = str,
        format: Callable[[Any], str] = str,
    ) -> Converter:
        """Teach this router a converter: ``{year:year}`` after ``register_converter("year", ...)``.

        >>> router = Router()
        >>> _ = router.register_converter("year", r"[0-9]{4}", parse=int)
        >>> _ = router.add("/archive/{y:year}", lambda request: None, name="archive")
        >>> router.match("GET", "/archive/2024").params
        {'y': 2024}
        """
        if not name.isidentifier():
            raise InvalidPattern(f"converter name {name!r} is not a Python identifier")
        if name in self.converters:
            known = ", ".join(sorted(self.converters))
            raise InvalidPattern(f"converter {name!r} is already registered (known: {known})")
        try:
            converter = Converter(name, regex, parse=parse, format=format, rank=RANK_OTHER)
        except re.error as exc:
            raise InvalidPattern(f"invalid regex {regex!r} for converter {name!r}: {exc}") from None
        self.converters[name] = converter
        return converter

    def add(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None = None,
        name: str | None = None,
        extras: Mapping[str, Any] | None = None,
        prepare: Callable[[Route], object] | None = None,
    ) -> Route:
        """Register ``endpoint`` for ``path`` (``methods=None`` means GET) and return the Route.

        ``prepare(route)``, when given, runs before anything is added; what it returns
        becomes ``route.handler``, and it may refuse the route by raising: the App builds
        its handler there, once, so that a refused handler leaves no route behind (a
        notebook cell can be fixed and run again).

        Running the cell again is the notebook way, so a route may take a method of its
        shape from another route *of its own function*: the same function object, or one
        that :func:`redefines` it (same module and qualified name, compiled anew; never a
        lambda). The old route is then replaced in place, by the new one as a whole: its
        place in ``routes`` and in the tree, with the new function, name, methods and
        extras (methods the old route had and the new one lacks go with it; url_for knows
        the new name). A method held by another function is a :class:`RouteConflict`.
        Routes the new one does not collide with stay, even of the same function: the same
        function at another path, or stacked ``@get`` and ``@post`` on one function.

        >>> router = Router()
        >>> async def page(request): return "old"
        >>> _ = router.add("/page", page, ["GET", "POST"])
        >>> async def page(request): return "new"  # the cell, edited and run again
        >>> _ = router.add("/page", page, ["GET"])
        >>> router.routes, router.match("GET", "/page").route.endpoint is page
        ([Route(path='/page', name='page', methods=['GET'])], True)
        """
        if isinstance(methods, str):
            # A str is an iterable of one-letter "methods": ["P", "O", "S", "T"].
            raise InvalidPattern(
                f"route {path!r}: methods must be a list of names, e.g. [{methods!r}], "
                f"not the string {methods!r}"
            )
        pattern = parse_pattern(path, self.converters, self._segments)
        method_set = frozenset(m.upper() for m in (methods if methods is not None else ["GET"]))
        if not method_set:
            raise InvalidPattern(f"route {path!r} has no methods (give at least one, e.g. ['GET'])")
        # PERF (memory): big route sets repeat the same few method sets; share them.
        method_set = self._method_sets.setdefault(method_set, method_set)
        explicit = name is not None
        route_name = name if name is not None else getattr(endpoint, "__name__", None)
        route = Route(
            path,
            endpoint,
            method_set,
            route_name,
            MappingProxyType(dict(extras)) if extras else _NO_EXTRAS,
        )
        # Everything is checked before the tree changes: a refused route leaves no trace.
        found = self._find(pattern)
        replaced = self._replaced(found, route, pattern) if found is not None else []
        self._check_name(route, explicit, replaced)
        if prepare is not None:
            prepared(route, prepare(route))
        self._add(route, pattern, explicit, found, replaced)
        return route

    def _add(
        self,
        route: Route,
        pattern: Pattern,
        explicit: bool,
        found: Node | None,
        replaced: list[Route],
    ) -> None:
        """Put the checked ``route`` in the tree (at ``found``, if it has its node already),
        replacing the ``replaced`` routes, and make its name known."""
        path, method_set, route_name = route.path, route.methods, route.name
        node = found if found is not None else self._insert(pattern)
        sources = _sources(pattern)
        # Each route binds its own names: GET /u/{id} and POST /u/{name} share one node.
        handler = (route, pattern.names, self._sources.setdefault(sources, sources))
        # NOTE: the new route takes its methods before the replaced ones lose theirs, so
        # that a server thread matching meanwhile never finds the path missing.
        for method in method_set:
            node.routes[method] = route
            node.handlers[method] = handler
        for old in replaced:
            for method in old.methods - method_set:
                del node.routes[method], node.handlers[method]
        if "GET" in node.routes and "HEAD" not in node.routes:
            node.handlers["HEAD"] = node.handlers["GET"]
        elif "HEAD" not in node.routes:
            node.handlers.pop("HEAD", None)  # the GET it served went with a replaced route
        if pattern.is_static:
            # (A replaced route of this shape had a static path too, maybe spelled otherwise.)
            for static_path in {path, *(old.path for old in replaced)}:
                self._static_paths[static_path] = {
                    m: Match(r, _NO_PARAMS) for m, (r, _, _) in node.handlers.items()
                }
        if replaced:
            self._replace(replaced, route)
        else:
            self.routes.append(route)
        if route_name is not None:
            self._by_name.setdefault(route_name, []).append((route, pattern, explicit))
            first = self._name_paths.get(route_name)
            if first is None:
                self._name_paths[route_name] = (path, False, path if explicit else None)
            else:
                first_path, several, explicit_path = first
                if explicit_path is None and explicit:
                    explicit_path = path
                self._name_paths[route_name] = (
                    first_path,
                    several or path != first_path,
                    explicit_path,
                )

    def _replace(self, replaced: list[Route], route: Route) -> None:
        """Put ``route`` where the first of ``replaced`` was; forget them all, names too."""
        gone = set(replaced)
        first = min(self.routes.index(old) for old in replaced)
        self.routes[first] = route
        if len(replaced) > 1:
            self.routes[:] = [r for r in self.routes if r not in gone]
        for old_name in {old.name for old in replaced if old.name is not None}:
            entries = [e for e in self._by_name[old_name] if e[0] not in gone]
            if entries:
                self._by_name[old_name] = entries
                self._name_paths[old_name] = _name_summary(entries)
            else:
                del self._by_name[old_name], self._name_paths[old_name]

    def _insert(self, pattern: Pattern) -> Node:
        """The node where ``pattern`` ends, creating (or splitting) nodes on the way."""
        node = self.root
        segments = pattern.segments
        i = 0
        while i < len(segments):
            if segments[i].kind == "static":
                # A run of static segments goes into (compressed) static nodes.
                j = i
                while j < len(segments) and segments[j].kind == "static":
                    j += 1
                node = node.insert_static([s.text for s in segments[i:j]])
                i = j
            else:
                node = node.insert_wild(segments[i])
                i += 1
        return node

    def _replaced(self, node: Node, route: Route, pattern: Pattern) -> list[Route]:
        """The routes at ``node`` (``route``'s shape) that ``route`` replaces; a clash refused.

        Each method of ``route`` that the node has already must be held by a route of the
        same function, or of the function it redefines (a re-run cell): that route is
        replaced. Held by another function, it is a RouteConflict.
        """
        replaced: list[Route] = []
        for method in sorted(route.methods):
            other = node.routes.get(method)
            if other is None or other in replaced:
                continue
            if other.endpoint is not route.endpoint and not redefines(
                route.endpoint, other.endpoint
            ):
                methods = route.methods
                overlap = methods & other.methods
                on = "" if overlap == methods == other.methods else f" for {_methods_text(overlap)}"
                raise RouteConflict(
                    f"{_methods_text(methods)} {route.path} conflicts with"
                    f" {_methods_text(other.methods)} {other.path} (both match {pattern.shape}{on})"
                    + _other_function(route, other)
                )
            replaced.append(other)
        return replaced

    def _check_name(self, route: Route, explicit: bool, replaced: list[Route]) -> None:
        """Refuse a name that would make url_for ambiguous (``replaced`` routes aside).

        NOTE: a name must lead url_for to one pattern. Reusing a name for the same path
        (e.g. one name per method) is fine; for another path it is an error when either
        name was given explicitly. Two *derived* names (the same function registered at
        two paths) are allowed, and url_for() on that name then says it is ambiguous.
        """
        if route.name is None or route.name not in self._name_paths:
            return
        summary = self._name_paths[route.name]
        if replaced:
            # PERF: only a re-registration summarises the name again, without the old routes.
            entries = [e for e in self._by_name[route.name] if e[0] not in replaced]
            if not entries:
                return
            summary = _name_summary(entries)
        first_path, several, explicit_path = summary
        if explicit:
            # Given explicitly: no other path may have this name, derived or not.
            clash = several or first_path != route.path
        else:
            # Derived: only a name given explicitly at another path refuses it.
            clash = explicit_path is not None and explicit_path != route.path
        if clash:
            # Some other path has the name: find one such route to name in the message.
            for other, _, other_explicit in self._by_name[route.name]:
                clashes = other.path != route.path and (explicit or other_explicit)
                if clashes and other not in replaced:
                    break
            raise RouteConflict(
                f"name {route.name!r} of {_methods_text(route.methods)} {route.path} is already"
                f" used by {_methods_text(other.methods)} {other.path} (url_for would be"
                " ambiguous; give one of them another name=)"
            )

    def route(
        self,
        path: str,
        methods: Iterable[str] | None = None,
        name: str | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> Callable[[Endpoint], Endpoint]:
        """Decorator form of :meth:`add`; returns the function unchanged."""

        def register(endpoint: Endpoint) -> Endpoint:
            self.add(path, endpoint, methods=methods, name=name, extras=extras)
            return endpoint

        return register

    def get(
        self, path: str, name: str | None = None, extras: Mapping[str, Any] | None = None
    ) -> Callable[[Endpoint], Endpoint]:
        """``@router.get(path)``: register a GET route (which serves HEAD too)."""
        return self.route(path, ["GET"], name, extras)

    def post(
        self, path: str, name: str | None = None, extras: Mapping[str, Any] | None = None
    ) -> Callable[[Endpoint], Endpoint]:
        """``@router.post(path)``: register a POST route."""
        return self.route(path, ["POST"], name, extras)

    def put(
        self, path: str, name: str | None = None, extras: Mapping[str, Any] | None = None
    ) -> Callable[[Endpoint], Endpoint]:
        """``@router.put(path)``: register a PUT route."""
        return self.route(path, ["PUT"], name, extras)

    def patch(
        self, path: str, name: str | None = None, extras: Mapping[str, Any] | None = None
    ) -> Callable[[Endpoint], Endpoint]:
        """``@router.patch(path)``: register a PATCH route."""
        return self.route(path, ["PATCH"], name, extras)

    def delete(
        self, path: str, name: str | None = None, extras: Mapping[str, Any] | None = None
    ) -> Callable[[Endpoint], Endpoint]:
        """``@router.delete(path)``: register a DELETE route."""
        return self.route(path, ["DELETE"], name, extras)

    def include(
        self, other: "Router", prefix: str = "", prepare: Callable[[Route], object] | None = None
    ) -> None:
        """Copy every route of ``other`` into this router, under ``prefix`` (a route group).

        The routes are copied now: routes added to ``other`` later are not seen. Route names
        are kept as they are, so a clash with an existing name is reported. Everything is
        checked before anything is added, each copy prepared by ``prepare`` (see :meth:`add`): a
        refused include leaves this router unchanged. Including the same routes again (a
        re-run cell) replaces the copies made before, as :meth:`add` replaces a route.
        """
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise InvalidPattern(
                f"include prefix {prefix!r} must start with '/' and not end with '/' (e.g. '/api')"
            )
        converters = dict(self.converters)
        for conv_name, converter in other.converters.items():
            # (An equal converter is the same: a re-run cell registers it again.)
            if converters.setdefault(conv_name, converter) != converter:
                raise InvalidPattern(
                    f"converter {conv_name!r} of the included router differs from this router's"
                    " (register it once, or give one of them another name)"
                )
        explicit = {r for entries in other._by_name.values() for r, _, e in entries if e}
        copies = [
            (Route(prefix + r.path, r.endpoint, r.methods, r.name, r.extras), r in explicit)
            for r in other.routes
        ]
        # The check parses into a copy of the segment cache: a refused include must not
        # leave segments built with converters this router does not have.
        segments = dict(self._segments)
        checked = []
        for route, is_explicit in copies:
            pattern = parse_pattern(route.path, converters, segments)
            node = self._find(pattern)
            replaced = self._replaced(node, route, pattern) if node is not None else []
            self._check_name(route, is_explicit, replaced)
            if prepare is not None:
                prepared(route, prepare(route))
            checked.append((route, pattern, is_explicit))
        self.converters = converters
        self._segments = segments
        for route, pattern, is_explicit in checked:
            # Found again: an earlier copy may have made (or replaced at) this node.
            node = self._find(pattern)
            replaced = self._replaced(node, route, pattern) if node is not None else []
            self._add(route, pattern, is_explicit, node, replaced)

    def _find(self, pattern: Pattern) -> Node | None:
        """The node where ``pattern`` ends if the tree has it already (changing nothing)."""
        node = self.root
        texts: list[str] = []
        for segment in [*pattern.segments, None]:
            if segment is not None and segment.kind == "static":
                texts.append(segment.text)
                continue
            while texts:  # follow the pending static run through (compressed) static nodes
                child = node.static_children.get(texts[0])
                if child is None or texts[: child.width] != child.prefix:
                    return None
                node, texts = child, texts[child.width :]
            if segment is None:
                return node
            child = node.wild_child(segment)
            if child is None:
                return None
            node = child
        return node

    # -- lookup -----------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Match | None:
        """The highest-priority route matching the raw ``path`` that accepts ``method``.

        Raises :class:`~asgilab.errors.InvalidPath` when the path cannot be decoded.
        """
        if "%" not in path:
            # Fast path: a fully static route is always the most specific match there is.
            by_method = self._static_paths.get(path)
            if by_method is not None:
                found = by_method.get(method)
                if found is not None:
                    return found
            segments = path.split("/")
        else:
            segments = split_path(path)
        return self._walk(method, path, segments, None, False) or None  # (a Miss is falsy)

    def lookup(self, method: str, path: str, trace: "Miss | None" = None) -> "Match | Miss":
        """The match, or a :class:`Miss` that says what the path has instead: what the App asks.

        The walk that finds no route notes where the path ends (the methods for a 405's
        ``Allow``) and where its other trailing-slash form ends (a 308): no second walk.
        ``trace``, when given, is the Miss the walk reports to (see :meth:`_walk`).

        >>> router = Router()
        >>> _ = router.add("/users", lambda request: None, methods=["GET", "POST"])
        >>> router.lookup("PUT", "/users")
        Miss(method='PUT', path='/users', allowed=['GET', 'HEAD', 'POST'], redirect=None)
        >>> router.lookup("GET", "/users/").redirect
        '/users'
        """
        if "%" not in path:
            # The same fast path as match() (explain narrates, allowed_methods counts, the walk).
            if trace is None:
                by_method = self._static_paths.get(path)
                if by_method is not None:
                    found = by_method.get(method)
                    if found is not None:
                        return found
            segments = path.split("/")
        else:
            segments = split_path(path)
        return self._walk(method, path, segments, trace, True)

    def _walk(
        self, method: str, path: str, segments: list[str], trace: "Miss | None", why: bool
    ) -> "Match | Miss":
        """The walk: the one search of the tree, behind match, lookup, explain and allowed_methods.

        It tries the children of each node in priority order, goes down the first that
        accepts its segment, and backtracks when a branch dead-ends. ``trace`` hears where
        it fails (a child rejected, a path that ends without the method, a backtrack) and
        where it succeeds, and may have it go on past a match (allowed_methods wants every
        end). With ``why`` and no trace, the walk makes itself a :class:`Miss` at its first
        failure: a walk that goes straight down to its route reports to no one. Without
        ``why`` (match), a miss is the one empty Miss, which says nothing.
        """
        if segments[0]:
            # Not an absolute path ("*", "", "users").
            if trace is None:
                return Miss(method, path, segments) if why else _NO_REASON
            return trace
        n = len(segments)
        node = self.root
        i = 1  # segments[0] is the "" before the leading "/"
        # Values computed so far (converted, mixed, catch-all), left to right; a plain {name}
        # binds nothing here: its value is its segment, read off `segments` at the end.
        # PERF: created on the first computed value only; most lookups never need one.
        values: list[Any] | None = None
        value: Any  # one bound value (typed loosely: converters return anything)
        # Nodes with untried wildcard children: (node, segment index, next child, len(values)).
        # PERF: created on the first fork only; most lookups never need one.
        stack: list[tuple[Node, int, int, int]] | None = None
        segment = ""  # segments[i], while i < n
        while True:
            if i < n:
                segment = segments[i]
                # 1. The static child first: one dict lookup, then the rest of its run.
                static = node.static_children
                child = static.get(segment) if static else None
                if child is not None:
                    if child.width == 1 or segments[i : i + child.width] == child.prefix:
                        if node.wild:
                            if stack is None:
                                stack = []
                            bound = len(values) if values is not None else 0
                            stack.append((node, i, 0, bound))  # come back for the wildcards
                        node = child
                        i += child.width
                        continue
                    # Its run goes on differently from the path: a rejection.
                    if trace is None and why:
                        trace = Miss(method, path, segments)
                    if trace is not None:
                        trace.rejected(child, i)
                # 2. PERF: a lone plain {name} child (the usual case) needs no bookkeeping.
                child = node.str_only
                if child is not None and segment:
                    node = child
                    i += 1
                    continue
                wild = node.wild
            else:
                # 3. The path is used up: a match if this node has a route for the method.
                target = node.handlers.get(method)
                if target is not None and (trace is None or trace.matched(node, target[0])):
                    route, names, at = target
                    count = len(names)
                    if values:
                        # Some values were computed: fetch each from where _sources says.
                        if count == 1:  # PERF: the usual /users/{id:int}, without a zip
                            params = {names[0]: values[0]}
                            return Match(route, params)
                        params = {}
                        for name, j in zip(names, at):  # noqa: B905 (same length)
                            params[name] = segments[j] if j >= 0 else values[~j]
                        return Match(route, params)
                    # PERF: only plain {name} values, each a segment: a dict literal costs a
                    # third of dict(zip(...)) for the usual one to three parameters.
                    if count == 1:
                        params = {names[0]: segments[at[0]]}
                    elif count == 2:
                        params = {names[0]: segments[at[0]], names[1]: segments[at[1]]}
                    elif count == 3:
                        params = {
                            names[0]: segments[at[0]],
                            names[1]: segments[at[1]],
                            names[2]: segments[at[2]],
                        }
                    else:
                        params = {}
                        for name, j in zip(names, at):  # noqa: B905 (same length)
                            params[name] = segments[j]
                    return Match(route, params)
                # A dead end: no route for the method here. Backtrack.
                if trace is None and why:
                    trace = Miss(method, path, segments)
                if trace is not None:
                    trace.ended(node, values)
                wild = _NO_CHILDREN
            # 4. The wildcard children of `node`, in priority order (from the k-th, after a
            # backtrack); when none is left, backtrack, and go on from the resumed node.
            k = 0
            while True:
                while k < len(wild):
                    child = wild[k]
                    k += 1
                    mode = child.mode
                    if mode == STR_PARAM:
                        if not segment:  # {name} needs a non-empty segment
                            if trace is not None:
                                trace.rejected(child, i)
                            continue
                        value = None  # nothing to keep: the value is the segment itself
                    elif mode == CATCH_ALL:
                        value = "/".join(segments[i:])  # the rest, slashes included
                    else:
                        # A parameter never matches an empty segment, whatever its regex.
                        value = child.accept(segment) if segment else None  # type: ignore[misc]
                        if value is None:  # the converter refuses: try the next candidate
                            if trace is not None:
                                trace.rejected(child, i)
                            continue
                    if k < len(wild):
                        if stack is None:
                            stack = []
                        bound = len(values) if values is not None else 0
                        stack.append((node, i, k, bound))  # come back for the others
                    if mode != STR_PARAM:  # a plain {name} keeps nothing: see _sources
                        if values is None:
                            values = []
                        if mode == MIXED:
                            values.extend(value)  # a mixed segment binds several values
                        else:
                            values.append(value)
                    node = child
                    i = n if mode == CATCH_ALL else i + 1
                    break
                else:
                    # Backtrack, the one place the walk goes back: to the most recent node
                    # with an untried wildcard child, forgetting the values bound since.
                    if trace is None and why:
                        trace = Miss(method, path, segments)
                    if stack is None or not stack:
                        if trace is None:
                            return _NO_REASON  # nothing matches, and no one asked why
                        trace.backtracked(node, i, None)
                        return trace  # nothing matches
                    resumed, resumed_at, k, bound = stack.pop()
                    if trace is not None:
                        trace.backtracked(node, i, resumed)
                    node, i = resumed, resumed_at
                    if values is not None:
                        del values[bound:]
                    wild = node.wild
                    segment = segments[i]
                    continue
                break

    def allowed_methods(self, path: str) -> frozenset[str]:
        """Every method some route accepts at ``path`` (HEAD wherever GET is), for 405 and OPTIONS.

        >>> router = Router()
        >>> _ = router.add("/a", lambda request: None, methods=["POST"])
        >>> sorted(router.allowed_methods("/a")), sorted(router.allowed_methods("/b"))
        (['POST'], [])
        """
        every_end = Miss("", path, split_path(path), every_end=True)
        self.lookup("", path, every_end)
        return every_end.allowed

    def redirect_slash(self, method: str, path: str) -> str | None:
        """The other form of ``path`` (one trailing slash added or removed) if only it matches.

        The App redirects (308) there instead of answering 404 or 405. A real match always
        wins, so this is ``None`` when ``path`` itself matches; never a redirect for ``/``.
        (The App reads the same answer off the :class:`Miss` of its one lookup.)

        >>> router = Router()
        >>> _ = router.add("/users", lambda request: None)
        >>> router.redirect_slash("GET", "/users/"), router.redirect_slash("POST", "/users/")
        ('/users', None)
        """
        found = self.lookup(method, path)
        return found.redirect if isinstance(found, Miss) else None

    def url_for(self, route_name: str, /, **params: Any) -> str:
        """The path of the route ``route_name``, with ``params`` converted and percent-encoded.

        >>> router = Router()
        >>> _ = router.add("/files/{name}", lambda request: None, name="file")
        >>> router.url_for("file", name="a b/c")
        '/files/a%20b%2Fc'

        NOTE: ``route_name`` is positional-only, so a parameter may be called ``name``.
        (When the module is compiled with mypyc, which ignores ``/``, a route parameter
        spelled ``route_name`` would collide with it.)
        """
        entries = self._by_name.get(route_name)
        if not entries:
            close = difflib.get_close_matches(route_name, list(self._by_name), n=3, cutoff=0.6)
            if close:
                hint = f" (did you mean {', '.join(repr(c) for c in close)}?)"
            else:
                hint = f" (known: {', '.join(repr(n) for n in sorted(self._by_name)) or 'none'})"
            raise URLBuildError(f"no route named {route_name!r}{hint}")
        paths = {route.path: pattern for route, pattern, _ in entries}
        if len(paths) > 1:
            listed = ", ".join(sorted(paths))
            raise URLBuildError(
                f"route name {route_name!r} is ambiguous: it names {listed}"
                " (give each route its own name=)"
            )
        ((path, pattern),) = paths.items()
        return pattern.build(params, what=f"route {route_name!r} ({path})")

    # -- showing the tree and the walk -------------------------------------------------------

    def explain(self, method: str, path: str) -> "Explanation":
        """The lookup of ``method path`` step by step: nodes tried, rejections, backtracks.

        The walk is the one :meth:`match` takes (without the static fast path), reporting
        to the :class:`Miss` of :mod:`asgilab.explain` that puts each step in words. So
        ``explain(...).match == match(...)``, always.

        >>> router = Router()
        >>> _ = router.add("/users/new", lambda request: None, name="new")
        >>> _ = router.add("/users/{id:int}", lambda request: None, name="user")
        >>> print(router.explain("GET", "/users/7"))
        GET /users/7
          enter     /: segments ['users', '7']
          enter     users: static 'users'
          enter     {id:int}: {id:int} accepts '7'
          match     {id:int}: GET -> Route(path='/users/{id:int}', name='user', methods=['GET'])
        """
        from .explain import explain_lookup  # here: asgilab.explain imports this module

        return explain_lookup(self, method, path)

    def __str__(self) -> str:
        """The tree, one node per line, with the routes that end at each node."""
        from .explain import tree_text

        return tree_text(self.root)
