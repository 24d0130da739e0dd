"""Requests arriving on integrator and account sockets.

`Shelly:CommandRequest` (both sockets; seed 002, INT-COMM §2.4.2) is checked — visibility,
control right (`accessGroups` bit 0), online ("no command buffering occurs", seed 002), command
shape — then played on the device, and answered with `Shelly:CommandResponse` carrying the same
`trid`. `Integrator:ActionRequest` (integrator socket, §2.4.4) answers DeviceVerify and
DeviceGetSettings with OK, UNAUTHORIZED, WRONG_API_PARAMETERS or WRONG_HOST.

A frame that is not a JSON object (strict JSON: no NaN, no nesting past the parser's depth)
gets an `Error` event and the socket stays open; other events are ignored, as the docs ask of
clients (seed 002 "gracefully ignore unknown … event types"). Every request with a usable
`trid` is answered: a failure while handling it (a bug included) answers that `trid` with an
error instead of leaving the client waiting.
"""

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from fake_cloud.api.commands import CommandError, apply_call, translate
from fake_cloud.api.context import Services
from fake_cloud.api.jrpc import JRPC_REQUESTS, answer_jrpc
from fake_cloud.api.link import LinkError, LinkSession
from fake_cloud.api.render import (
    SocketKind,
    action_response,
    command_response,
    device_facts,
    error_event,
    integrator_id,
)
from fake_cloud.api.sockets import Socket
from fake_cloud.state.backend import Device, can_control
from fake_cloud.state.config import IdForm
from fake_cloud.state.faults import Fault
from fake_cloud.state.ids import hex_to_dec
from fake_cloud.state.jsonwire import loads

__all__ = ["RequestHub", "handle_frame"]

logger = logging.getLogger(__name__)

ACTIONS = ("DeviceVerify", "DeviceGetSettings")

type Handler = Callable[["RequestHub", Socket, dict[str, Any]], Coroutine[Any, Any, None]]


class RequestHub(Protocol):
    """The hub as request handlers see it (ws.Hub is one): send, spawn, the live device links."""

    services: Services
    links: Mapping[str, LinkSession]

    def send(self, socket: Socket, frame: dict[str, Any]) -> None: ...

    def spawn(self, coro: Any) -> None: ...


def handle_frame(hub: RequestHub, socket: Socket, message: str | bytes) -> None:
    recorder = hub.services.recorder
    if isinstance(message, bytes):
        recorder.add("ws_in", socket=socket.id, raw=message)
        hub.send(socket, error_event("binary frames are not supported"))
        return
    try:
        frame = loads(message)
    except ValueError as exc:
        recorder.add("ws_in", socket=socket.id, raw=message)
        hub.send(socket, error_event(f"frame is not JSON: {exc}"))
        return
    if not isinstance(frame, dict):
        recorder.add("ws_in", socket=socket.id, raw=message)
        hub.send(socket, error_event("frame must be a JSON object"))
        return
    recorder.add("ws_in", socket=socket.id, frame=frame)
    event = frame.get("event")
    if event == "Shelly:CommandRequest":
        hub.spawn(_answered(hub, socket, frame, _command, _command_failed))
    elif event == "Integrator:ActionRequest" and socket.kind == SocketKind.INTEGRATOR:
        hub.spawn(_answered(hub, socket, frame, _action, _action_failed))
    elif event in JRPC_REQUESTS:
        answer_jrpc(hub, socket, frame, _target)


