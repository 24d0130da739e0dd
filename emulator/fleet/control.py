"""The emulator's own control API: the world, faults, reset and the request log of a fleet.

The models are moto's ``/moto-api/`` (reset, state, recorder) and Matter's test event triggers
(drive a device's physical side from the test). ``Control`` is the Python API; ``serve`` puts
it on HTTP on its own address and port, on the fleet's loop:

    GET    /_emu/devices                          every device: id, model, MAC, address, faults
    GET    /_emu/devices/<id>                     full state: /shelly, /status, /settings, world,
                                                  mqtt (session, last payloads), url_actions
    POST   /_emu/devices/<id>/world/<action>      set_load, press, long_press, toggle, set_input,
                                                  set_temperature... (params: JSON or query)
    POST   /_emu/devices/<id>/power_cycle | wake  power cut and back; wake a battery device
    POST   /_emu/devices/<id>/reboot              software reboot (offline_seconds: unreachable)
    POST   /_emu/devices/<id>/offer_firmware      {"stable", "beta", "download", "reboot", "fault",
                                                   "install"}
    GET    /_emu/devices/<id>/faults              PUT/POST sets (merged), DELETE clears
    POST   /_emu/reset                            every device back to the fleet file
    GET    /_emu/log?device=&proto=&limit=&format=ndjson    DELETE clears it (proto: http,
                                                  coap, mqtt messages, action callbacks)
    POST   /_emu/clock/advance?seconds=N          ManualClock fleets only
    GET    /_emu/  /_emu/rows  /_emu/events          the dashboard, its rows, their live changes

``<id>`` is a hostname, MAC, ip or ip:port. Errors are JSON ``{"error": ...}`` with 400 (bad
input), 404 (no such device or action) or 409 (not possible in this state); nothing changes.

The control API drives a fleet through ``ControlledFleet`` (interface.py; fleet.Fleet is one),
so it never imports fleet.py, which offers it as ``fleet.control``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from ..core.errors import DeviceError
from ..runtime.clock import ManualClock, Now
from ..transports.faults import NO_FAULTS, FaultError, Faults
from ..transports.http.server import bind_listener
from ..transports.outward import outward_state
from .actions import ActionError, call_world, world_actions
from .dashboard import register_dashboard
from .feed import EventFeed, FeedConnection
from .interface import ControlledFleet, ControlledMember
from .spec import FleetError

__all__ = ["Control", "ControlError", "create_control_app", "serve"]

#: Convenience actions of the control API on top of the core's ``world_*`` actions.
_ALIASES = {"long_press": ("press", {"long": True}), "short_press": ("press", {"long": False})}
_MAX_ADVANCE = 86400 * 366


class ControlError(ValueError):
    """A control request that cannot be done; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Control:
    """Drive a running fleet from tests, scripts or the HTTP control API. Any thread."""

    def __init__(self, fleet: ControlledFleet) -> None:
        self.fleet = fleet
        self.runtime = fleet.runtime
        self.server: asyncio.Server | None = None

    def _member(self, key: str) -> ControlledMember:
        try:
            return self.fleet.find(key)
        except KeyError as error:
            raise ControlError(str(error.args[0]), 404) from None

    # --- reading --------------------------------------------------------------------------------

    def devices(self) -> list[dict[str, Any]]:
        return [self._summary(member) for member in self.fleet]

    def _summary(self, member: ControlledMember) -> dict[str, Any]:
        host, spec = member.host, member.spec
        return {
            "id": member.id,
            "model": host.model,
            "mac": host.device.identity.mac,
            "ip": host.ip,
            "http_port": host.http_port,
            "coap_port": spec.coap_port,
            "url": host.url,
            "faults": host.faults.as_dict(),
            "cloud": None if spec.cloud is None else dataclasses.asdict(spec.cloud),
        }

    def device(self, key: str) -> dict[str, Any]:
        """Everything about one device: what its API shows plus what only the world knows."""
        member = self._member(key)
        host = member.host

        def read() -> dict[str, Any]:
            return {
                **self._summary(member),
                "shelly": host.call("shelly", {}),
                "status": host.call("status", {}),
                "settings": host.call("settings", {}),
                "world": dataclasses.asdict(host.device.world),
                "actions": [*world_actions(host.device), *_ALIASES, "toggle"],
                "asleep": host.device.asleep,
                **outward_state(host),  # mqtt: the session and what it last published
            }

        return self.runtime.call(read)

    # --- the world --------------------------------------------------------------------------------

    def world(self, key: str, action: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a physical action on a device (``set_load``, ``press``, ``set_temperature``...)."""
        host = self._member(key).host
        params = dict(params or {})
        if action in _ALIASES:
            action, extra = _ALIASES[action]
            params.update(extra)

        def run() -> None:
            if action == "toggle":  # a toggle switch flipped to its other position
                channel = params.get("channel", 0)
                level = _input_level(host.device.call("status", {}, host.now()), channel)
                host.act(
                    lambda now: call_world(
                        host.device, "set_input", {"channel": channel, "level": not level}, now
                    )
                )
            else:
                host.act(lambda now: call_world(host.device, action, params, now))

        try:
            self.runtime.call(run)
        except ActionError as error:
            raise ControlError(error.message, error.status) from None
        except DeviceError as error:
            raise ControlError(error.message, error.status) from None

    def power_cycle(self, key: str) -> None:
        self.world(key, "power_cycle")

    def wake(self, key: str) -> None:
        """Wake a battery device now, as its periodic wake-up would (it reports, then sleeps
        again); 409 for a model that never sleeps."""
        host = self._member(key).host

        def run() -> None:
            sleepers = host.device.of_kind("sleep")
            if not sleepers:
                raise ControlError(f"{host.model} is not a battery device: it never sleeps", 409)
            sleeper: Any = sleepers[0]

            def wake(now: Now) -> None:
                with host.device.transaction(now):
                    sleeper.wake("periodic", now)

            host.act(wake)

        self.runtime.call(run)

    # --- faults ---------------------------------------------------------------------------------

    def set_faults(self, key: str, faults: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``faults`` into the device's current ones (see emulator/transports/faults.py)."""
        host = self._member(key).host
        try:
            new = Faults.parse(faults, host.faults)
        except FaultError as error:
            raise ControlError(str(error)) from None
        host.faults = NO_FAULTS if new == NO_FAULTS else new
        return new.as_dict()

    def faults(self, key: str) -> dict[str, Any]:
        return self._member(key).host.faults.as_dict()

    def clear_faults(self, key: str) -> None:
        self._member(key).host.faults = NO_FAULTS

    def reboot(self, key: str, offline_seconds: float = 0.0) -> None:
        """Software reboot now; unreachable (offline) for ``offline_seconds`` of real time."""
        if not _number(offline_seconds) or not 0 <= offline_seconds <= 3600:
            raise ControlError("offline_seconds must be 0..3600")
        host = self._member(key).host
        self.world(key, "reboot")
        if offline_seconds:
            self.set_faults(key, {"offline": True})

            def back_online() -> None:
                if host.faults.offline:
                    host.faults = Faults.parse({"offline": False}, host.faults)

            self.runtime.loop.call_soon_threadsafe(
                lambda: self.runtime.loop.call_later(offline_seconds, back_online)
            )

    # --- fleet-wide -------------------------------------------------------------------------------

    def reset(self) -> None:
        try:
            self.fleet.reset()
        except FleetError as error:
            raise ControlError(str(error), 409) from None

    def log(
        self, device: str | None = None, proto: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        hostname = self._member(device).id if device else None
        records = self.runtime.request_log.select(device=hostname, proto=proto, limit=limit)
        return [record.as_dict() for record in records]

    def clear_log(self) -> None:
        self.runtime.request_log.clear()

    def close(self) -> None:
        """Stop serving the control API over HTTP (the fleet keeps running)."""
        if self.server is not None:
            self.runtime.call(self.server.close)
            self.server = None

    def advance(self, seconds: float) -> None:
        if not isinstance(self.runtime.clock, ManualClock):
            raise ControlError("the fleet runs on the real clock; time cannot be advanced", 409)
        if not _number(seconds) or not 0 <= seconds <= _MAX_ADVANCE:
            raise ControlError(f"seconds must be 0..{_MAX_ADVANCE}")
        self.runtime.advance(seconds)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _input_level(status: Mapping[str, Any], channel: Any) -> bool:
    try:
        return bool(status["inputs"][int(channel)]["input"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise ControlError(f"toggle: no input {channel!r} on this device", 404) from None


# --- HTTP ---------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _params() -> dict[str, Any]:
    """JSON body (an object) or query string and form parameters."""
    params: dict[str, Any] = dict(request.args.items())
    if request.data:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        params.update(body)
    else:
        params.update(request.form.items())
    return params


def _float_param(params: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = params.get(name, default)
    if value is None:
        raise ControlError(f"missing parameter {name!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be a number, got {value!r}") from None


def create_control_app(control: Control) -> Flask:
    app = Flask("shelly_emu_control")
    app.url_map.strict_slashes = False

    @app.errorhandler(ControlError)
    def control_error(error: ControlError) -> Response:
        return _json({"error": error.message}, error.status)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(error: Any) -> Response:
        return _json({"error": f"{request.method} {request.path}: {error.name}"}, error.code)

    @app.get("/_emu/devices")
    def devices() -> Response:
        return _json(control.devices())

    @app.get("/_emu/devices/<key>")
    def device(key: str) -> Response:
        return _json(control.device(key))

    @app.post("/_emu/devices/<key>/world/<action>")
    def world(key: str, action: str) -> Response:
        control.world(key, action, _params())
        return _json(control.device(key)["status"])

    @app.post("/_emu/devices/<key>/<action>")
    def device_action(key: str, action: str) -> Response:
        params = _params()
        if action == "reboot":
            control.reboot(key, _float_param(params, "offline_seconds", 0.0))
        elif action == "power_cycle":
            control.power_cycle(key)
        elif action == "wake":
            control.wake(key)
        elif action == "faults":
            return _json(control.set_faults(key, params))
        elif action == "offer_firmware":  # {"stable": fw, "beta": fw, "download": s, ...}
            control.world(key, "offer_firmware", params)
            return _json(control.device(key)["status"]["update"])
        else:
            raise ControlError(
                f"no device action {action!r}: power_cycle, wake, reboot, offer_firmware", 404
            )
        return _json({"ok": True})

    @app.route("/_emu/devices/<key>/faults", methods=["GET", "PUT", "DELETE"])
    def faults(key: str) -> Response:
        if request.method == "PUT":
            return _json(control.set_faults(key, _params()))
        if request.method == "DELETE":
            control.clear_faults(key)
        return _json(control.faults(key))

    @app.post("/_emu/reset")
    def reset() -> Response:
        control.reset()
        return _json({"ok": True, "devices": len(control.fleet)})

    @app.route("/_emu/log", methods=["GET", "DELETE"])
    def log() -> Response:
        if request.method == "DELETE":
            control.clear_log()
            return _json({"ok": True})
        limit = request.args.get("limit")
        if limit is not None and not limit.isdigit():
            raise ControlError("limit must be a positive integer")
        records = control.log(
            request.args.get("device"), request.args.get("proto"), int(limit) if limit else None
        )
        if request.args.get("format") == "ndjson":
            lines = "".join(json.dumps(record) + "\n" for record in records)
            return Response(
                lines,
                mimetype="application/x-ndjson",
                headers={"Content-Disposition": 'attachment; filename="requests.ndjson"'},
            )
        return _json(records)

    @app.post("/_emu/clock/advance")
    def advance() -> Response:
        control.advance(_float_param(_params(), "seconds"))
        return _json({"ok": True, "unixtime": control.runtime.clock.now().unix})

    register_dashboard(app, control)
    return app


def serve(control: Control, ip: str = "127.0.0.1", port: int = 0) -> str:
    """Serve the control API on the fleet's loop (``control.close()`` stops it); its base URL."""
    app = create_control_app(control)
    sock = bind_listener(ip, port)
    loop = control.runtime.loop

    async def start() -> asyncio.Server:
        feed = EventFeed(control)
        runtime = control.runtime  # the control API shares the budget and the timeouts
        return await loop.create_server(
            lambda: FeedConnection(
                feed,
                app.wsgi_app,
                limits=runtime.limits,
                connections=runtime.connections,
                owner=control,
            ),
            sock=sock,
        )

    try:
        control.server = control.runtime.run(start())
    except BaseException:
        sock.close()
        raise
    bound_ip, bound_port = sock.getsockname()[:2]
    return f"http://{bound_ip}:{bound_port}"
