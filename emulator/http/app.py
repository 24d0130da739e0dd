"""Flask app of the Gen1 local HTTP API, shared by every device of a runtime.

The device a request is for comes from the listening socket (``shelly_emu.host`` in the WSGI
environ). Views only authenticate, collect parameters and call the device core; rendering and
validation live in the core (seed 003 "HTTP dialect": JSON answers, 4xx text/plain errors,
Basic auth on everything but /shelly, method ignored, query string or form body).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from ..core.errors import DeviceError

if TYPE_CHECKING:
    from ..runtime import DeviceHost

__all__ = ["create_app"]

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


def _text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(message, status=status, mimetype="text/plain", headers=headers)


def create_app() -> Flask:
    app = Flask("shelly_emu")

    @app.route("/", defaults={"path": ""}, methods=_METHODS)
    @app.route("/<path:path>", methods=_METHODS)
    def resource(path: str) -> Response:
        host: DeviceHost = request.environ["shelly_emu.host"]
        device = host.device
        if path.strip("/") not in _UNAUTHENTICATED and device.auth_enabled:
            given = _credentials(request.headers.get("Authorization"))
            if given is None or not device.check_auth(*given):
                realm = device.identity.hostname
                return _text(
                    "401 Unauthorized", 401, {"WWW-Authenticate": f'Basic realm="{realm}"'}
                )
        params: dict[str, Any] = dict(request.args.items())
        if request.method != "GET" and request.mimetype == "application/x-www-form-urlencoded":
            params.update(request.form.items())
        try:
            body = host.call(path, params)
        except DeviceError as error:
            return _text(error.message, error.status)
        return Response(json.dumps(body), mimetype="application/json")

    return app
