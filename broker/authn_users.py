"""The built-in credential database: MQTT users by username or by client id, in memory.

Each user carries its own hash algorithm, so changing the authenticator's algorithm affects the
passwords set from then on and never locks out the users already there (EMQX re-reads every hash with
the current algorithm instead). Ids are kept sorted per type, so a page of a listing costs O(page).
What is here is written to the state database by the broker's observers; nothing here does IO.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from schemas.errors import InvalidArgument, LimitExceeded
from schemas.records import USER_ID_TYPES, ImportResult, MqttUser, MqttUserImport, MqttUserQuery, PasswordHash
from schemas.rules import storable

from . import authn_hashing

# Rows one import may carry: the import is checked whole before anything is stored, and a bcrypt
# hash costs ~50 ms, so a larger file would hold the request (or the command) for many minutes.
MAX_IMPORT_USERS = 10_000


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
        # One table per id type, keyed by the id alone: a CONNECT's lookups hash no tuples.
        self.by_type: dict[str, dict[str, StoredUser]] = {t: {} for t in USER_ID_TYPES}
        self._sorted: dict[str, list[str]] = {t: [] for t in USER_ID_TYPES}

    def __len__(self) -> int:
        return sum(len(t) for t in self.by_type.values())

    def count(self, user_id_type: str) -> int:
        return len(self._sorted[user_id_type])

    def get(self, user_id_type: str, user_id: str) -> StoredUser | None:
        return self.by_type[user_id_type].get(user_id)

    def put(self, user: StoredUser) -> bool:
        """Add or replace; True when the user is new."""
        table = self.by_type[user.user_id_type]
        new = user.user_id not in table
        table[user.user_id] = user
        if new:
            bisect.insort(self._sorted[user.user_id_type], user.user_id)
        return new

    def delete(self, user_id_type: str, user_id: str) -> bool:
        if self.by_type[user_id_type].pop(user_id, None) is None:
            return False
        ids = self._sorted[user_id_type]
        del ids[bisect.bisect_left(ids, user_id)]
        return True

    def clear(self) -> None:
        for table in self.by_type.values():
            table.clear()
        for ids in self._sorted.values():
            ids.clear()

    def load(self, users: Iterable[StoredUser]) -> None:
        """Replace everything at once (a restore), sorting once instead of once per user."""
        self.clear()
        for u in users:
            self.by_type[u.user_id_type][u.user_id] = u
        for t, table in self.by_type.items():
            self._sorted[t] = sorted(table)

    def users(self) -> Iterator[StoredUser]:
        for table in self.by_type.values():
            yield from table.values()

    def query(self, q: MqttUserQuery, offset: int, limit: int) -> tuple[list[MqttUser], int | None, bool]:
        """One page in ascending id order (EMQX's order): (rows, total or None with a substring filter, hasnext)."""
        table = self.by_type[q.user_id_type]
        ids = self._sorted[q.user_id_type]
        if q.user_id is not None:
            ids = [q.user_id] if q.user_id in table else []
        if q.like_user_id is None and q.is_superuser is None:
            rows = [table[u].record() for u in ids[offset : offset + limit]]
            return rows, len(ids), offset + limit < len(ids)
        matched = [
            table[u]
            for u in ids
            if (q.like_user_id is None or q.like_user_id in u)
            and (q.is_superuser is None or table[u].is_superuser == q.is_superuser)
        ]
        total = None if q.like_user_id is not None else len(matched)
        return [u.record() for u in matched[offset : offset + limit]], total, offset + limit < len(matched)


# -- the rules for what goes in, for every door (the APIs, ``emqgw mqtt-users``) ---------------------


def check_user_id(user_id_type: str, user_id: str) -> None:
    if user_id_type not in USER_ID_TYPES:
        raise InvalidArgument(f"user_id_type must be username or clientid, not {user_id_type!r}", field="user_id_type")
    if not user_id or not storable(user_id):
        raise InvalidArgument("invalid_user_id", field="user_id")


def check_password(password: str) -> None:
    if not password or not storable(password):
        raise InvalidArgument("the password must be a non-empty string", field="password")


def new_user(
    user_id_type: str, user_id: str, password: str, algo: PasswordHash, is_superuser: bool, created_at: float
) -> StoredUser:
    """A user with ``password`` hashed under ``algo`` (slow for bcrypt and pbkdf2: the caller decides where)."""
    hashed, salt, used = authn_hashing.hash_password(algo, password)
    return StoredUser(
        user_id_type=user_id_type,
        user_id=user_id,
        password_hash=hashed,
        salt=salt,
        algorithm=used,
        is_superuser=is_superuser,
        created_at=created_at,
    )


def check_import(rows: Sequence[MqttUserImport], hashed: bool) -> None:
    """An import is refused whole: LimitExceeded past MAX_IMPORT_USERS rows, InvalidArgument for a row
    without its password (hash)."""
    if len(rows) > MAX_IMPORT_USERS:
        raise LimitExceeded(f"at most {MAX_IMPORT_USERS} users per import, not {len(rows)}", kind="mqtt_user")
    field = "password_hash" if hashed else "password"
    for i, row in enumerate(rows, 1):
        secret = row.password_hash if hashed else row.password
        if secret is None or not all(map(storable, (secret, row.salt, row.user_id))):
            raise InvalidArgument(f"row {i}: {field} must be a string", field=field)


def imported_users(
    rows: Sequence[MqttUserImport], user_id_type: str, algo: PasswordHash, hashed: bool, now: float
) -> list[StoredUser]:
    """The users of checked rows (plain passwords hashed now: slow for bcrypt and pbkdf2); a row without an
    id has none (it counts as failed)."""
    out = []
    for row in rows:
        if not row.user_id:
            continue
        if hashed:
            assert row.password_hash is not None  # check_import
            out.append(
                StoredUser(
                    user_id_type=user_id_type,
                    user_id=row.user_id,
                    password_hash=row.password_hash,
                    salt=row.salt,
                    algorithm=attrs.evolve(algo),
                    is_superuser=row.is_superuser,
                    created_at=now,
                )
            )
        else:
            assert row.password is not None
            out.append(new_user(user_id_type, row.user_id, row.password, algo, row.is_superuser, now))
    return out


def merge_import(
    total: int, users: Sequence[StoredUser], lookup: Callable[[str, str], StoredUser | None]
) -> tuple[ImportResult, list[StoredUser]]:
    """EMQX 5's counts and the users to store: one identical to the stored one is skipped, one that differs
    overrides it (keeping its creation time)."""
    result = ImportResult(total=total, failed=total - len(users))
    save = []
    for user in users:
        old = lookup(user.user_id_type, user.user_id)
        if old is not None:
            user = attrs.evolve(user, created_at=old.created_at)
            if old.same_credentials(user):
                result.skipped += 1
                continue
            result.override += 1
        result.success += 1
        save.append(user)
    return result, save
