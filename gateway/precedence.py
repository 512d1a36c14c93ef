"""Which broker configuration a start begins with: the one stored over an API, or the operator's.

EMQX's rule: what the operator states when starting the node (emqx.conf, environment variables) wins
over what was changed over the API (cluster.hocon), key by key. Here the operator states keys in the
file, the environment and the flags (``GatewayConfig.stated``); every key stated comes from the
operator's configuration, every other from the stored one, so a change made over an API outlives a
restart unless the operator says otherwise. Listeners are merged by id, field by field; a file that
gives a ``[listeners]`` section gives the set of listeners as well. How the state is kept
(``durability``, ``durability_interval_ms``) is never taken from the state.
"""

from __future__ import annotations

import attrs

from schemas.records import BrokerConfig, ListenerConfig

from .config import broker_key, listener_key

NOT_STORED = ("durability", "durability_interval_ms")


def operator_wins(stored: BrokerConfig, given: BrokerConfig, stated: set[str]) -> tuple[BrokerConfig, list[str]]:
    """The configuration to start with, and what in the stored one the operator's replaced, as
    ``key stored -> given`` texts for the line at start."""
    values = {}
    overridden = []
    for f in attrs.fields(BrokerConfig):
        name = f.name
        if name == "listeners":
            continue
        mine, theirs = getattr(given, name), getattr(stored, name)
        if name in NOT_STORED or broker_key(name) in stated:
            values[name] = mine
            if name not in NOT_STORED and mine != theirs:
                overridden.append(f"{broker_key(name)} {theirs!r} -> {mine!r}")
    listeners, replaced = _listeners(stored.listeners, given.listeners, stated)
    return attrs.evolve(stored, listeners=listeners, **values), overridden + replaced


def _listeners(
    stored: list[ListenerConfig], given: list[ListenerConfig], stated: set[str]
) -> tuple[list[ListenerConfig], list[str]]:
    kept = {lc.id: lc for lc in stored}
    mine = {lc.id: lc for lc in given}
    replaced = []
    dropped = []
    if "listeners" in stated:
        ids = list(mine)
        dropped = [f"listeners.{lc.type}.{lc.name} dropped" for lc in stored if lc.id not in mine]
    else:
        # The stored set, and any listener a flag asked for that it lacks.
        ids = list(kept) + [i for i, lc in mine.items() if i not in kept and _stated_fields(lc, stated)]
    out = []
    for lid in ids:
        theirs, ours = kept.get(lid), mine.get(lid)
        if theirs is None or ours is None:
            out.append(attrs.evolve(ours or theirs))
            continue
        fields = _stated_fields(ours, stated)
        for name in fields:
            if getattr(theirs, name) != getattr(ours, name):
                replaced.append(f"{listener_key(ours, name)} {getattr(theirs, name)!r} -> {getattr(ours, name)!r}")
        out.append(attrs.evolve(theirs, **{name: getattr(ours, name) for name in fields}))
    return out, replaced + dropped


def _stated_fields(lc: ListenerConfig, stated: set[str]) -> list[str]:
    return [f.name for f in attrs.fields(ListenerConfig) if listener_key(lc, f.name) in stated]
