"""`emqgw translate ...` and `emqgw usage`: the migration tools' command line (plugged in like cli_accounts).

    emqgw translate 'GET /api/v2/nodes/emq@127.0.0.1/clients?curr_page=2&page_size=50'
    emqgw translate --curl "curl -u admin:public http://127.0.0.1:8081/api/v4/clients?_page=1"
    emqgw translate --json 'POST /api/v2/mqtt/publish {"topic":"t","payload":"hi","client_id":"c"}'
    emqgw translate --run --base http://127.0.0.1:18083 --user admin --password public 'GET /api/v2/routes'
    emqgw crosswalk > crosswalk.md     (the documentation, generated from the table)
    emqgw usage [--data-dir DIR] [--legacy] [--dialect v2|v4|v5] [--json]

`usage` reads ``DIR/usage.db`` (the gateway need not be running; a running one writes its counts there
every few seconds): which endpoints are still called, by which credentials, how often, when last, and
the EMQX 5 call that replaces each legacy one.

`--run` sends the request and each equivalent to a gateway and prints the answers one under the other
(Basic auth with --user/--password for v2 and v4; for v5 an API key given with --v5-key KEY:SECRET, or
a token from logging in with --user/--password). A request that changes state (anything but GET) is
only run with --allow-writes, since each equivalent then acts too.

Exit status 0 when the request was read (even if some dialects have no equivalent, which the output
says plainly), 2 when it could not be read or matches no operation in the crosswalk.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlencode

from adapters.common.translate import LABELS, TranslateError, markdown, render_text, translate

from .http.usage import USAGE_DB, UsageLog

EXIT_OK = 0
EXIT_USAGE = 2
COMMANDS = ("translate", "usage", "crosswalk")
DEFAULT_DATA_DIR = "./data"


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser("translate", help="rewrite a management API request for the other dialects")
    p.add_argument("request", help="'METHOD /api/vN/path?query [JSON body]', a URL, or a curl command line")
    p.add_argument("--node", metavar="NAME", help="node name to put where a target path needs one")
    p.add_argument("--curl", action="store_true", help="print the equivalents as curl command lines")
    p.add_argument("--json", action="store_true", help="print the translation as JSON")
    p.add_argument("--run", action="store_true", help="send the request and its equivalents, show the answers")
    p.add_argument("--base", default="http://127.0.0.1:18083", help="gateway URL for --run (default %(default)s)")
    p.add_argument("--user", default="admin", help="--run: dashboard user for v2/v4 Basic auth and v5 login")
    p.add_argument("--password", default="public", help="--run: its password")
    p.add_argument("--v5-key", metavar="KEY:SECRET", help="--run: an EMQX 5 API key instead of logging in")
    p.add_argument("--allow-writes", action="store_true", help="--run: allow a request that is not a GET")
    subparsers.add_parser("crosswalk", help="print the operation and field crosswalk as Markdown documentation")
    p = subparsers.add_parser("usage", help="which API endpoints are still called, by whom, when last")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=DEFAULT_DATA_DIR,
        help=f"the gateway's state directory (default {DEFAULT_DATA_DIR}); the file is DIR/{USAGE_DB}",
    )
    p.add_argument("--legacy", action="store_true", help="only the legacy dialects (v2, v4)")
    p.add_argument("--dialect", choices=("v2", "v4", "v5"))
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def run(args) -> int:
    if args.command == "usage":
        return _usage(args)
    if args.command == "crosswalk":
        print(markdown(), end="")
        return EXIT_OK
    if args.run:
        return _run(args)
    try:
        tr = translate(args.request, node=args.node)
    except TranslateError as e:
        print(f"emqgw: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(tr.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_text(tr, as_curl=args.curl))
    return EXIT_OK


def _usage(args) -> int:
    from adapters.v5.usage import usage_rows

    path = Path(args.data_dir) / USAGE_DB
    if not path.exists():
        print(f"emqgw: {path}: no usage recorded yet", file=sys.stderr)
        return EXIT_USAGE
    rows = usage_rows(UsageLog(path), args.dialect, args.legacy)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("no calls recorded" + (" to the legacy APIs" if args.legacy else ""))
        return EXIT_OK
    header = ("DIALECT", "METHOD", "ROUTE", "PRINCIPAL", "COUNT", "LAST SEEN", "STATUS", "EMQX 5 EQUIVALENT")
    table = [header]
    for r in rows:
        v5 = r["v5_equivalent"]
        eq = "" if r["dialect"] == "v5" else ("?" if v5 is None else (v5["call"] or "none: " + v5["instead"]))
        table.append(
            (
                r["dialect"],
                r["method"],
                r["route"],
                r["principal"],
                str(r["count"]),
                r["last_seen"],
                str(r["last_status"]),
                eq,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    return EXIT_OK


# -- translate --run: the request and its equivalents against a live gateway -------------------------

ANSWER_LINES = 40  # per dialect; longer answers are cut with a note


def _http(base: str, method: str, path: str, auth: str | None, body=None) -> tuple[int, object]:
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    req = urllib.request.Request(
        base.rstrip("/") + path,
        method=method,
        headers=headers,
        data=None if body is None else json.dumps(body).encode(),
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def _run(args) -> int:
    import base64
    import urllib.error

    try:
        basic = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
        node = args.node
        if node is None:
            status, doc = _http(args.base, "GET", "/status?format=json", None)
            node = doc.get("node_name") if isinstance(doc, dict) else None
        tr = translate(args.request, node=node)
        if tr.request.method != "GET" and not args.allow_writes:
            print(
                f"emqgw: {tr.request.method} changes state and every equivalent would act too; "
                "add --allow-writes to run it",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if args.v5_key:
            v5_auth = "Basic " + base64.b64encode(args.v5_key.encode()).decode()
        else:
            status, doc = _http(
                args.base, "POST", "/api/v5/login", None, {"username": args.user, "password": args.password}
            )
            if status != 200:
                print(f"emqgw: cannot log in to /api/v5 as {args.user}: {status} {doc}", file=sys.stderr)
                return EXIT_USAGE
            v5_auth = f"Bearer {doc['token']}"
    except TranslateError as e:
        print(f"emqgw: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (urllib.error.URLError, OSError) as e:
        print(f"emqgw: {args.base}: {getattr(e, 'reason', e)}", file=sys.stderr)
        return EXIT_USAGE
    req = tr.request
    source_path = req.prefix + req.path + (("?" + urlencode(req.query, safe="@:/,")) if req.query else "")
    runs = [(tr.source, req.method, source_path, req.body, "")]
    runs += [(t.dialect, t.method, t.path, t.body, t.missing) for t in tr.targets]
    print(render_text(tr))
    print("\n== answers")
    for dialect, method, path, body, missing in runs:
        label = LABELS[dialect]
        if method is None:
            print(f"\n--- {label}: no equivalent ({missing})")
            continue
        status, doc = _http(args.base, method, path, v5_auth if path.startswith("/api/v5") else basic, body)
        print(f"\n--- {label}: {method} {path} -> {status}")
        text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) if not isinstance(doc, str) else doc
        lines = text.splitlines()
        print("\n".join(lines[:ANSWER_LINES]))
        if len(lines) > ANSWER_LINES:
            print(f"... ({len(lines) - ANSWER_LINES} more lines)")
    return EXIT_OK
