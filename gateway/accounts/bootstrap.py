"""EMQX's ``api_key.bootstrap_file``: API keys an operator provisions as ``api_key:api_secret[:role]`` lines
(emqx_mgmt_auth:init_bootstrap_file/1)."""

from __future__ import annotations

from pathlib import Path

from .errors import AccountStoreError
from .policy import sha512_prefix

BOOTSTRAP_NAME_PREFIX = "from_bootstrap_file_"
BOOTSTRAP_DESC = "Bootstrapped From File"
# EMQX Enterprise roles that a bootstrap line may name; the open-source edition (what emqgw mirrors)
# has no RBAC, so the role is checked and then not stored.
API_ROLES = ("administrator", "viewer", "publisher")


def bootstrap_name(api_key: str) -> str:
    """EMQX: a bootstrapped key is named from its api_key (``from_bootstrap_file_`` + sha512 prefix)."""
    return BOOTSTRAP_NAME_PREFIX + sha512_prefix(api_key)


def read_bootstrap_file(path: str) -> dict[str, str]:
    """api_key -> secret, ordered by each key's last line. Blank lines and ``#`` comments are skipped; of
    a repeated key the last line wins (EMQX). AccountStoreError naming the file (and line) when it cannot
    be read whole."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise AccountStoreError(f"{path}: cannot read the API key bootstrap file: {reason}") from e
    pairs: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, rest = line.partition(":")
        secret, _, role = rest.partition(":")
        if not sep or not key or not secret or (role and role not in API_ROLES):
            # The line itself is not quoted: it holds a secret.
            raise AccountStoreError(
                f"{path}:{lineno}: expected api_key:api_secret[:role] (role one of {', '.join(API_ROLES)})"
            )
        pairs.pop(key, None)
        pairs[key] = secret
    return pairs
