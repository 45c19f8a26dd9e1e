"""asgilab: a small, fast, correct ASGI web framework built to be explored.

>>> from asgilab import App, Client
>>> app = App()
>>> @app.get("/users/{user_id:int}")
... async def user(request, user_id: int):
...     return {"id": user_id}
>>> with Client(app) as client:
...     client.get("/users/42").json()
{'id': 42}
"""

from .app import App
from .background import BackgroundTask, BackgroundTasks
from .client import AsyncClient, Client
from .converters import Converter
from .datastructures import URL, Headers, QueryParams, State, UploadFile
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
from .server import Server, serve
from .trace import Trace
from .treeview import DrawError

__version__ = "0.1.0"

__all__ = [
    "App",
    "AsgilabError",
    "AsyncClient",
    "BackgroundTask",
    "BackgroundTasks",
    "Client",
    "Converter",
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
