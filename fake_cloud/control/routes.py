"""`/_fake/…`: the control plane over HTTP, on every front end (spec/cloud.md §7).

Each route is a thin call into `Control`; bodies are JSON; answers use the cloud's own envelope
(`{"isok": true, "data": …}`), and refusals `{"isok": false, "errors": {kind: message}}` with
404 (unknown thing), 409 (already exists) or 400 (bad input).
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from fake_cloud.api.render import envelope_error, envelope_ok
from fake_cloud.control.plane import Control
from fake_cloud.state.backend import StateError

__all__ = ["control_blueprint"]

_STATUS = {"not_found": 404, "conflict": 409, "invalid": 400}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def control_blueprint(control: Control) -> Blueprint:
    bp = Blueprint("fake", __name__, url_prefix="/_fake")

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def route(rule: str, methods: list[str], call: Callable[..., Any]) -> None:
        def view(**path: Any) -> Any:
            try:
                result = call(**path, **body()) if request.method != "GET" else call(**path)
            except StateError as exc:
                return _fail(exc.kind, str(exc), _STATUS.get(exc.kind, 400))
            except (TypeError, ValueError, KeyError) as exc:
                return _fail("invalid", str(exc), 400)
            if isinstance(result, Response):
                return result
            return jsonify(envelope_ok(_plain(result)))

        bp.add_url_rule(rule, endpoint=f"{rule}:{methods[0]}", view_func=view, methods=methods)

    c = control
    route("/reset", ["POST"], c.reset)
    route("/seed", ["POST"], c.seed)
    route("/state", ["GET"], c.state)
    route("/users", ["POST"], c.create_user)
    route("/users/<int:user_id>/move", ["POST"], c.move_user)
    route("/users/<int:user_id>/password", ["POST"], c.set_password)
    route("/servers", ["POST"], c.add_server)
    route("/devices", ["POST"], c.create_device)
    route("/devices/<device_id>/online", ["POST"], c.set_online)
    route("/devices/<device_id>/status", ["POST"], c.set_status)
    route("/devices/<device_id>/settings", ["POST"], c.set_settings)
    route("/integrators", ["POST"], c.create_integrator)
    route("/integrators/<tag>/token", ["POST"], c.integrator_token)
    route("/grants", ["POST"], c.grant)
    route("/grants", ["DELETE"], c.revoke)
    route("/oauth/clients", ["POST"], c.register_client)
    route("/oauth/authorize", ["POST"], c.oauth_authorize)
    route("/tokens/expire", ["POST"], c.expire_token)
    route("/tokens/forge", ["POST"], c.forge_token)
    route("/sockets", ["GET"], c.sockets)
    route("/sockets/<int:socket_id>/drop", ["POST"], c.drop_socket)
    route("/sockets/<int:socket_id>/freeze", ["POST"], c.freeze_socket)
    route("/faults", ["GET"], c.faults)
    route("/faults", ["POST"], c.add_fault)
    route("/faults", ["DELETE"], c.clear_faults)
    route("/recorder", ["GET"], lambda: c.records(request.args.get("kind")))
    route("/recorder", ["DELETE"], c.clear_records)
    route("/clock", ["POST"], c.advance_clock)
    route("/clock", ["GET"], c.services.clock.now)
    route("/policies", ["GET"], c.services.policies.as_dict)
    route("/policies", ["POST"], c.set_policies)
    route(
        "/scl-trust-public-key",
        ["GET"],
        lambda: Response(c.scl_trust_public_key, mimetype="application/x-pem-file"),
    )
    return bp


def _fail(kind: str, message: str, status: int) -> tuple[Response, int]:
    style = current_app.config["SERVICES"].policies.errors_style
    return jsonify(envelope_error({kind: message}, style)), status
