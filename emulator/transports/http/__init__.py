"""HTTP transport: the Gen1 local API (Flask app) served by an asyncio server on the loop."""
