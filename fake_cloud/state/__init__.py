"""What the cloud holds: accounts, servers, devices, grants (the backend), events, ids, the clock,
config and policies, JWT tokens, injected faults and the frame recorder. No sockets, no HTTP."""
