#!/usr/bin/env python3
"""A migration, walked through: run the EMQ 2.x ops script, translate its requests, run the EMQX 5 one,
diff the results.

    python examples/migrate_walkthrough.py --base http://127.0.0.1:18083 \\
        --v2-user admin --v2-password public --v5-user KEY --v5-password SECRET --kick dev-7
    (--login: the v5 credentials are a dashboard user, used through a Bearer token)

1. `ops_v2.py` runs against `/api/v2` and prints each request it makes;
2. each request goes through `emqgw translate` (the operation crosswalk), which prints its EMQX 5 form
   and a note for every field whose name, type or meaning changes;
3. `ops_v5.py` — the same job written for `/api/v5` — runs;
4. the two results are compared. Exit status 0 when they agree, 1 when they differ (the diff is shown).
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_script(name: str, args: list[str]) -> tuple[dict, list[str]]:
    r = subprocess.run(
        [sys.executable, str(HERE / name), "--show-requests", *args], capture_output=True, text=True, timeout=60
    )
    if r.returncode != 0:
        sys.exit(f"{name} failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout), [line for line in r.stderr.splitlines() if line.split(" ")[0].isupper()]


def translate(request: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "translate", request],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return r.stdout if r.returncode == 0 else r.stderr


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:18083")
    p.add_argument("--v2-user", default="admin")
    p.add_argument("--v2-password", default="public")
    p.add_argument("--v5-user", default="admin")
    p.add_argument("--v5-password", default="public")
    p.add_argument("--login", action="store_true", help="the v5 credentials are a dashboard user")
    p.add_argument("--kick", metavar="CLIENTID")
    p.add_argument("--topic", default="ops/hello")
    args = p.parse_args()
    common = ["--base", args.base, "--topic", args.topic] + (["--kick", args.kick] if args.kick else [])

    print("== 1. the EMQ 2.x script")
    v2, requests = run_script("ops_v2.py", ["--user", args.v2_user, "--password", args.v2_password, *common])
    for line in requests:
        print("   ", line)
    print("\n== 2. its requests, translated")
    seen = set()
    for line in requests:
        method, path = line.split(" ")[:2]
        shape = (method, path.split("?")[0])
        if shape in seen:
            continue
        seen.add(shape)
        print(translate(line))
    print("== 3. the EMQX 5 script")
    v5_args = ["--user", args.v5_user, "--password", args.v5_password, *common] + (["--login"] if args.login else [])
    v5, requests = run_script("ops_v5.py", v5_args)
    for line in requests:
        print("   ", line)
    print("\n== 4. the results")
    left = json.dumps(v2, indent=2, sort_keys=True).splitlines()
    right = json.dumps(v5, indent=2, sort_keys=True).splitlines()
    if left == right:
        print("\n".join(left))
        print("\nthe EMQ 2.x and EMQX 5 scripts agree")
        return 0
    print("\n".join(difflib.unified_diff(left, right, "ops_v2.py", "ops_v5.py", lineterm="")))
    print("\nthe scripts disagree")
    return 1


if __name__ == "__main__":
    sys.exit(main())
