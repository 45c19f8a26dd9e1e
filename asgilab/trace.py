"""A recorded ASGI exchange: the scope, then every ``receive()`` and ``send()`` in order.

ASGI is a conversation. The server hands the app a ``scope`` (what the connection
is), the app *receives* events from the server (the request body, a disconnect) and
*sends* events back (the response start, the body chunks). Frameworks hide that
conversation; a :class:`Trace` writes it down, with the time of each message since
the app was called, so a notebook can show what really passed between the two.

:class:`asgilab.Client` records one for every request (``client.trace``), but a
trace wraps any ASGI app, so it works on its own too:

>>> import asyncio
>>> async def hello(scope, receive, send):
...     await receive()
...     await send({"type": "http.response.start", "status": 200, "headers": []})
...     await send({"type": "http.response.body", "body": b"hello"})
>>> async def server_side(app):
...     async def receive():
...         return {"type": "http.request", "body": b"", "more_body": False}
...     async def send(message):
...         pass
...     trace = Trace({"type": "http", "method": "GET", "path": "/"})
...     await trace.run(app, receive, send)
...     return trace
>>> trace = asyncio.run(server_side(hello))
>>> trace
<Trace GET / -> 200, 3 messages>
>>> [(event.call, event.message["type"]) for event in trace.events]
[('receive', 'http.request'), ('send', 'http.response.start'), ('send', 'http.response.body')]

In Jupyter a trace displays as an HTML table (``_repr_html_``); ``print(trace)``
gives the same table as text. Bodies are shortened for display, never dropped:
``event.message`` keeps the bytes exactly as they were sent.
"""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Trace", "TraceEvent", "shorten", "shorten_bytes"]

#: How many bytes of a body the display shows before cutting it (the trace keeps all).
BODY_PREVIEW = 64
#: How many characters of any other value's ``repr`` the display shows.
VALUE_PREVIEW = 120

