"""`emqgw mqtt-users ...`: the built-in credential database's MQTT users, on the database file itself.

For scripted provisioning before the gateway starts (or between two runs): the gateway reads the users
at start and keeps them in memory, so while it runs use the HTTP APIs instead (EMQX 5's
`/authentication/{id}/users`, EMQX 4's `/auth_username`), which also write the file. Passwords are hashed
with the built-in authenticator's algorithm, exactly as the APIs do, and never printed; they are read
from the terminal or, with ``--password-stdin``, from the first line of standard input. Errors are one
line on stderr and exit status 2.

    emqgw mqtt-users add USER_ID [--clientid] [--superuser] [--password-stdin]
    emqgw mqtt-users list [--clientid]
    emqgw mqtt-users delete USER_ID [--clientid]
    emqgw mqtt-users import FILE [--hashed] [--clientid]     # EMQX 5's CSV / JSON user files

``--clientid``: users keyed by client id instead of username. Every command takes ``--data-dir DIR``
(default ./data); the database is ``DIR/emqgw.db``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from adapters.common import mqtt_user_files
from adapters.common.timefmt import rfc3339_s
from broker import authn_users
from schemas.errors import ControlError
from schemas.records import PasswordHash

from . import auth_state
from .accounts import DB_NAME, AccountStore, AccountStoreError
from .cli_accounts import _CliError, _common, _fail, _password_option, _read_password, _table

COMMAND = "mqtt-users"
EXIT_OK = 0


def add_parsers(subparsers) -> None:
    top = subparsers.add_parser(COMMAND, help="manage the MQTT users of the built-in database (on the file)")
    sub = top.add_subparsers(dest="action", required=True, metavar="{add,list,delete,import}")

    def kind(p) -> None:
        p.add_argument("--clientid", action="store_true", help="users keyed by client id, not username")
        _common(p)

    p = sub.add_parser("add", help="add an MQTT user")
    p.add_argument("user_id")
    p.add_argument("--superuser", action="store_true", help="the user skips authorization")
    _password_option(p)
    kind(p)
    p = sub.add_parser("list", help="list MQTT users (never their passwords)")
    kind(p)
    p = sub.add_parser("delete", help="delete an MQTT user")
    p.add_argument("user_id")
    kind(p)
    p = sub.add_parser("import", help="import an EMQX 5 user file (.csv or .json)")
    p.add_argument("file")
    p.add_argument("--hashed", action="store_true", help="the file holds password_hash and salt, not passwords")
    kind(p)


class _Database:
    """The state database's auth tables, as the gateway keeps them (``gateway.auth_state``)."""

    def __init__(self, data_dir: str) -> None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        path = str(Path(data_dir) / DB_NAME)
        # The account store creates and checks the file (mode 0600: it holds hashes), as at every start.
        AccountStore(path).close()
        self.conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(auth_state.SCHEMA)

    def read(self, sql: str) -> list:
        return self.conn.execute(sql).fetchall()

    def algorithm(self) -> PasswordHash:
        config = auth_state.builtin_config(self.read)
        if config is None:
            raise _CliError("the authenticator chain has no built-in database: add it back over the API first")
        return config.password_hash

    def users(self, user_id_type: str) -> dict[str, authn_users.StoredUser]:
        return {u.user_id: u for u in auth_state.read_users(self.read) if u.user_id_type == user_id_type}

    def write(self, ops: list[tuple]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                auth_state.OPS[op[0]](self.conn, op)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise


def _kind(args) -> str:
    return "clientid" if args.clientid else "username"


def _add(db: _Database, args) -> int:
    kind = _kind(args)
    authn_users.check_user_id(kind, args.user_id)
    algo = db.algorithm()
    if args.user_id in db.users(kind):
        raise _CliError(f"MQTT user {args.user_id!r} already exists")
    password = _read_password(args)
    authn_users.check_password(password)
    user = authn_users.new_user(kind, args.user_id, password, algo, args.superuser, time.time())
    db.write([("auth_user", user)])
    print(f"MQTT user {args.user_id} added")
    return EXIT_OK


def _list(db: _Database, args) -> int:
    rows = [["USER_ID", "SUPERUSER", "CREATED", "HASH"]]
    for uid, u in sorted(db.users(_kind(args)).items()):
        rows.append([uid, "yes" if u.is_superuser else "no", rfc3339_s(u.created_at) or "", u.algorithm.name])
    _table(rows)
    return EXIT_OK


def _delete(db: _Database, args) -> int:
    kind = _kind(args)
    if args.user_id not in db.users(kind):
        raise _CliError(f"no such MQTT user: {args.user_id}")
    db.write([("auth_user_delete", kind, args.user_id)])
    print(f"MQTT user {args.user_id} deleted")
    return EXIT_OK


def _import(db: _Database, args) -> int:
    kind = _kind(args)
    try:
        data = Path(args.file).read_bytes()
        rows = mqtt_user_files.parse(data, mqtt_user_files.format_of(args.file), args.hashed)
    except OSError as e:
        raise _CliError(f"{args.file}: {e.strerror or e}") from None
    except mqtt_user_files.UserFileError as e:
        raise _CliError(f"{args.file}: {e.reason}") from None
    authn_users.check_import(rows, args.hashed)
    users = authn_users.imported_users(rows, kind, db.algorithm(), args.hashed, time.time())
    existing = db.users(kind)
    result, save = authn_users.merge_import(len(rows), users, lambda _t, uid: existing.get(uid))
    db.write([("auth_user", u) for u in save])
    print(
        f"total {result.total}, success {result.success}, override {result.override}, "
        f"skipped {result.skipped}, failed {result.failed}"
    )
    return EXIT_OK


_COMMANDS = {"add": _add, "list": _list, "delete": _delete, "import": _import}


def run(args) -> int:
    try:
        db = _Database(args.data_dir)
    except AccountStoreError as e:
        return _fail(str(e))
    except (OSError, sqlite3.Error) as e:
        return _fail(f"{args.data_dir}: {e}")
    try:
        return _COMMANDS[args.action](db, args)
    except (ControlError, _CliError) as e:
        return _fail(str(e))
    except sqlite3.Error as e:
        return _fail(f"{args.data_dir}/{DB_NAME}: {e}")
    except (KeyboardInterrupt, EOFError):
        return _fail("interrupted")
    finally:
        db.conn.close()
