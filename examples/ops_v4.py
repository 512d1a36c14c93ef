#!/usr/bin/env python3
"""The ops job in NanoMQ / EMQX 4's `/api/v4`: list the connected clients, kick one, publish, read stats.

    python examples/ops_v4.py --base http://127.0.0.1:18083 --user admin --password public --kick dev-7

`/clients` answers in the gateway's v4 flavour: NanoMQ (`client_id`, `conn_state`, no paging) or EMQX 4
(`clientid`, `connected`, `_page`/`_limit`); the script reads both. Business errors come in the body's
`code`, HTTP status 200 or not.
"""

import sys

from _ops_common import Api, basic, parser, report

STATS = ("live_connections.count", "sessions.count", "topics.count", "subscriptions.count", "retained.count")


def main() -> int:
    args = parser("ops job, NanoMQ / EMQX 4 dialect", "HTTP user (NanoMQ) or AppID (EMQX 4)").parse_args()
    api = Api(args.base, "/api/v4", basic(args.user, args.password), args.show_requests)
    status, doc = api.call("GET", "/clients")  # NanoMQ refuses paging parameters (108)
    if status != 200 or doc.get("code") != 0:
        print(f"cannot list clients: {status} {doc}", file=sys.stderr)
        return 1
    clients = [
        c.get("clientid", c.get("client_id"))
        for c in doc["data"]
        if c.get("connected", c.get("conn_state") == "connected")
    ]
    gone = None
    if args.kick:
        _, doc = api.call("DELETE", f"/clients/{args.kick}")
        gone = doc.get("code") in (0, 112, 404)  # 112/404: not there any more
        clients = [c for c in clients if c != args.kick]
    _, doc = api.call(
        "POST",
        "/mqtt/publish",
        {"topic": args.topic, "payload": args.payload, "qos": 1, "retain": args.retain, "clientid": "ops-script"},
    )
    published = doc.get("code") == 0
    _, doc = api.call("GET", "/stats")
    stats = dict.fromkeys(STATS, 0)
    for per_node in doc["data"]:
        for key in STATS:
            stats[key] += per_node["stats"].get(key, 0)
    report(clients, gone, published, stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
