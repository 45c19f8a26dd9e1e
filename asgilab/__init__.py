"""asgilab: a small, fast, correct ASGI web framework built to be explored.

>>> from asgilab import App, Client
>>> app = App()
>>> @app.get("/users/{user_id:int}")
... async def user(request, user_id: int):
...     return {"id": user_id}
>>> with Client(app) as client:
...     client.get("/users/42").json()
{'id': 42}

Importing the package loads what serving an app needs and nothing more: the
in-process client (httpx), the server (uvicorn) and the trace load the first time
their names are used (see ``_LAZY``), so ``uvicorn main:app`` pays for neither, and
Graphviz loads when a picture is rendered. The drawing module itself is imported
here: ``draw`` is also the name of that module, which the import system would put
in the function's place the first time anyone imported ``asgilab.draw``.
"""

import importlib
import typing

from .app import App
from .background import BackgroundTask, BackgroundTasks
from .converters import Converter
from .datastructures import URL, Headers, QueryParams, State, UploadFile
from .dependencies import Depends
from .draw import Drawing, draw, draw_steps
from .errors import (
    AsgilabError,
    HTTPException,
    InvalidPath,
    InvalidPattern,
    RouteConflict,
    URLBuildError,
)
from .files import UnsafePath, safe_join
from .render import GraphvizUnavailable, RenderError
from .request import Request
from .responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    safe_redirect_target,
)
from .router import Match, Route, Router
from .treeview import DrawError

__version__ = "0.1.0"

__all__ = [
    "App",
    "AsgilabError",
    "AsyncClient",
    "BackgroundTask",
    "BackgroundTasks",
    "CORSMiddleware",
    "Client",
    "Converter",
    "Depends",
    "DrawError",
    "Drawing",
    "FileResponse",
    "GraphvizUnavailable",
    "HTMLResponse",
    "HTTPException",
    "Headers",
    "InvalidPath",
    "InvalidPattern",
    "JSONResponse",
    "Match",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "RenderError",
    "Request",
    "Response",
    "Route",
    "RouteConflict",
    "Router",
    "Server",
    "State",
    "StaticFiles",
    "StreamingResponse",
    "Trace",
    "URL",
    "URLBuildError",
    "UnsafePath",
    "UploadFile",
    "draw",
    "draw_steps",
    "safe_join",
    "safe_redirect_target",
    "serve",
]

#: The public names loaded on first use (PEP 562), and the module each comes from.
_LAZY = {
    "AsyncClient": "client",  # httpx
    "Client": "client",
    "Server": "server",  # uvicorn
    "serve": "server",
    "Trace": "trace",  # what the client records
    "CORSMiddleware": "cors",  # what only some apps add
    "StaticFiles": "staticfiles",
}

# NOTE: to type checkers the lazy names are ordinary imports: they know each one's type,
# and, never seeing the module ``__getattr__``, still reject a misspelt ``asgilab.X``.
if typing.TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .cors import CORSMiddleware
    from .server import Server, serve
    from .staticfiles import StaticFiles
    from .trace import Trace
else:

    def __getattr__(name: str) -> object:
        """Import a lazy name's module the first time the name is looked up, then keep it."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups are ordinary ones
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
