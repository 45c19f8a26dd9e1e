"""The radix tree of routes, and the one walk that searches it.

Every route pattern is split into segments (see :mod:`asgilab.patterns`) and inserted into
a tree whose nodes each consume one segment, or a run of static segments compressed into
one node (``/api/v1/status`` is one node until a route branches off inside it). A request
path is split on ``/`` once and walked from the root. At every node the walk tries:

1. the **static child** whose run starts with the next segment: one dict lookup, since at
   most one static child can match;
2. then the **parameter children** (``{name}.{ext}``, ``{id:int}``, ``{name}``), in
   priority order, most specific first (see ``Segment.key``);
3. then the **catch-all** (``{rest:path}``), which takes the rest of the path.

When a branch dead-ends (no child takes the next segment, or the path ends at a node with
no route for the method), the walk *backtracks* to the last fork, the most recent node
with an untried child, and drops the values bound on the abandoned branch.

There is one walk, :meth:`Tree.walk`, and everything that searches the tree runs it:
:meth:`~Tree.match`; :meth:`~Tree.lookup`, which the App calls and which answers a miss
with a :class:`Miss` that the same walk filled in (the methods for a 405, the other
trailing-slash form for a 308); :meth:`~Tree.allowed_methods`; and the narration of
:mod:`asgilab.explain`. The walk reports only to the Miss it is given, and only where it
fails or matches: a lookup that goes straight down to its route reports to no one.

>>> from asgilab.patterns import parse_pattern
>>> async def user(request): ...
>>> tree = Tree()
>>> route = Route("/users/{id:int}", user, frozenset({"GET"}), "user")
>>> tree.place(route, parse_pattern(route.path))
>>> m = tree.match("GET", "/users/42")
>>> m.route.name, m.params
('user', {'id': 42})
>>> tree.lookup("POST", "/users/42")
Miss(method='POST', path='/users/42', allowed=['GET', 'HEAD'], redirect=None)

How a path is read:

* the walk takes the raw path (as ASGI's ``raw_path``), splits it on literal ``/`` and
  only then percent-decodes each segment, once, as strict UTF-8 (else ``InvalidPath``).
  So ``/files/a%2Fb`` gives ``name == "a/b"`` for ``/files/{name}``; ``+`` stays a plus;
  nothing is case-folded, no ``//`` is merged, no ``.``/``..`` is resolved;
* a catch-all value is the decoded segments joined with ``/``: an encoded slash inside it
  reads as a real one (``/static/a%2Fb`` and ``/static/a/b`` both give ``"a/b"``);
* a route matches when the path does *and* the route takes the method; a GET route
  serves HEAD unless the same node has a HEAD route of its own;
* a mixed segment (``{name}.{ext}``) is split among its parameters in steps linear in its
  length (:class:`~asgilab.patterns.MixedSearch`, not a backtracking regex), and one longer
  than ``MAX_MIXED_SEGMENT`` (255) characters is no match.

PERF: allocations are most of what a lookup costs, so the walk allocates nothing it can
avoid: whole static paths are answered from a dict of prebuilt matches before any walk;
the backtrack stack is made at the first fork only, the list of computed values at the
first converted parameter only (a plain ``{name}`` value is read off the split path at
the end, see ``_sources``). The module is plain typed Python that mypyc compiles
unchanged (see ``build_backend/``); the interpreted module stays the reference.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from ._mypyc import mypyc_attr
from .errors import InvalidPath, excerpt
from .patterns import Pattern, Segment, SegmentKey
from .routes import Route

__all__ = ["Match", "Miss", "Node", "NodeKind", "Target", "Tree", "split_path"]

NodeKind = Literal["root", "static", "mixed", "param", "catch_all"]

# PERF: static matches carry no parameters; they all share one read-only empty mapping, so
# the static fast path allocates nothing but (at most) the Match it returns.
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


# -- reading a path -------------------------------------------------------------------------

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


# -- the node -------------------------------------------------------------------------------


class Target:
    """A route that ends at a node, with what the walk needs to build its parameters.

    Each route binds its own names: ``GET /u/{id}`` and ``POST /u/{name}`` end at one node.
    """

    __slots__ = ("names", "route", "sources")

    def __init__(self, route: Route, names: tuple[str, ...], sources: tuple[int, ...]) -> None:
        self.route = route
        # The route's parameter names, in pattern order.
        self.names = names
        # Where each parameter's value is once the walk ends here (see _sources).
        self.sources = sources


class Node:
    """One position in the radix tree.

    The fields are public so that the drawing and the notebooks can walk the tree; only the
    tree changes them.
    """

    __slots__ = (
        "accept",
        "kind",
        "parent",
        "plain_only",
        "prefix",
        "segment",
        "static_children",
        "targets",
        "width",
        "wildcards",
    )

    def __init__(self, kind: NodeKind, segment: Segment | None = None, prefix: Iterable[str] = ()):
        # What the node matches: "root", "static", "mixed", "param" or "catch_all".
        self.kind: NodeKind = kind
        # Static nodes: the decoded segments this node consumes (several = a compressed run),
        # and (PERF: read on every step of the walk) how many they are. Set by _set_prefix only.
        self.prefix: list[str] = []
        self.width = 0
        self._set_prefix(list(prefix))
        # Mixed, param and catch-all nodes: the pattern segment they test, as first registered.
        self.segment: Segment | None = segment
        # The node this one is a child of (None for the root): the way back up, which the
        # narration and the trailing-slash rule follow after a failed walk.
        self.parent: Node | None = None
        # Static children, keyed by the first segment of their prefix: at most one can match.
        self.static_children: dict[str, Node] = {}
        # The mixed and param children in the order the walk tries them (see Segment.key),
        # then the catch-all: what the walk tries after the static child.
        self.wildcards: list[Node] = []
        # PERF: wildcards[0] when it is the only one and a plain {name}: the usual case, which
        # the walk takes with no alternative to remember. Set by _set_wildcards only.
        self.plain_only: Node | None = None
        # The routes that end here, by method, as registered (a GET route serves HEAD too:
        # the walk looks for GET when a node has no HEAD route).
        self.targets: dict[str, Target] = {}
        # PERF: the segment's test, looked up once: a converter's accept() for {id:int}, the
        # segment's parse() for a mixed one (a list of values, or None); None for a plain
        # {name} (any non-empty segment, tested inline) and for static and catch-all nodes.
        self.accept: Callable[[str], Any] | None = None
        if segment is not None and kind == "param" and not segment.verbatim:
            self.accept = segment.params[0].converter.accept
        elif segment is not None and kind == "mixed":
            self.accept = segment.parse

    # What the fields give, derived on demand (the walk reads none of these).

    @property
    def label(self) -> str:
        """The text to show, in pattern syntax: ``users/events``, ``{id:int}``, ``{name}.{ext}``."""
        return "/".join(self.prefix) if self.segment is None else self.segment.text

    @property
    def param(self) -> str | None:
        """Param and catch-all nodes: the parameter name, as the first route spelled it
        (other routes may name the same position differently)."""
        if self.segment is None or self.kind == "mixed":
            return None
        return self.segment.params[0].name

    @property
    def converter(self) -> str | None:
        """Param and catch-all nodes: the converter's name (``str`` for a plain ``{name}``)."""
        if self.segment is None or self.kind == "mixed":
            return None
        return self.segment.params[0].converter.name

    @property
    def param_children(self) -> list["Node"]:
        """The mixed and param children, in the order the walk tries them."""
        return [child for child in self.wildcards if child.kind != "catch_all"]

    @property
    def catch_all(self) -> "Node | None":
        """The catch-all child (``{rest:path}``), tried last, if there is one."""
        last = self.wildcards[-1] if self.wildcards else None
        return last if last is not None and last.kind == "catch_all" else None

    @property
    def children(self) -> list["Node"]:
        """Every child, in the order matching tries them (static ones by label)."""
        return sorted(self.static_children.values(), key=lambda n: n.label) + self.wildcards

    @property
    def routes(self) -> dict[str, Route]:
        """The routes that end here, by method, as registered."""
        return {method: target.route for method, target in self.targets.items()}

    @property
    def methods(self) -> frozenset[str]:
        """The methods some route here takes (HEAD wherever GET is): a 405's ``Allow``."""
        methods = frozenset(self.targets)
        return methods | {"HEAD"} if "GET" in methods else methods

    def target(self, method: str) -> Target | None:
        """What a request for ``method`` ends at here: its route's, or for HEAD the GET one's."""
        target = self.targets.get(method)
        if target is None and method == "HEAD":
            return self.targets.get("GET")
        return target

    def __repr__(self) -> str:
        return f"<Node {self.kind} {self.label!r}>"

    # -- insertion ------------------------------------------------------------------------

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
        tail._set_wildcards(self.wildcards)
        self._set_wildcards([])
        tail.targets, self.targets = self.targets, {}
        tail.parent = self
        for child in [*tail.static_children.values(), *tail.wildcards]:
            child.parent = tail
        self._set_prefix(self.prefix[:at])

    def _set_prefix(self, prefix: list[str]) -> None:
        """Make ``prefix`` this static node's run: the one place that changes it, so the
        cached ``width`` always agrees."""
        self.prefix = prefix
        self.width = len(prefix)

    def wild_child(self, segment: Segment) -> "Node | None":
        """The mixed, param or catch-all child with ``segment``'s shape, if there is one."""
        for child in self.wildcards:
            if child.segment is not None and child.segment.shape == segment.shape:
                return child
        return None

    def insert_wild(self, segment: Segment) -> "Node":
        """The mixed, param or catch-all child for ``segment``'s shape, created if needed."""
        child = self.wild_child(segment)
        if child is None:
            kind: NodeKind = "catch_all" if segment.kind == "catch_all" else "param"
            child = Node("mixed" if segment.kind == "mixed" else kind, segment)
            child.parent = self
            self._set_wildcards([*self.wildcards, child])
        return child

    def _set_wildcards(self, children: list["Node"]) -> None:
        """Make ``children`` the wildcard children, in priority order: the one place that
        changes them, so the cached ``plain_only`` always agrees."""
        # Segment.key sorts mixed < param (by converter rank) < catch-all.
        self.wildcards = sorted(children, key=_priority)
        only = self.wildcards[0] if len(self.wildcards) == 1 else None
        plain = only is not None and only.kind == "param" and only.accept is None
        self.plain_only = only if plain else None


