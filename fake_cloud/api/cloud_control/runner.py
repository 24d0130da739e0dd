"""Running Gen1 calls on devices for the Cloud Control API, whose views run in worker threads.

The same rules as a `Shelly:CommandRequest` (fake_cloud/api/wsapi.py): a device the cloud sees
offline is refused at once ("Cloud refuses to process commands; no command buffering occurs",
seed 002); a linked device gets the call over its link and has `Policies.command_timeout`
seconds to answer; a virtual device (never linked) is played on its stored status. So no call
waits longer than the command timeout: an asleep device is offline (its link is down), a frozen
one times out.
"""

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fake_cloud.api.commands import Call, apply_call
from fake_cloud.api.link import LinkError

if TYPE_CHECKING:
    from fake_cloud.api.ws import Hub

__all__ = ["CallFailed", "run_calls"]

# Seconds added to the command timeout before the worker thread stops waiting for the loop.
_SLACK = 2.0


class CallFailed(Exception):
    """A call the device did not carry out: `reason` is offline, timeout or device."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def run_calls(hub: "Hub", calls: Sequence[tuple[str, Call]]) -> list[dict[str, Any] | CallFailed]:
    """Run `(hexid, call)` pairs at once on the cloud's loop; per call, the device's answer
    body or the CallFailed that explains why not. Call from a worker thread only."""
    if hub.loop is None:
        return [CallFailed("offline", "cloud not running") for _ in calls]
    timeout = hub.services.policies.command_timeout

    async def run_all() -> list[dict[str, Any] | CallFailed]:
        results = await asyncio.gather(
            *(_run(hub, hexid, call, timeout) for hexid, call in calls), return_exceptions=True
        )
        return [r if isinstance(r, dict | CallFailed) else _internal(hub, r) for r in results]

    future = asyncio.run_coroutine_threadsafe(run_all(), hub.loop)
    return future.result(timeout + _SLACK)


def _internal(hub: "Hub", error: BaseException) -> CallFailed:
    """A bug, not a device answer: kept for FakeCloud.check(), answered as a failed call."""
    if not isinstance(error, Exception):
        raise error
    hub.services.errors.append(error)
    return CallFailed("device", f"internal error: {error!r}")


async def _run(hub: "Hub", hexid: str, call: Call, timeout: float) -> dict[str, Any]:
    backend = hub.services.backend
    session = hub.links.get(hexid)
    with backend.lock:
        device = backend.devices.get(hexid)
        if device is None or not device.online:
            raise CallFailed("offline", "device is offline")
        if session is None:
            if not device.virtual:
                raise CallFailed("offline", "device link is down")
            status, body = apply_call(device.status, call)
            backend.update_status(hexid, status)
            return dict(body)
    try:
        return await session.call(call, timeout)
    except LinkError as exc:
        raise CallFailed(exc.reason, str(exc)) from None
    finally:
        session.finish()
