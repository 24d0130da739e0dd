"""Transports: how a device meets the network (HTTP, CoIoT, mDNS, the cloud link)."""