def _priority(node: Node) -> SegmentKey:
    """A wildcard child's place among its siblings: its segment's key (smaller first)."""
    assert node.segment is not None  # wildcard children always have one
    return node.segment.key


def _sources(pattern: Pattern) -> tuple[int, ...]:
    """Where the walk finds each parameter's value once it reaches the pattern's node.

    A plain ``{name}`` takes its whole segment unchanged, and every pattern segment but
    the catch-all consumes exactly one path segment, so its value is ``segments[j]`` for a
    ``j`` known now: the source is ``j``. Converted, mixed and catch-all values are computed
    during the walk and kept in order in a list: the source is ``~index`` (negative).
    Patterns with the same shape end at the same node and get the same sources.

    >>> from asgilab.patterns import parse_pattern
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


# -- what a lookup answers ------------------------------------------------------------------


class Match:
    """The result of a successful lookup: the route and its converted parameters.

    PERF: a slotted class rather than a frozen dataclass (whose __init__ costs much
    more); treat it as read-only. Matches of static routes are built once and reused,
    sharing one read-only empty ``params``.
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


@mypyc_attr(allow_interpreted_subclasses=True)
class Miss:
    """Why a lookup found no route, noted by the walk that looked: what a 404, 405 or 308 needs.

    :meth:`Tree.lookup` returns one when nothing matches. The walk calls the hooks below
    where it fails (:meth:`rejected`, :meth:`ended`, :meth:`backtracked`) and where it
    succeeds (:meth:`matched`); a Miss keeps from them the nodes where the path ends, whose
    methods are the ``Allow`` of a 405, and the nodes where the path's other trailing-slash
    form ends, which decide a 308. The narration of ``Router.explain`` is a Miss that
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
        """Every method a route takes at this path (HEAD wherever GET is): a 405's ``Allow``."""
        return frozenset(method for node in self.ends for method in node.methods)

    @property
    def redirect(self) -> str | None:
        """The other form of the path (its trailing slash removed, or one added) when that
        has a route for the method, else ``None``; never for ``/``."""
        path = self.path
        if path == "/" or not path.startswith("/"):
            return None
        if not any(self.method in node.methods for node in self.others):
            return None
        return path[:-1] if path.endswith("/") else path + "/"

    def __bool__(self) -> Literal[False]:
        """A Miss is falsy, as the ``None`` of :meth:`Tree.match`: ``if not found: ...``."""
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
            catch_all = node.catch_all
            if catch_all is not None:
                self.others.append(catch_all)

    def backtracked(self, node: Node, i: int, to: Node | None) -> None:
        """Nothing fits below ``node``, where the walk was at ``segments[i]``: it goes back
        up to ``to``, an ancestor, or gives up (``None``)."""
        if self.slashed and i == len(self.segments) - 1:
            # The walk was at the last segment, "": without the slash the path ends here.
            self.others.append(node)


