"""Flask app of the Gen1 local HTTP API, shared by every device of a runtime.

The device a request is for comes from the listening socket (``shelly_emu.host`` in the WSGI
environ). Views only authenticate, collect parameters and call the device core; rendering and
validation live in the core (seed 003 "HTTP dialect": JSON answers, 4xx text/plain errors,
Basic auth on everything but /shelly, method ignored, query string or form body).

``fast_answer`` gives the view's exact answer for the common case (a GET of a plain path with
a plain query) without Flask's request machinery, which was half the cost of a request in a
10,000-device fleet; anything else returns None and goes through Flask. Keep the two in step:
tests/fleet/test_fast_path.py compares them request by request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask, Response, request
from werkzeug.http import HTTP_STATUS_CODES

from ...core.errors import DeviceError
from ...core.params import Params
from .pages import page

if TYPE_CHECKING:
    from ..hosting import Host

__all__ = ["answer", "create_app", "fast_answer", "is_plain", "plain_params", "reason", "refusal"]

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
_UNAUTHENTICATED = {"shelly"}


def _credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


#: Paths and queries whose meaning cannot differ between the fast path and werkzeug (no
#: percent-decoding of paths, no merged slashes, no trailing slash, ASCII only).
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9_-]+)+")
_PLAIN_QUERY = re.compile(r"(?:[A-Za-z0-9_.~!$'()*,:@/?=+-]|&|%[0-9A-Fa-f]{2})*")

type FastAnswer = tuple[str, list[tuple[str, str]], bytes]


def _repeated(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Every value of the ``name[]`` parameters (``/settings/actions?urls[]=a&urls[]=b``);
    other repeated keys keep their first value only, as request.args does."""
    lists: dict[str, list[str]] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            lists.setdefault(key, []).append(value)
    return lists


def refusal(
    host: Host, path: str, authorization: str | None
) -> tuple[int, str, str, list[tuple[str, str]]] | None:
    """The 401 answer when the device wants credentials and these are not its own, else None."""
    device = host.device
    if path.strip("/") not in _UNAUTHENTICATED and device.auth_enabled:
        given = _credentials(authorization)
        if given is None or not device.check_auth(*given):
            realm = device.identity.hostname
            return 401, _TEXT, "401 Unauthorized", [("WWW-Authenticate", f'Basic realm="{realm}"')]
    return None


def answer(
    host: Host, path: str, params: dict[str, Any] | Params, authorization: str | None
) -> tuple[int, str, str, list[tuple[str, str]]]:
    """One request's answer as (status, content type, body, extra headers): the single place
    where auth is checked and the core is called, for Flask's view and the fast path alike."""
    refused = refusal(host, path, authorization)
    if refused is not None:
        return refused
    if not path.strip("/"):  # the device's own web page (issue 15), auth as every endpoint
        return 200, "text/html; charset=utf-8", page("device.html"), []
    try:
        body = host.call(path, params)
    except DeviceError as error:
        return error.status, _TEXT, error.message, []
    return 200, "application/json", json.dumps(body), []


_TEXT = "text/plain; charset=utf-8"


def fast_answer(environ: dict[str, Any]) -> FastAnswer | None:
    """The view's answer to a plain GET as (status, headers, body); None for anything else."""
    path = environ["PATH_INFO"]
    query = environ["QUERY_STRING"]
    if environ["REQUEST_METHOD"] != "GET" or not is_plain(path, query):
        return None
    status, content_type, text, headers = answer(
        environ["shelly_emu.host"], path[1:], plain_params(query), environ.get("HTTP_AUTHORIZATION")
    )
    data = text.encode()
    headers = [*headers, ("Content-Type", content_type), ("Content-Length", str(len(data)))]
    return f"{status} {reason(status)}", headers, data


def is_plain(path: str, query: str) -> bool:
    """A path and query the fast path may answer (werkzeug would read them the same)."""
    return _PLAIN_PATH.fullmatch(path) is not None and _PLAIN_QUERY.fullmatch(query) is not None


def plain_params(query: str) -> Params:
    """The parameters of a plain query as Flask's view sees them."""
    params: dict[str, Any] = {}
    pairs = parse_qsl(query, keep_blank_values=True)
    for key, value in pairs:
        params.setdefault(key, value)  # the first value of a repeated key, as request.args
    return Params(params, _repeated(pairs))


def reason(status: int) -> str:
    """The reason phrase werkzeug writes for ``status``."""
    return "OK" if status == 200 else HTTP_STATUS_CODES.get(status, "Unknown").upper()


def create_app() -> Flask:
    app = Flask("shelly_emu")

    @app.route("/", defaults={"path": ""}, methods=_METHODS)
    @app.route("/<path:path>", methods=_METHODS)
    def resource(path: str) -> Response:
        params: dict[str, Any] = dict(request.args.items())
        pairs = list(request.args.items(multi=True))
        if request.method != "GET" and request.mimetype == "application/x-www-form-urlencoded":
            params.update(request.form.items())
            pairs += list(request.form.items(multi=True))
        status, content_type, text, headers = answer(
            request.environ["shelly_emu.host"],
            path,
            Params(params, _repeated(pairs)),
            request.headers.get("Authorization"),
        )
        return Response(text, status=status, content_type=content_type, headers=headers)

    return app
