"""The bundled MQTT broker.

Protocol code (``codec``, ``packets``, ``session``, ``channel``, ``core``) is sans-IO: it takes bytes and
returns bytes or events and never awaits. ``server`` is the asyncio shell that moves bytes between
sockets and that code; ``control`` exposes the broker to the HTTP adapters through the interface in
``schemas.control``.
"""
