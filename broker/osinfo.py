"""What the host tells about memory and CPU (Linux /proc), for node info and the resource alarms.

Readers return None (or zeros) where /proc is not there, so the broker runs elsewhere with those
figures and alarms simply absent.
"""

from __future__ import annotations

import os


def _meminfo(*keys: str) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in keys:
                    found[name] = int(rest.split()[0]) * 1024
                    if len(found) == len(keys):
                        break
    except OSError:
        pass
    return found


def memory_total() -> int:
    return _meminfo("MemTotal").get("MemTotal", 0)


def system_memory_usage() -> float | None:
    """Percent of system memory in use (MemTotal less MemAvailable)."""
    m = _meminfo("MemTotal", "MemAvailable")
    if len(m) < 2 or not m["MemTotal"]:
        return None
    return (m["MemTotal"] - m["MemAvailable"]) * 100.0 / m["MemTotal"]


def process_rss() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot; usage is the ratio of two readings' differences."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return total - idle, total
