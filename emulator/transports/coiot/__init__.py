"""CoIoT (Shelly's CoAP dialect), sans I/O: frames (``codec``), per-model descriptions and their
bindings to live state (``description``), and one device's endpoint (``node``). The UDP transport
that moves these bytes is ``udp.py`` (its sockets: ``sockets.py``)."""