async def _answered(
    hub: RequestHub,
    socket: Socket,
    frame: dict[str, Any],
    handler: Handler,
    failed: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """Run a request's handler; if it fails, answer the request's trid with an error."""
    try:
        await handler(hub, socket, frame)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.exception("fake cloud: %s failed", frame.get("event"))
        hub.services.errors.append(exc)
        hub.send(socket, failed(frame))


def _command_failed(frame: dict[str, Any]) -> dict[str, Any]:
    trid = frame.get("trid")
    if not _is_number(trid):
        return error_event("Shelly:CommandRequest needs a numeric trid")
    raw = frame.get("deviceId")
    return command_response(trid, raw if isinstance(raw, str) else str(raw), 0, "internal error")


def _action_failed(frame: dict[str, Any]) -> dict[str, Any]:
    data = frame.get("data")
    raw = data.get("deviceId") if isinstance(data, dict) else None
    return action_response(frame.get("trid"), "WRONG_API_PARAMETERS", raw)


def _is_number(value: Any) -> bool:
    """A usable trid: a finite JSON number (NaN and Infinity never reach here: strict JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


async def _fault(services: Services, target: str) -> Fault | None:
    fault = services.faults.match(target)
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    return fault


def _target(
    services: Services, socket: Socket, raw: Any
) -> tuple[Device | None, str, int, str | None]:
    """(device, id as this socket writes it, user for the answer, refusal reason or None)."""
    backend, policies = services.backend, services.policies
    principal = socket.principal
    assert principal is not None
    with backend.lock:
        if principal.kind is SocketKind.INTEGRATOR:
            form = policies.integrator_device_id
            device = backend.find_device(raw, prefer_dec=form is IdForm.DEC)
            grant = backend.grant(principal.tag or "", device.id) if device else None
            if device is None or grant is None:
                return None, str(raw), 0, "unauthorized"
            shown, user = integrator_id(device, form), device.owner
            if backend.device_server(device) != socket.server or not can_control(grant.access):
                return device, shown, user, "unauthorized"
        else:
            user = principal.user or 0
            device = backend.find_device(raw, prefer_dec=True)
            if (
                device is None
                or device.owner != user
                or backend.device_server(device) != socket.server
            ):
                return None, str(raw), user, "unauthorized"
            shown = hex_to_dec(device.id)
        if not device.online:
            return device, shown, user, "offline"
        return device, shown, user, None


async def _command(hub: RequestHub, socket: Socket, frame: dict[str, Any]) -> None:
    services = hub.services
    res = services.policies.res
    trid = frame.get("trid")
    if not _is_number(trid):
        hub.send(socket, error_event("Shelly:CommandRequest needs a numeric trid"))
        return
    fault = await _fault(services, "ws:Shelly:CommandRequest")
    if fault is not None and fault.drop:
        return
    device, shown, user, refusal = _target(services, socket, frame.get("deviceId"))

    def answer(error: str | None = None) -> None:
        hub.send(socket, command_response(trid, shown, user, error))

    if fault is not None and fault.error is not None:
        answer(fault.error)
        return
    if refusal is not None or device is None:
        answer(res.get(refusal or "unauthorized"))
        return
    data = frame.get("data")
    try:
        if not isinstance(data, dict):
            raise CommandError("params", "data must be an object")
        with services.backend.lock:
            call = translate(data.get("cmd"), data.get("params", {}), device.status)
    except CommandError as exc:
        answer(res.get(exc.reason))
        return
    session = hub.links.get(device.id)
    if session is None and not device.virtual:
        answer(res.get("offline"))  # the link dropped while the command was checked
        return
    if session is None:
        with services.backend.lock:
            status, _ = apply_call(device.status, call)
            if not services.policies.response_before_status:
                services.backend.update_status(device.id, status)
            answer()
            if services.policies.response_before_status:
                services.backend.update_status(device.id, status)
        return
    try:
        await session.call(call, services.policies.command_timeout)
        answer()
    except LinkError as exc:
        answer(res.get(exc.reason, str(exc)))
    finally:
        session.finish()


async def _action(hub: RequestHub, socket: Socket, frame: dict[str, Any]) -> None:
    services = hub.services
    backend = services.backend
    trid = frame.get("trid")
    data = frame.get("data")
    raw = data.get("deviceId") if isinstance(data, dict) else None
    fault = await _fault(services, "ws:Integrator:ActionRequest")
    if fault is not None and fault.drop:
        return
    if fault is not None and fault.error is not None:
        hub.send(socket, action_response(trid, fault.error, raw))
        return
    action = data.get("action") if isinstance(data, dict) else None
    if action not in ACTIONS or raw is None or not _is_number(trid):
        hub.send(socket, action_response(trid, "WRONG_API_PARAMETERS", raw))
        return
    form = services.policies.integrator_device_id
    tag = socket.principal.tag if socket.principal else None
    with backend.lock:
        device = backend.find_device(raw, prefer_dec=form is IdForm.DEC)
        grant = backend.grant(tag or "", device.id) if device else None
        if device is None or grant is None:
            reply = action_response(trid, "UNAUTHORIZED", raw)
        elif (server := backend.device_server(device)) != socket.server:
            host = backend.servers[server].host
            shown = integrator_id(device, form)
            reply = action_response(trid, "WRONG_HOST", shown, device.owner, host=host)
        else:
            facts = device_facts(device, grant.access, action == "DeviceGetSettings")
            reply = action_response(trid, "OK", integrator_id(device, form), device.owner, **facts)
    hub.send(socket, reply)
