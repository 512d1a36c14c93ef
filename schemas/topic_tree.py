"""NanoMQ's `/topic-tree`, built from the subscriptions: one list per topic level (shared across the two
implementations of the control interface, which know their subscriptions differently)."""

from __future__ import annotations

from collections.abc import Iterable

from .records import TopicTreeNode


def topic_tree(filters: Iterable[tuple[str, list[str]]]) -> list[list[TopicTreeNode]]:
    """The level tree of the filters (a shared one as `$share/<group>/<filter>`), each given with the client
    ids subscribed exactly to it; the root level holds one node, the empty topic."""
    root: dict = {}
    for f, clientids in filters:
        node = root
        for level in f.split("/"):
            node = node.setdefault(level, {})
        node.setdefault(None, []).extend(clientids)
    levels: list[list[TopicTreeNode]] = [
        [TopicTreeNode(topic="", cld_cnt=len([k for k in root if k is not None]), clientid=[])]
    ]
    current = [root]
    while True:
        nxt_nodes, row = [], []
        for node in current:
            for name, child in node.items():
                if name is None:
                    continue
                row.append(
                    TopicTreeNode(
                        topic=name,
                        cld_cnt=len([k for k in child if k is not None]),
                        clientid=list(child.get(None, [])),
                    )
                )
                nxt_nodes.append(child)
        if not row:
            return levels
        levels.append(row)
        current = nxt_nodes
