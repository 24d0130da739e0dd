"""What clients talk to: REST (Integrator API, OAuth, consent pages), the WebSocket hub (RTE,
Integrator WS) and the device link, with the auth and rendering they share."""
