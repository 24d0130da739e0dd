"""A fake Shelly Cloud for tests: Integrator API, Real Time Events API, device links, control
plane. Standalone: it never imports `emulator`; devices reach it over the device link
(fake_cloud.link). Start it in-process with `FakeCloud().start()` or from the command line with
`fake_cloud.cli.main()`.
"""

from fake_cloud.server import Endpoint, FakeCloud
from fake_cloud.state.clock import ManualClock, SystemClock
from fake_cloud.state.config import CloudConfig, Policies

__all__ = ["CloudConfig", "Endpoint", "FakeCloud", "ManualClock", "Policies", "SystemClock"]
