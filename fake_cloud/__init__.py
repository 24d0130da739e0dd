"""A fake Shelly Cloud for tests: Integrator API, Real Time Events API, device links, control
plane. Standalone: it never imports `emulator`; devices reach it over the device link
(fake_cloud.link). Start it in-process with `FakeCloud().start()` or from the command line with
`fake_cloud.cli.main()`.
"""

from fake_cloud.clock import ManualClock, SystemClock
from fake_cloud.config import CloudConfig, Policies
from fake_cloud.server import Endpoint, FakeCloud

__all__ = ["CloudConfig", "Endpoint", "FakeCloud", "ManualClock", "Policies", "SystemClock"]
