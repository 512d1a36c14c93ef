"""What the three ops scripts share: argument parsing, a tiny JSON-over-HTTP client, the output form.

Each script does the same job in its own dialect — list the connected clients, kick one, publish a
message, read the stats — and prints one JSON document in a dialect-neutral form, so that
migrate_walkthrough.py can diff an EMQ 2.x run against an EMQX 5 run. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request


def parser(description: str, user_help: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--base", default="http://127.0.0.1:18083", help="gateway URL (default %(default)s)")
    p.add_argument("--user", default="admin", help=user_help)
    p.add_argument("--password", default="public", help="its password or secret")
    p.add_argument("--kick", metavar="CLIENTID", help="client to kick (nothing is kicked without it)")
    p.add_argument("--topic", default="ops/hello", help="topic to publish to")
    p.add_argument("--payload", default="hello from ops", help="payload to publish")
    p.add_argument("--retain", action="store_true", help="publish a retained message")
    p.add_argument("--show-requests", action="store_true", help="print each request on stderr as it is made")
    return p


class Api:
    def __init__(self, base: str, prefix: str, auth: str, show: bool = False):
        self.base, self.prefix, self.auth, self.show = base.rstrip("/"), prefix, auth, show
        self.requests: list[str] = []

    def call(self, method: str, path: str, body=None):
        """(HTTP status, decoded JSON or None). HTTP errors are answers too: the dialects differ there."""
        line = f"{method} {self.prefix}{path}" + ("" if body is None else " " + json.dumps(body))
        self.requests.append(line)
        if self.show:
            print(line, file=sys.stderr)
        req = urllib.request.Request(
            self.base + self.prefix + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": self.auth, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw) if raw else None
            except ValueError:
                return e.code, raw.decode(errors="replace")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def report(clients, gone, published, stats) -> None:
    """The neutral result: connected client ids, whether --kick's client is gone, stats by EMQX 5 name."""
    print(
        json.dumps(
            {"clients": sorted(clients), "kicked_gone": gone, "published": published, "stats": stats},
            indent=2,
            sort_keys=True,
        )
    )
