"""A listener's address as EMQX writes it in ``bind`` (its configuration and its `/api/v5`): "0.0.0.0:1883",
"[::1]:1883" (an IPv6 host in brackets), or a port alone (":1883" too), which is every interface.

Read and written here for the configuration file, the `/api/v5` dialect and the upstream control
(EMQX's own answers), so that the three agree on what a bind is.
"""

from __future__ import annotations

ANY_HOST = "0.0.0.0"
MAX_PORT = 65535


def format_bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_bind(text: str) -> tuple[str, int] | None:
    """(host, port), or None when ``text`` has no port of 0 to 65535 after its last colon."""
    host, _, port = text.strip().rpartition(":")
    # isascii: str.isdigit also takes digits int() reads differently or not at all ("²").
    if not (port.isascii() and port.isdigit()) or int(port) > MAX_PORT:
        return None
    return host.strip("[]") or ANY_HOST, int(port)
