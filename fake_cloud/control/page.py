"""`/_fake/`: the control plane as a page a person reads (issue 15): users, devices, grants,
connected integrators and the recorder's newest events, refreshed every second.

The page (static/cloud.html, plain HTML and JavaScript, nothing fetched from elsewhere) polls
`/_fake/overview?after=<seq>`, which sends the state plus only the records newer than the last
one the page has, at most `EVENTS` of them: a poll costs the same whatever the recorder holds.
`/_fake/` requests are never recorded (api/rest.py), so the page does not fill the recorder.
"""

from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, jsonify, request

from fake_cloud.api.render import envelope_ok
from fake_cloud.control.plane import Control

__all__ = ["EVENTS", "control_page", "overview"]

#: Records one poll sends at most (the page keeps about as many).
EVENTS = 200


def control_page(control: Control) -> Blueprint:
    bp = Blueprint("fake_page", __name__, url_prefix="/_fake")
    html = files(__package__).joinpath("static", "cloud.html").read_text(encoding="utf-8")

    @bp.get("/")
    def page() -> Response:
        return Response(html, mimetype="text/html")

    @bp.get("/overview")
    def overview_route() -> Any:
        after = request.args.get("after", "0")
        if not after.isdigit():
            return jsonify({"isok": False, "errors": {"invalid": "after: a sequence number"}}), 400
        return jsonify(envelope_ok(overview(control, int(after))))

    return bp


def overview(control: Control, after: int = 0) -> dict[str, Any]:
    """What the page shows; passwords and integrator secrets stay out of it."""
    backend = control.services.backend
    sockets = control.sockets()  # not under the lock: it waits for the event loop
    with backend.lock:
        devices = list(backend.devices.values())
        users = [
            {
                "id": user.id,
                "email": user.email,
                "server": user.server,
                "devices": sum(device.owner == user.id for device in devices),
            }
            for user in backend.users.values()
        ]
        integrators = [
            {
                "tag": integrator.tag,
                "sockets": sum(
                    s["kind"] == "integrator" and s["tag"] == integrator.tag for s in sockets
                ),
            }
            for integrator in backend.integrators.values()
        ]
        grants = [
            {"tag": g.tag, "device": g.device, "user": g.user, "access": g.access, "cb": g.cb}
            for g in backend.grants.values()
        ]
        device_rows = [
            {
                "id": d.id,
                "code": d.code,
                "name": d.name,
                "owner": d.owner,
                "online": d.online,
                "linked": d.linked,
            }
            for d in devices
        ]
    events = control.services.recorder.recent(after, EVENTS)
    return {
        "users": users,
        "devices": device_rows,
        "integrators": integrators,
        "grants": grants,
        "sockets": sockets,
        "events": events,
        "seq": events[-1]["seq"] if events else after,
    }
