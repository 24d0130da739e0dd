"""Fleets: many devices from one spec (YAML), their control API and the ``fleet`` command."""

from .fleet import Fleet, Member

__all__ = ["Fleet", "Member"]
