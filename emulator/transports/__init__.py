"""Transports: the device's I/O around the pure core (HTTP, CoIoT, mDNS, cloud link, MQTT,
URL actions). Each hooks into the runtime through its openers, closers and listeners."""
