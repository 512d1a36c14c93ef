"""What the gateway calls its upstream EMQX with, and the key its login tokens are signed with there.

Both come from the operator's configuration (the `[upstream]` section, or EMQX's api_key.bootstrap_file
it names), so the process shell works them out and hands plain values to ``UpstreamControl`` and the
account store.
"""

from __future__ import annotations

import hashlib
import hmac

from .accounts import AccountStoreError
from .accounts.bootstrap import read_bootstrap_file
from .config import UpstreamConfig


def credentials(config: UpstreamConfig) -> tuple[str, str]:
    """The API key and secret the gateway calls EMQX with: the configured pair, or the bootstrap
    file's first key."""
    if config.api_key is not None and config.api_secret is not None:
        return config.api_key, config.api_secret
    assert config.bootstrap_file is not None  # the configuration's rule: one or the other
    pairs = read_bootstrap_file(config.bootstrap_file)
    if not pairs:
        raise AccountStoreError(f"{config.bootstrap_file}: no api_key:api_secret line for the upstream")
    return next(iter(pairs.items()))


def token_key(config: UpstreamConfig) -> bytes:
    """The key every gateway in front of this upstream signs login tokens with (see the accounts'
    ``SignedTokens``): the configured one, else one derived from the upstream's secret, which every
    gateway of the deployment shares anyway."""
    if config.token_secret:
        return hashlib.sha256(config.token_secret.encode()).digest()
    _key, secret = credentials(config)
    return hmac.new(secret.encode(), b"emqgw login tokens", hashlib.sha256).digest()
