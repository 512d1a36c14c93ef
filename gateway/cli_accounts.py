"""`emqgw users ...` and `emqgw apikeys ...`: account administration on the database file itself.

The gateway need not be running; when it is, its next check sees the change (a changed password or a
deleted user also voids that user's login tokens there). Passwords are read from the terminal or, with
``--password-stdin``, from the first line of standard input — never from the command line, where
`ps` and shell history would keep them. Errors are one line on stderr and exit status 2.

    emqgw users add NAME [--description TEXT] [--password-stdin]
    emqgw users passwd NAME [--password-stdin]
    emqgw users list
    emqgw users delete NAME
    emqgw apikeys create NAME [--desc TEXT] [--expires RFC3339|EPOCH_SECONDS] [--disabled]
    emqgw apikeys list
    emqgw apikeys delete NAME

Every command takes ``--data-dir DIR`` (default ./data); the database is ``DIR/emqgw.db``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from adapters.common.timefmt import parse_time_s, rfc3339_s
from schemas.errors import ControlError, NotFound

from .accounts import DB_NAME, AccountStore, AccountStoreError, validate_password, validate_username

DEFAULT_DATA_DIR = "./data"
EXIT_OK = 0
EXIT_USAGE = 2


class _CliError(Exception):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=DEFAULT_DATA_DIR,
        help=f"the gateway's state directory (default {DEFAULT_DATA_DIR}); the database is DIR/{DB_NAME}",
    )


def _password_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of the terminal",
    )


def add_parsers(subparsers) -> None:
    users = subparsers.add_parser("users", help="manage dashboard users (works on the database file)")
    us = users.add_subparsers(dest="action", required=True, metavar="{add,passwd,list,delete}")
    p = us.add_parser("add", help="add a dashboard user")
    p.add_argument("username")
    p.add_argument("--description", default="", metavar="TEXT")
    _password_option(p)
    _common(p)
    p = us.add_parser("passwd", help="set a user's password (no old password needed)")
    p.add_argument("username")
    _password_option(p)
    _common(p)
    p = us.add_parser("list", help="list dashboard users")
    _common(p)
    p = us.add_parser("delete", help="delete a dashboard user (not admin)")
    p.add_argument("username")
    _common(p)

    keys = subparsers.add_parser("apikeys", help="manage EMQX 5 API keys (works on the database file)")
    ks = keys.add_subparsers(dest="action", required=True, metavar="{create,list,delete}")
    p = ks.add_parser("create", help="create an API key and print its secret (once)")
    p.add_argument("name")
    p.add_argument("--desc", default="", metavar="TEXT")
    p.add_argument("--expires", metavar="WHEN", help="RFC 3339 time or epoch seconds (default: never)")
    p.add_argument("--disabled", action="store_true", help="create the key disabled")
    _common(p)
    p = ks.add_parser("list", help="list API keys (secrets are never shown)")
    _common(p)
    p = ks.add_parser("delete", help="delete an API key")
    p.add_argument("name")
    _common(p)


# --- password input ------------------------------------------------------------------------------


def _read_password(args) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise _CliError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise _CliError("standard input is not a terminal; give the password with --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise _CliError("the passwords do not match")
    return password


# --- commands ------------------------------------------------------------------------------------


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def _users_add(store: AccountStore, args) -> int:
    validate_username(args.username)
    try:
        store.get_user(args.username)
    except NotFound:
        pass
    else:
        raise _CliError(f"user {args.username!r} already exists")
    password = _read_password(args)
    validate_password(password)
    store.add_user(args.username, password, args.description)
    print(f"user {args.username} added")
    return EXIT_OK


def _users_passwd(store: AccountStore, args) -> int:
    store.get_user(args.username)  # NotFound before asking for a password
    password = _read_password(args)
    store.set_password(args.username, password)
    print(f"password of {args.username} changed")
    return EXIT_OK


def _users_list(store: AccountStore, args) -> int:
    rows = [["USERNAME", "CREATED", "DESCRIPTION"]]
    rows += [[u.username, rfc3339_s(u.created_at), u.description] for u in store.list_users()]
    _table(rows)
    return EXIT_OK


def _users_delete(store: AccountStore, args) -> int:
    store.delete_user(args.username)
    print(f"user {args.username} deleted")
    return EXIT_OK


def _parse_expires(text: str | None) -> float | None:
    if text is None or text.strip().lower() in ("infinity", "never"):
        return None
    try:
        return parse_time_s(text)
    except ValueError:
        raise _CliError(f"--expires {text}: expected an RFC 3339 time, epoch seconds or 'infinity'") from None


def _apikeys_create(store: AccountStore, args) -> int:
    key, secret = store.create_api_key(
        args.name, desc=args.desc, enable=not args.disabled, expired_at=_parse_expires(args.expires)
    )
    print(f"name:       {key.name}")
    print(f"api_key:    {key.api_key}")
    print(f"api_secret: {secret}")
    print(f"expires:    {rfc3339_s(key.expired_at) or 'infinity'}")
    print("The secret is shown only this once; it cannot be recovered.", file=sys.stderr)
    return EXIT_OK


def _apikeys_list(store: AccountStore, args) -> int:
    rows = [["NAME", "API_KEY", "ENABLED", "EXPIRES", "DESC"]]
    for k in store.list_api_keys():
        expires = rfc3339_s(k.expired_at) or "infinity"
        if k.expired:
            expires += " (expired)"
        rows.append([k.name, k.api_key, "yes" if k.enable else "no", expires, k.desc])
    _table(rows)
    return EXIT_OK


def _apikeys_delete(store: AccountStore, args) -> int:
    store.delete_api_key(args.name)
    print(f"API key {args.name} deleted")
    return EXIT_OK


_COMMANDS = {
    ("users", "add"): _users_add,
    ("users", "passwd"): _users_passwd,
    ("users", "list"): _users_list,
    ("users", "delete"): _users_delete,
    ("apikeys", "create"): _apikeys_create,
    ("apikeys", "list"): _apikeys_list,
    ("apikeys", "delete"): _apikeys_delete,
}

# NotFound messages of the store are EMQX's API strings; on a terminal, say what is missing.
_NOT_FOUND = {"users": "no such user: {}", "apikeys": "no such API key: {}"}


def _fail(message: str) -> int:
    print(f"emqgw: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args) -> int:
    command = _COMMANDS.get((args.command, getattr(args, "action", None)))
    if command is None:
        return _fail(f"unknown command: {args.command}")
    try:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        store = AccountStore(str(Path(args.data_dir) / DB_NAME))
    except AccountStoreError as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"{args.data_dir}: {e.strerror or e}")
    try:
        return command(store, args)
    except NotFound:
        return _fail(_NOT_FOUND[args.command].format(getattr(args, "username", None) or args.name))
    except ControlError as e:
        return _fail(str(e))
    except (AccountStoreError, _CliError) as e:
        return _fail(str(e))
    except (KeyboardInterrupt, EOFError):
        return _fail("interrupted")
    finally:
        store.close()
