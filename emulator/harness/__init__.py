"""Test harness: the pytest plugin (entry point ``shelly_emu``): emulated devices as fixtures."""