Call = Literal["receive", "send"]


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One message of the exchange.

    ``call`` is ``"receive"`` for a message the server handed to the app (the app
    awaited ``receive()``) and ``"send"`` for one the app handed to the server;
    ``offset`` is in seconds since the app was called.
    """

    offset: float
    call: Call
    message: Message


class Trace:
    """The scope and every message of one ASGI exchange, in order, with time offsets.

    ``scope`` is a copy of what the app was given, taken before the app could change
    it (its headers list and state dict copied too). ``error`` is the ``repr`` of the
    exception the app raised, if any; ``duration`` is the time from the call to the
    app's return, in seconds.
    """

    __slots__ = ("_given", "duration", "error", "events", "scope")

    def __init__(self, scope: Scope) -> None:
        self._given = scope  # what the app gets (and may add to, e.g. path_params)
        # What the server sent, kept as sent: the app may append to the headers list or
        # fill the state dict in place, which a shallow copy would show as sent.
        self.scope: Scope = {
            key: list(value) if key == "headers" else dict(value) if key == "state" else value
            for key, value in scope.items()
        }
        self.events: list[TraceEvent] = []
        self.error: str | None = None
        self.duration: float | None = None

    async def run(self, app: ASGIApp, receive: Receive, send: Send) -> None:
        """Call ``app`` with this trace's scope, recording what passes through ``receive``/``send``.

        The messages are recorded as shallow copies, so an app that reuses a message
        dict cannot rewrite history. An exception from the app is recorded and re-raised.
        """
        # PERF: this wrapper sits on every in-process request, so it does the least
        # it can: one perf_counter() and one small dict copy per message.
        events = self.events
        start = time.perf_counter()

        async def traced_receive() -> Message:
            message = await receive()
            events.append(TraceEvent(time.perf_counter() - start, "receive", dict(message)))
            return message

        async def traced_send(message: Message) -> None:
            events.append(TraceEvent(time.perf_counter() - start, "send", dict(message)))
            await send(message)

        try:
            await app(self._given, traced_receive, traced_send)
        except BaseException as exc:
            self.error = repr(exc)
            raise
        finally:
            self.duration = time.perf_counter() - start

    # --- what the exchange amounts to -------------------------------------------------

    @property
    def status(self) -> int | None:
        """The status the app sent in ``http.response.start``, or None if it never did."""
        for event in self.events:
            if event.message.get("type") == "http.response.start":
                status: int = event.message["status"]
                return status
        return None

    @property
    def body(self) -> bytes:
        """The response body: every ``http.response.body`` chunk the app sent, joined."""
        return b"".join(
            event.message.get("body", b"")
            for event in self.events
            if event.message.get("type") == "http.response.body"
        )

    def summary(self) -> str:
        """One line: ``GET /users/42?x=1 -> 200`` for HTTP, the scope type otherwise."""
        scope = self.scope
        if scope.get("type") != "http":
            return str(scope.get("type", "?"))
        target = str(scope.get("path", "?"))
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        status = self.status
        outcome = "no response" if status is None else str(status)
        return f"{scope.get('method', '?')} {target} -> {outcome}"

    def __repr__(self) -> str:
        messages = len(self.events)
        plural = "" if messages == 1 else "s"
        error = f", raised {self.error}" if self.error else ""
        return f"<Trace {self.summary()}, {messages} message{plural}{error}>"

    # --- display: the same rows as text and as HTML -----------------------------------

    def _title(self) -> str:
        title = self.summary()
        status = self.status
        if status is not None:
            with contextlib.suppress(ValueError):  # a status http.HTTPStatus does not name
                title += " " + HTTPStatus(status).phrase
        if self.duration is not None:
            title += f" in {self.duration * 1000:.3f} ms"
        return title

    def _rows(self) -> list[tuple[str, str, str, list[tuple[str, list[str]]]]]:
        """(offset in ms, call, type, [(field, shown lines)]) for each message."""
        rows = []
        for event in self.events:
            fields = [(key, lines) for key, lines in _fields(event.message) if key != "type"]
            call = "app <- receive()" if event.call == "receive" else "app -> send()"
            rows.append(
                (f"{event.offset * 1000:.3f}", call, str(event.message.get("type", "?")), fields)
            )
        return rows

    def __str__(self) -> str:
        lines = [self._title(), "scope:"]
        scope_fields = list(_fields(self.scope))
        width = max((len(key) for key, _ in scope_fields), default=0)
        for key, shown in scope_fields:
            lines.append(f"  {key:<{width}}  {shown[0]}")
            lines += [f"  {'':<{width}}  {more}" for more in shown[1:]]
        rows = self._rows()
        if not rows:
            lines.append("messages: none")
        else:
            offset_width = max(len("ms"), *(len(row[0]) for row in rows))
            type_width = max(len(row[2]) for row in rows)
            lines.append("messages:")
            lines.append(f"  {'ms':>{offset_width}}  {'call':<16}  {'type':<{type_width}}  fields")
            indent = " " * (2 + offset_width + 2 + 16 + 2 + type_width + 2)
            for offset, call, type_, fields in rows:
                # One-line fields share the first line; a multi-line one (headers)
                # continues below, aligned under its first item.
                first = "  ".join(f"{key}={shown[0]}" for key, shown in fields if len(shown) == 1)
                lines.append(
                    f"  {offset:>{offset_width}}  {call:<16}  {type_:<{type_width}}  {first}"
                )
                for key, shown in fields:
                    if len(shown) > 1:
                        lines.append(f"{indent}{key}={shown[0]}")
                        lines += [f"{indent}{'':<{len(key) + 1}}{more}" for more in shown[1:]]
                lines[-1] = lines[-1].rstrip()
        if self.error:
            lines.append(f"the app raised {self.error}")
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        cell = 'style="text-align:left;vertical-align:top;padding:2px 8px"'

        def code(shown: list[str]) -> str:
            return "<br>".join(f"<code>{esc(line)}</code>" for line in shown)

        scope_rows = "".join(
            f"<tr><th {cell}>{esc(key)}</th><td {cell}>{code(shown)}</td></tr>"
            for key, shown in _fields(self.scope)
        )
        message_rows = "".join(
            f"<tr><td {cell}>{esc(offset)}</td><td {cell}>{esc(call)}</td>"
            f"<td {cell}><code>{esc(type_)}</code></td><td {cell}>"
            + "<br>".join(f"{esc(key)}={code(shown)}" for key, shown in fields)
            + "</td></tr>"
            for offset, call, type_, fields in self._rows()
        )
        error = f"<p>the app raised <code>{esc(self.error)}</code></p>" if self.error else ""
        return (
            f'<div class="asgilab-trace"><p><b>{esc(self._title())}</b></p>'
            f"<details open><summary>scope</summary><table>{scope_rows}</table></details>"
            f"<table><thead><tr><th {cell}>ms</th><th {cell}>call</th><th {cell}>type</th>"
            f"<th {cell}>fields</th></tr></thead><tbody>{message_rows}</tbody></table>"
            f"{error}</div>"
        )


def _fields(mapping: Mapping[str, Any]) -> Iterable[tuple[str, list[str]]]:
    """Each key with its value as display lines: bodies and long values shortened.

    Headers get one line per header, in full: they are what a reader looks for.
    """
    for key, value in mapping.items():
        if key == "body" and isinstance(value, bytes | bytearray):
            yield key, [shorten_bytes(bytes(value))]
        elif key == "headers" and isinstance(value, list | tuple) and value:
            items = [repr(tuple(header)) for header in value]
            items = ["[" + items[0], *(" " + item for item in items[1:])]
            yield key, [item + "," for item in items[:-1]] + [items[-1] + "]"]
        else:
            yield key, [shorten(repr(value))]


def shorten_bytes(data: bytes, limit: int = BODY_PREVIEW) -> str:
    """``repr`` of ``data``, cut after ``limit`` bytes with the full size said.

    >>> shorten_bytes(b"hello")
    "b'hello'"
    >>> shorten_bytes(b"x" * 1000, limit=4)
    "b'xxxx'... (1,000 bytes)"
    """
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}... ({len(data):,} bytes)"


def shorten(text: str, limit: int = VALUE_PREVIEW) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut.

    >>> shorten("abcdef", limit=5)
    'ab...'
    """
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
