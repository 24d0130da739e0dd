"""A fake Shelly Cloud for tests: Integrator API, Real Time Events API, device links, control
plane. Standalone: it never imports `emulator`; devices reach it over the device link
(fake_cloud/api/link.py). Start it in-process with `FakeCloud().start()` or from the command
line with `fake_cloud.cli.main()`. Rooms: state/ (what it holds), api/ (what clients talk to),
control/ (the /_fake/ control plane); server.py assembles them.
"""

from fake_cloud.server import Endpoint, FakeCloud
from fake_cloud.state.clock import ManualClock, SystemClock
from fake_cloud.state.config import CloudConfig, Policies

__all__ = ["CloudConfig", "Endpoint", "FakeCloud", "ManualClock", "Policies", "SystemClock"]
