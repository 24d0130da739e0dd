"""`Shelly:JrpcRequest` (and its `XU`/`XG` twins) on integrator and account sockets.

Not in Shelly's API docs: seen in HA-ITG on the integrator socket and in ushelly (ALLTERCO's
own client) on the account socket (spec/cloud.md §2.4.5, §3.7):

    {"event":"Shelly:JrpcRequest","trid":<n|"s">,"deviceId":"<id>","method":"…","params":{…}}
    → {"event":"Shelly:JrpcResponse","trid":…,"deviceId":"<id>","response":{"result"|"error":…}}

It carries Gen2 RPC, and every device this fake serves is a Gen1 device, which has no RPC: so
the fake answers the envelope correctly and always with an error, never with silence (a client
waiting on its `trid` would otherwise time out). Errors [INFER, after what clients saw]:
`"UNAUTHORIZED"` when the device is not visible or not controllable (HA-ITG saw it for a
read-only grant), `"DEVICE_OFFLINE"` when offline, and for a Gen1 device the error a Gen2 device
gives for a method it lacks, `{"code": 404, "message": "No handler for <method>"}`.
"""

from collections.abc import Callable
from typing import Any, Protocol

from fake_cloud.api.context import Services
from fake_cloud.api.render import error_event
from fake_cloud.api.sockets import Socket

__all__ = ["JRPC_REQUESTS", "JrpcHub", "answer_jrpc", "jrpc_answer"]


class JrpcHub(Protocol):
    """The hub as the JRPC answers see it (ws.Hub is one)."""

    services: Services

    def send(self, socket: Socket, frame: dict[str, Any]) -> None: ...


# wsapi's visibility check: (device, id as the socket writes it, user, refusal or None).
type Target = Callable[[Services, Socket, Any], tuple[Any, str, int, str | None]]

JRPC_REQUESTS = {
    "Shelly:JrpcRequest": "Shelly:JrpcResponse",
    "Shelly:XURequest": "Shelly:XUResponse",
    "Shelly:XGRequest": "Shelly:XGResponse",
}


def jrpc_answer(frame: dict[str, Any], shown: str, refusal: str | None) -> dict[str, Any]:
    """The response to one request; `shown` is the device id as this socket writes it and
    `refusal` the visibility check's reason (wsapi `_target`: unauthorized, offline) or None."""
    method = frame.get("method")
    if refusal == "offline":
        error: Any = "DEVICE_OFFLINE"
    elif refusal is not None:
        error = "UNAUTHORIZED"
    else:
        error = {"code": 404, "message": f"No handler for {method}"}
    return {
        "event": JRPC_REQUESTS[frame["event"]],
        "trid": frame.get("trid"),
        "deviceId": shown,
        "response": {"error": error},
    }


def answer_jrpc(hub: JrpcHub, socket: Socket, frame: dict[str, Any], target: Target) -> None:
    """Answer one request on its socket at once (nothing to wait for: no device is asked)."""
    trid = frame.get("trid")
    if isinstance(trid, bool) or not isinstance(trid, int | float | str):
        hub.send(socket, error_event(f"{frame['event']} needs a trid (number or string)"))
        return
    try:
        _, shown, _, refusal = target(hub.services, socket, frame.get("deviceId"))
    except ValueError:  # an id no device can have
        shown, refusal = str(frame.get("deviceId")), "unauthorized"
    hub.send(socket, jrpc_answer(frame, shown, refusal))