# The Miss of a walk asked not to say why (see Tree.walk): empty, and shared.
_NO_REASON = Miss("", "", [""])
# A dead end tries no wildcard child: the walk goes straight to its backtrack.
_NO_CHILDREN: list[Node] = []


# -- the tree -------------------------------------------------------------------------------


@mypyc_attr(allow_interpreted_subclasses=True)
class Tree:
    """The radix tree of routes: routes go in with :meth:`place`, lookups walk it.

    The :class:`~asgilab.router.Router` is a Tree that also checks what goes in (conflicts,
    names, converters) and builds URLs back from names.
    """

    def __init__(self) -> None:
        self.root = Node("root")
        # PERF: fully static paths -> method -> prebuilt Match, checked before any walk: a
        # fully static route is always the most specific match there is.
        self.static_paths: dict[str, dict[str, Match]] = {}
        # Equal _sources() tuples, shared between targets (big route sets repeat them).
        self._sources: dict[tuple[int, ...], tuple[int, ...]] = {}

    # -- insertion ------------------------------------------------------------------------

    def insert(self, pattern: Pattern) -> Node:
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

    def find(self, pattern: Pattern) -> Node | None:
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

    def place(self, route: Route, pattern: Pattern, replaced: Sequence[Route] = ()) -> None:
        """Put ``route`` (whose path parses to ``pattern``) at its node for each of its
        methods, in place of the ``replaced`` routes of that node: the methods they had and
        ``route`` lacks go with them. The caller checked that it may (no conflict)."""
        node = self.insert(pattern)
        sources = _sources(pattern)
        target = Target(route, pattern.names, self._sources.setdefault(sources, sources))
        # NOTE: the new route takes its methods before the replaced ones lose theirs, so
        # that a server thread matching meanwhile never finds the path missing.
        for method in route.methods:
            node.targets[method] = target
        for old in replaced:
            for method in old.methods - route.methods:
                del node.targets[method]
        if pattern.is_static:
            # (A replaced route of this shape had a static path too, maybe spelled otherwise.)
            matches = {}
            for method in node.methods:
                found = node.target(method)
                if found is not None:
                    matches[method] = Match(found.route, _NO_PARAMS)
            for static_path in {route.path, *(old.path for old in replaced)}:
                self.static_paths[static_path] = matches

    # -- lookup ---------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Match | None:
        """The highest-priority route matching the raw ``path`` that takes ``method``.

        Raises :class:`~asgilab.errors.InvalidPath` when the path cannot be decoded.
        """
        if "%" not in path:
            # Fast path: a fully static route is always the most specific match there is.
            by_method = self.static_paths.get(path)
            if by_method is not None:
                found = by_method.get(method)
                if found is not None:
                    return found
            segments = path.split("/")
        else:
            segments = split_path(path)
        return self.walk(method, path, segments, None, False) or None  # (a Miss is falsy)

    def lookup(self, method: str, path: str, trace: Miss | None = None) -> Match | Miss:
        """The match, or a :class:`Miss` that says what the path has instead: what the App asks.

        The walk that finds no route notes where the path ends (the methods for a 405's
        ``Allow``) and where its other trailing-slash form ends (a 308): no second walk.
        ``trace``, when given, is the Miss the walk reports to (see :meth:`walk`).
        """
        if "%" not in path:
            # The fast path of match(), for a walk no one listens to.
            if trace is None:
                by_method = self.static_paths.get(path)
                if by_method is not None:
                    found = by_method.get(method)
                    if found is not None:
                        return found
            segments = path.split("/")
        else:
            segments = split_path(path)
        return self.walk(method, path, segments, trace, True)

    def allowed_methods(self, path: str) -> frozenset[str]:
        """Every method some route takes at ``path`` (HEAD wherever GET is), for 405 and OPTIONS."""
        every_end = Miss("", path, split_path(path), every_end=True)
        self.lookup("", path, every_end)
        return every_end.allowed

    def redirect_slash(self, method: str, path: str) -> str | None:
        """The other form of ``path`` (one trailing slash added or removed) if only it matches.

        The App redirects (308) there instead of answering 404 or 405. A real match always
        wins, so this is ``None`` when ``path`` itself matches; never a redirect for ``/``.
        (The App reads the same answer off the :class:`Miss` of its one lookup.)
        """
        found = self.lookup(method, path)
        return found.redirect if isinstance(found, Miss) else None

    def walk(
        self, method: str, path: str, segments: list[str], trace: Miss | None, why: bool
    ) -> Match | Miss:
        """The walk: the one search of the tree, behind match, lookup, explain and allowed_methods.

        It tries the children of each node in priority order, goes down the first that
        takes its segment, and backtracks when a branch dead-ends. ``trace`` hears where
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
                    width = child.width
                    if width == 1 or segments[i : i + width] == child.prefix:
                        if node.wildcards:
                            if stack is None:
                                stack = []
                            bound = len(values) if values is not None else 0
                            stack.append((node, i, 0, bound))  # come back for the wildcards
                        node = child
                        i += width
                        continue
                    # Its run goes on differently from the path: a rejection.
                    if trace is None and why:
                        trace = Miss(method, path, segments)
                    if trace is not None:
                        trace.rejected(child, i)
                # 2. PERF: a lone plain {name} child (the usual case) needs no bookkeeping.
                child = node.plain_only
                if child is not None and segment:
                    node = child
                    i += 1
                    continue
                wildcards = node.wildcards
            else:
                # 3. The path is used up: a match if this node has a route for the method.
                target = node.targets.get(method)
                if target is None and method == "HEAD":
                    target = node.targets.get("GET")  # PERF: node.target(method), inlined
                if target is not None and (trace is None or trace.matched(node, target.route)):
                    names, at = target.names, target.sources
                    count = len(names)
                    if values:
                        # Some values were computed: fetch each from where _sources says.
                        if count == 1:  # PERF: the usual /users/{id:int}, without a zip
                            return Match(target.route, {names[0]: values[0]})
                        params = {}
                        for name, j in zip(names, at):  # noqa: B905 (same length)
                            params[name] = segments[j] if j >= 0 else values[~j]
                        return Match(target.route, params)
                    # PERF: only plain {name} values, each a segment: for the usual one to
                    # three parameters a dict literal is much cheaper than dict(zip(...)).
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
                    return Match(target.route, params)
                # A dead end: no route for the method here. Backtrack.
                if trace is None and why:
                    trace = Miss(method, path, segments)
                if trace is not None:
                    trace.ended(node, values)
                wildcards = _NO_CHILDREN
            # 4. The wildcard children of `node`, in priority order (from the k-th, after a
            # backtrack); when none is left, backtrack, and go on from the resumed node.
            k = 0
            while True:
                while k < len(wildcards):
                    child = wildcards[k]
                    k += 1
                    accept = child.accept
                    after = i + 1  # where the walk reads on below `child`
                    if accept is not None:
                        # {id:int} or {name}.{ext}: the converter (or the mixed search) decides;
                        # a parameter never matches an empty segment, whatever its regex.
                        value = accept(segment) if segment else None
                        if value is None:  # refused: try the next candidate
                            if trace is not None:
                                trace.rejected(child, i)
                            continue
                    elif child.kind == "catch_all":
                        value = "/".join(segments[i:])  # the rest, slashes included
                        after = n
                    elif segment:
                        value = None  # a plain {name}: its value is the segment itself
                    else:
                        if trace is not None:  # a plain {name} needs a non-empty segment
                            trace.rejected(child, i)
                        continue
                    if k < len(wildcards):
                        if stack is None:
                            stack = []
                        bound = len(values) if values is not None else 0
                        stack.append((node, i, k, bound))  # come back for the others
                    if value is not None:  # a plain {name} keeps nothing: see _sources
                        if values is None:
                            values = []
                        if child.kind == "mixed":
                            values.extend(value)  # a mixed segment binds several values
                        else:
                            values.append(value)
                    node = child
                    i = after
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
                    wildcards = node.wildcards
                    segment = segments[i]
                    continue
                break
