"""Where the team's reference documents are (`shared/reference/`: facts about the real products, such as
EMQX 5.8's published OpenAPI document): beside the checkout or in a folder above it, or where
``$EMQGW_REFERENCE_DIR`` says. Tests that check against one skip, saying why, where it cannot be found;
nothing else depends on it."""

from __future__ import annotations

import os
from pathlib import Path

EMQX_OPENAPI = "emqx-5.8-openapi-structure.json"


def reference_file(name: str) -> Path | None:
    given = os.environ.get("EMQGW_REFERENCE_DIR")
    folders = [Path(given)] if given else []
    folders += [above / "shared" / "reference" for above in Path(__file__).resolve().parents]
    return next((folder / name for folder in folders if (folder / name).is_file()), None)
