"""The built-in credential database: MQTT users by username or by client id, in memory.

Each user carries its own hash algorithm, so changing the authenticator's algorithm affects the
passwords set from then on and never locks out the users already there (EMQX re-reads every hash with
the current algorithm instead). Ids are kept sorted per type, so a page of a listing costs O(page).
What is here is written to the state database by the broker's observers; nothing here does IO.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

import attrs

from schemas.records import USER_ID_TYPES, MqttUser, MqttUserQuery, PasswordHash


@attrs.define(slots=True, kw_only=True)
class StoredUser:
    user_id_type: str
    user_id: str
    password_hash: str
    salt: str
    algorithm: PasswordHash
    is_superuser: bool = False
    created_at: float = 0.0

    def record(self) -> MqttUser:
        return MqttUser(
            user_id=self.user_id,
            user_id_type=self.user_id_type,
            is_superuser=self.is_superuser,
            created_at=self.created_at,
        )

    def same_credentials(self, other: StoredUser) -> bool:
        """Whether ``other`` would change nothing (an import's "skipped")."""
        return (self.password_hash, self.salt, self.algorithm, self.is_superuser) == (
            other.password_hash,
            other.salt,
            other.algorithm,
            other.is_superuser,
        )


class CredentialDatabase:
    def __init__(self) -> None:
        self._users: dict[tuple[str, str], StoredUser] = {}
        self._sorted: dict[str, list[str]] = {t: [] for t in USER_ID_TYPES}

    def __len__(self) -> int:
        return len(self._users)

    def count(self, user_id_type: str) -> int:
        return len(self._sorted[user_id_type])

    def get(self, user_id_type: str, user_id: str) -> StoredUser | None:
        return self._users.get((user_id_type, user_id))

    def put(self, user: StoredUser) -> bool:
        """Add or replace; True when the user is new."""
        key = (user.user_id_type, user.user_id)
        new = key not in self._users
        self._users[key] = user
        if new:
            bisect.insort(self._sorted[user.user_id_type], user.user_id)
        return new

    def delete(self, user_id_type: str, user_id: str) -> bool:
        if self._users.pop((user_id_type, user_id), None) is None:
            return False
        ids = self._sorted[user_id_type]
        del ids[bisect.bisect_left(ids, user_id)]
        return True

    def clear(self) -> None:
        self._users.clear()
        for ids in self._sorted.values():
            ids.clear()

    def load(self, users: Iterable[StoredUser]) -> None:
        """Replace everything at once (a restore), sorting once instead of once per user."""
        self._users = {(u.user_id_type, u.user_id): u for u in users}
        self._sorted = {t: [] for t in USER_ID_TYPES}
        for t, uid in self._users:
            self._sorted[t].append(uid)
        for ids in self._sorted.values():
            ids.sort()

    def users(self) -> Iterator[StoredUser]:
        return iter(self._users.values())

    def query(self, q: MqttUserQuery, offset: int, limit: int) -> tuple[list[MqttUser], int | None, bool]:
        """One page in ascending id order (EMQX's order): (rows, total or None with a substring filter, hasnext)."""
        ids = self._sorted[q.user_id_type]
        if q.user_id is not None:
            ids = [q.user_id] if self.get(q.user_id_type, q.user_id) is not None else []
        if q.like_user_id is None and q.is_superuser is None:
            return (
                [self._users[(q.user_id_type, u)].record() for u in ids[offset : offset + limit]],
                len(ids),
                offset + limit < len(ids),
            )
        matched = [
            self._users[(q.user_id_type, u)]
            for u in ids
            if (q.like_user_id is None or q.like_user_id in u)
            and (q.is_superuser is None or self._users[(q.user_id_type, u)].is_superuser == q.is_superuser)
        ]
        total = None if q.like_user_id is not None else len(matched)
        return [u.record() for u in matched[offset : offset + limit]], total, offset + limit < len(matched)
