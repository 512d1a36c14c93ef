"""`emqgw serve` in a subprocess, as an operator runs it, and the ports it says it listens on."""

from __future__ import annotations

import os
import subprocess
import sys
import time

# The checkout: where examples/ lives and where `python -m gateway.cli` finds the code under test.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NO_LEGACY_HTTP = ("--http-port", "0", "--v2-port", "off", "--v4-port", "off")


def serve(
    *args, tmp_path, http=NO_LEGACY_HTTP, python: str = sys.executable, cwd: str = ROOT, env: dict | None = None
) -> subprocess.Popen:
    """Start ``python -m gateway.cli serve`` with its data under ``tmp_path/data``; stdout and stderr piped."""
    return subprocess.Popen(
        [python, "-m", "gateway.cli", "serve", "--data-dir", str(tmp_path / "data"), *http, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def listening_lines(proc, n):
    lines = []
    end = time.monotonic() + 15
    while len(lines) < n and time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("listening:"):
            lines.append(line.strip())
    return lines


def port_of(lines, prefix):
    line = next(line for line in lines if line.startswith(prefix))
    address = next(word for word in line.split() if word.startswith("127.0.0.1:"))
    return int(address.rsplit(":", 1)[1].split("/")[0])
