"""Benchmarks that print figures (``make bench`` = ``python -m bench``); never timed asserts."""
