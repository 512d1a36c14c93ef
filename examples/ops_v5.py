#!/usr/bin/env python3
"""The ops job in EMQX 5's `/api/v5`: list the connected clients, kick one, publish, read the stats.

    python examples/ops_v5.py --base http://127.0.0.1:18083 --user KEY --password SECRET --kick dev-7
    python examples/ops_v5.py --login --user admin --password public ...   (dashboard user: Bearer token)

EMQX 5 lists clients cluster-wide, offline persistent sessions included (`connected: false`), pages with
`page`/`limit` and `meta.hasnext`; success has no `code`, errors are HTTP statuses.
"""

import sys

from _ops_common import Api, basic, parser, report

STATS = ("live_connections.count", "sessions.count", "topics.count", "subscriptions.count", "retained.count")


def main() -> int:
    p = parser("ops job, EMQX 5 dialect", "API key (or dashboard user with --login)")
    p.add_argument("--login", action="store_true", help="log in as a dashboard user and use its token")
    args = p.parse_args()
    api = Api(args.base, "/api/v5", basic(args.user, args.password), args.show_requests)
    if args.login:
        status, doc = api.call("POST", "/login", {"username": args.user, "password": args.password})
        if status != 200:
            print(f"cannot log in: {status} {doc}", file=sys.stderr)
            return 1
        api.auth = f"Bearer {doc['token']}"
    clients, page = [], 1
    while True:
        status, doc = api.call("GET", f"/clients?page={page}&limit=100")
        if status != 200:
            print(f"cannot list clients: {status} {doc}", file=sys.stderr)
            return 1
        clients += [c["clientid"] for c in doc["data"] if c["connected"]]
        if not doc["meta"].get("hasnext"):
            break
        page += 1
    gone = None
    if args.kick:
        status, _ = api.call("DELETE", f"/clients/{args.kick}")
        gone = status in (204, 404)  # 404 CLIENTID_NOT_FOUND: not there any more
        clients = [c for c in clients if c != args.kick]
    status, _ = api.call(
        "POST",
        "/publish",
        {"topic": args.topic, "payload": args.payload, "qos": 1, "retain": args.retain, "clientid": "ops-script"},
    )
    published = status in (200, 202)  # 202: delivered to nobody (no matching subscribers)
    _, doc = api.call("GET", "/stats?aggregate=true")
    stats = {key: doc.get(key, 0) for key in STATS}
    report(clients, gone, published, stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
