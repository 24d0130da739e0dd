"""The control plane (moto's /moto-api/ idea): seed, reset, grants, faults, clock, recorder, in
Python (``cloud.control``) and over HTTP under /_fake/."""
