"""The ASGI vocabulary, named once.

ASGI (https://asgi.readthedocs.io) describes an application as an async callable
``app(scope, receive, send)``: ``scope`` says what the connection is, ``receive``
awaits the next event from the server, and ``send`` hands an event to the server.
Every module in asgilab speaks in these names.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
