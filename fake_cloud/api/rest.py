"""REST side of the fake cloud (Flask): one app per front end, sharing the cloud's services.

Front ends (spec/cloud.md §0): "api" (`/integrator/get_access_token`, `/oauth/login`), "my"
(consent and OAuth login pages, pages.py) and each server (`/oauth/auth`,
`/device/all_status`). Every front end also serves the control plane under `/_fake/`.
Parameters are read from the query string, a form body or a JSON body alike, because real
clients use all three (§2.2, §3.5). Views stay short: state and shapes live elsewhere.
"""

import hashlib
import time
from enum import StrEnum
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider

from fake_cloud.api.auth import AuthError, Principal
from fake_cloud.api.cloud_control.v1 import all_status_by_key
from fake_cloud.api.context import Services
from fake_cloud.api.render import all_status, envelope_error, envelope_ok
from fake_cloud.state.backend import DIY_CLIENT
from fake_cloud.state.jsonwire import finite
from fake_cloud.state.tokens import Audience

__all__ = ["Role", "create_app", "params"]


class Role(StrEnum):
    API = "api"
    MY = "my"
    SERVER = "server"


def services() -> Services:
    return current_app.config["SERVICES"]


def params() -> dict[str, Any]:
    """Query string, form and JSON object merged (later ones win)."""
    merged: dict[str, Any] = dict(request.args.items())
    merged.update(request.form.items())
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        merged.update(body)
    return merged


def error(errors: dict[str, str], status: int = 200) -> tuple[Response, int]:
    g.refused = True  # recorded without its parameters (_record)
    return jsonify(envelope_error(errors, services().policies.errors_style)), status


api = Blueprint("api", __name__)
server_api = Blueprint("server_api", __name__)


@api.route("/integrator/get_access_token", methods=["GET", "POST"])
def get_access_token() -> Any:
    """Seed 000: itg + token → `{"isok": true, "data": "<JWT>"}`; errors keep HTTP 200 (§2.2)."""
    p = params()
    try:
        token = services().authority.integrator_token(
            str(p.get("itg", "")), str(p.get("token", ""))
        )
    except AuthError as exc:
        return error({"wrong_credentials": str(exc)})
    return jsonify(envelope_ok(token))


@api.post("/oauth/login")
def oauth_login() -> Any:
    """Password login used by many clients (§3.3 [OBS]): the password arrives as SHA-1 hex."""
    p = params()
    s = services()
    user = s.backend.user_by_email(str(p.get("email", "")))
    digest = hashlib.sha1(user.password.encode()).hexdigest() if user else None
    client_id = str(p.get("client_id") or DIY_CLIENT)
    if user is None or str(p.get("password", "")).lower() != digest:
        return error({"wrong_credentials": "Wrong email or password"})
    if s.backend.client(client_id) is None:
        return error({"invalid_client": "Unknown client_id"})
    return jsonify(envelope_ok({"code": s.authority.code(user, client_id)}))


@server_api.route("/oauth/auth", methods=["GET", "POST"])
def oauth_auth() -> Any:
    """Code → access token (seed 002); GET too, as ushelly sends it (§3.5)."""
    p = params()
    try:
        answer = services().authority.exchange(
            str(p.get("grant_type", "")),
            str(p.get("code") or p.get("refresh_token") or ""),
            str(p.get("client_id", "")),
            g.server,
        )
    except AuthError as exc:
        return error({"invalid_grant": str(exc)}, 401)
    return jsonify(answer)


def _bearer() -> Principal | tuple[Response, int]:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    s = services()
    try:
        principal = s.authority.authenticate(token, {Audience.ACCESS}, g.server)
    except AuthError as exc:
        return error({"unauthorized": str(exc)}, 401)
    rate = s.policies.diy_rate_limit
    limited = principal.client_id == DIY_CLIENT and rate is not None
    if limited and not s.limiter.allow(str(principal.user), rate, s.policies.diy_rate_burst):
        return error({"max_req": "Request limit reached"}, 429)
    return principal


@server_api.route("/device/all_status", methods=["GET", "POST"])
def device_all_status() -> Any:
    """Seed 002: every owned device's last status with `_dev_info` when `show_info` is set.
    With an `auth_key` it is the Cloud Control API's call (cloud_control/v1.py)."""
    if "auth_key" in params():
        return all_status_by_key(services(), params())
    principal = _bearer()
    if not isinstance(principal, Principal):
        return principal
    show_info = str(params().get("show_info", "")).lower() in ("1", "true", "yes")
    backend = services().backend
    with backend.lock:
        data = all_status(backend.devices_of(principal.user or 0), show_info)
    return jsonify(envelope_ok(data))


def _before() -> Any:
    """Note the server this front end is, then apply a matching REST fault, if any."""
    g.server = current_app.config["SERVER"]
    if request.path.startswith("/_fake/"):
        return None
    fault = services().faults.match(f"rest:{request.path}")
    if fault is None:
        return None
    if fault.delay:
        time.sleep(fault.delay)  # runs in a worker thread, never on the event loop
    if fault.error is not None:
        return error({"fault": fault.error}, fault.status)
    return None


def _record(response: Response) -> Response:
    """Record the call; a refused one (an error envelope, a 4xx) without its parameters, so
    that an unauthenticated client cannot pin memory through the recorder."""
    if request.path.startswith("/_fake/"):
        return response
    recorder = services().recorder
    if g.get("refused") or response.status_code >= 400:
        recorder.add(
            "rest",
            front=current_app.config["FRONT"],
            method=request.method,
            path=request.path,
            args=None,
            form=None,
            json=None,
            status=response.status_code,
            body_length=request.content_length or 0,
        )
        return response
    body = request.get_json(silent=True) if request.is_json else None
    recorder.add(
        "rest",
        front=current_app.config["FRONT"],
        method=request.method,
        path=request.path,
        args=dict(request.args.items()),
        form=dict(request.form.items()),
        json=body,
        status=response.status_code,
    )
    return response


class StrictJson(DefaultJSONProvider):
    """Flask's JSON, never NaN or Infinity (strict parsers reject them): null instead."""

    sort_keys = False  # keep the wire order of keys

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:
            return super().dumps(finite(obj), **kwargs)


def create_app(
    s: Services, role: Role, front: str, extra: list[Blueprint], server: str | None = None
) -> Flask:
    """A Flask app for one front end; `extra` adds the pages and the control plane."""
    app = Flask(__name__)
    app.config.update(SERVICES=s, FRONT=front, SERVER=server)
    app.json = StrictJson(app)
    app.secret_key = s.tokens.session_key
    app.before_request(_before)
    app.after_request(_record)
    if role is Role.API:
        app.register_blueprint(api)
    if role is Role.SERVER:
        app.register_blueprint(server_api)
    for blueprint in extra:
        app.register_blueprint(blueprint)
    return app
