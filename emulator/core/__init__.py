"""Pure device model: state, settings and timers, driven by an injected clock (no I/O)."""
