#!/usr/bin/env python3
"""The ops job in EMQ 2.x's `/api/v2`: list the connected clients, kick one, publish, read the stats.

    python examples/ops_v2.py --base http://127.0.0.1:18083 --user admin --password public --kick dev-7

EMQ 2.x speaks per node: clients are listed on each node (`/nodes/{node}/clients`, paged with
`curr_page`/`page_size`), the body is `{"code": 0, "result": ...}`, stats keys use slashes.
"""

import sys

from _ops_common import Api, basic, parser, report

# EMQ 2.x stats keys and their EMQX 5 names (adapters/common/fields.py STATS_V2, in short).
STATS = {
    "clients/count": "live_connections.count",
    "sessions/count": "sessions.count",
    "topics/count": "topics.count",
    "subscriptions/count": "subscriptions.count",
    "retained/count": "retained.count",
}


def main() -> int:
    args = parser("ops job, EMQ 2.x dialect", "dashboard user").parse_args()
    api = Api(args.base, "/api/v2", basic(args.user, args.password), args.show_requests)
    status, nodes = api.call("GET", "/management/nodes")
    if status != 200 or nodes.get("code") != 0:
        print(f"cannot list nodes: {status} {nodes}", file=sys.stderr)
        return 1
    clients = []
    for node in (n["name"] for n in nodes["result"]):
        page = 1
        while True:
            _, doc = api.call("GET", f"/nodes/{node}/clients?curr_page={page}&page_size=100")
            clients += [c["client_id"] for c in doc["result"]["objects"]]
            if page >= doc["result"]["total_page"]:
                break
            page += 1
    gone = None
    if args.kick:
        _, doc = api.call("DELETE", f"/clients/{args.kick}")
        gone = doc.get("code") in (0, 112)  # 112: not connected
        clients = [c for c in clients if c != args.kick]
    _, doc = api.call(
        "POST",
        "/mqtt/publish",
        {"topic": args.topic, "payload": args.payload, "qos": 1, "retain": args.retain, "client_id": "ops-script"},
    )
    published = doc.get("code") == 0
    _, doc = api.call("GET", "/monitoring/stats")
    stats = {}
    for per_node in doc["result"]:
        for values in per_node.values():
            for v2_key, v5_key in STATS.items():
                stats[v5_key] = stats.get(v5_key, 0) + values.get(v2_key, 0)
    report(clients, gone, published, stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
