"""pytest plugin of shelly-emu (pytest11 entry point): fixtures for emulated devices."""
