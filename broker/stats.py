"""Current gauge values of a Broker, under the names of ``metrics.STAT_NAMES``."""

from __future__ import annotations

from .core import Broker


def gauges(b: Broker) -> dict[str, int]:
    sessions = len(b.sessions)
    subs = b.subscription_count()
    topics = len(b.trie) + len(b.shared)
    return {
        "connections": sessions,
        "live_connections": len(b.channels),
        "channels": sessions,
        "sessions": sessions,
        "cluster_sessions": sessions,
        "topics": topics,
        "suboptions": subs,
        "subscribers": subs,
        "subscriptions": subs,
        "subscriptions.shared": b.shared_count,
        "retained": len(b.retained),
        "delayed": 0,
    }
