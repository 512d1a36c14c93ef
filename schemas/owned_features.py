"""Switches the gateway owns (not the broker), listed and toggled beside a broker's own features.

Every implementation of the control interface keeps one of these, so that a dialect showing features
(EMQ 2.x plugins, EMQX 4 modules) sees the gateway's switches the same way whichever broker is behind.
"""

from __future__ import annotations

from .control import FeatureGetter, FeatureSetter
from .records import Feature


class OwnedFeatures:
    def __init__(self) -> None:
        self._table: dict[str, tuple[str, FeatureGetter, FeatureSetter]] = {}

    def register(self, name: str, description: str, get: FeatureGetter, set_: FeatureSetter) -> None:
        self._table[name] = (description, get, set_)

    async def listed(self, version: str) -> list[Feature]:
        return [
            Feature(name=name, description=description, enabled=await get(), version=version)
            for name, (description, get, _set) in self._table.items()
        ]

    async def switch(self, name: str, enabled: bool, version: str) -> Feature | None:
        """The feature after switching it; None when the gateway owns no feature of that name."""
        if name not in self._table:
            return None
        description, get, set_ = self._table[name]
        await set_(bool(enabled))
        return Feature(name=name, description=description, enabled=await get(), version=version)
