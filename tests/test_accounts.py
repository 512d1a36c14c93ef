"""The account store on real SQLite files: users, password hashing and caching, tokens, API keys, the CLI."""

import argparse
import hashlib
import io
import os
import sqlite3
import subprocess
import sys

import pytest

from gateway import accounts as acc
from gateway.accounts import (
    KEEP,
    AccountStore,
    AccountStoreError,
    BadToken,
    NotAllowed,
    PasswordMismatch,
    TokenExpired,
)
from gateway.accounts import store as store_module
from gateway.accounts.database import SCHEMA_VERSION
from schemas.errors import Conflict, InvalidArgument, LimitExceeded, NotFound

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Clock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "emqgw.db")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(db, clock):
    s = AccountStore(db, clock=clock)
    yield s
    s.close()


@pytest.fixture
def count_hashes(monkeypatch):
    """Counts the slow/fast hash verifications (not cache hits)."""
    calls = []
    real = store_module.verify_hash

    def counting(secret, stored):
        calls.append(stored.split(":", 1)[0])
        return real(secret, stored)

    monkeypatch.setattr(store_module, "verify_hash", counting)
    return calls


def rows(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- users ---------------------------------------------------------------------------------------


def test_default_admin_is_created_once(db):
    s = AccountStore(db)
    [admin] = s.list_users()
    assert (admin.username, admin.description) == ("admin", "administrator")
    assert s.check_password("admin", "public")
    assert s.default_password_in_use()
    s.set_password("admin", "n3w-Secret")
    s.close()
    s = AccountStore(db)
    assert [u.username for u in s.list_users()] == ["admin"]  # not re-created, not duplicated
    assert not s.default_password_in_use()
    assert s.check_password("admin", "n3w-Secret")
    s.close()
    assert rows(db, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]


def test_database_file_is_private(db):
    AccountStore(db).close()
    assert os.stat(db).st_mode & 0o777 == 0o600


def test_stored_hash_never_contains_the_password(store, db):
    password = "Correct-Horse-9"
    store.add_user("alice", password)
    store.add_user("bob", password)
    hashes = dict(rows(db, "SELECT username, password_hash FROM users"))
    for h in (hashes["alice"], hashes["bob"]):
        assert h.startswith("scrypt:n=16384,r=8,p=1:")
        assert password not in h and password.encode().hex() not in h
    assert hashes["alice"] != hashes["bob"]  # salted
    for suffix in ("", "-wal"):
        if os.path.exists(db + suffix):
            with open(db + suffix, "rb") as f:
                assert password.encode() not in f.read()


def test_users_persist_across_reopen(db):
    s = AccountStore(db)
    s.add_user("alice", "Passw0rd!", "ops")
    s.update_user("alice", "operations")
    s.close()
    s = AccountStore(db)
    assert s.get_user("alice").description == "operations"
    assert s.check_password("alice", "Passw0rd!")
    assert [u.username for u in s.list_users()] == ["admin", "alice"]
    s.close()


@pytest.mark.parametrize(
    "username, message",
    [
        ("", "Username cannot be empty"),
        ("bad-name", "Bad Username. Only upper and lower case letters, numbers and underscores are supported"),
        ("with space", "Bad Username. Only upper and lower case letters, numbers and underscores are supported"),
        ("a" * 101, "Bad Username. The maximum length is 100"),
    ],
)
def test_username_validation(store, username, message):
    with pytest.raises(InvalidArgument) as e:
        store.add_user(username, "Passw0rd!")
    assert str(e.value) == message


WEAK = (
    "Bad password. At least two different kind of characters from groups of letters, numbers, and special "
    "characters. For example, if password is composed from letters, it must contain at least one number or a "
    "special character."
)


@pytest.mark.parametrize(
    "password, message",
    [
        ("", "The range of password length is 8~64"),
        ("abc12", "The range of password length is 8~64"),
        ("a1" * 32 + "x", "The range of password length is 8~64"),
        ("abcdefgh", WEAK),
        ("12345678", WEAK),
        ("!@#$%^&*", WEAK),
        ("\\\\\\\\aaaa", WEAK),  # backslash is not one of EMQX's specials
    ],
)
def test_password_policy(store, password, message):
    with pytest.raises(InvalidArgument) as e:
        store.add_user("alice", password)
    assert str(e.value) == message


@pytest.mark.parametrize("password", ["abcdefg1", "abcdefg ", "12345678!", "a1" * 32])
def test_password_policy_accepts(password):
    acc.validate_password(password)


def test_password_policy_can_be_switched_off(store):
    store.add_user("legacy", "public", enforce_policy=False)
    assert store.check_password("legacy", "public")
    with pytest.raises(InvalidArgument, match="Password cannot be empty"):
        store.add_user("legacy2", "", enforce_policy=False)
    store.set_password("legacy", "x", enforce_policy=False)
    with pytest.raises(InvalidArgument, match="8~64"):
        store.set_password("legacy", "x")


def test_user_errors(store):
    store.add_user("alice", "Passw0rd!")
    with pytest.raises(Conflict, match="^username_already_exists$"):
        store.add_user("alice", "Other-pass1")
    with pytest.raises(NotAllowed) as e:
        store.delete_user("admin")
    assert str(e.value) == 'Cannot delete user "admin"'
    for call in (
        lambda: store.delete_user("nobody"),
        lambda: store.get_user("nobody"),
        lambda: store.update_user("nobody", "x"),
        lambda: store.set_password("nobody", "Passw0rd!"),
        lambda: store.change_password("nobody", "a", "Passw0rd!"),
    ):
        with pytest.raises(NotFound, match="^username_not_found$"):
            call()
    with pytest.raises(PasswordMismatch) as e:
        store.change_password("alice", "wrong", "Passw0rd!2")
    assert str(e.value) == "Old password not match"
    with pytest.raises(InvalidArgument, match="8~64"):  # old password checked first, then the policy
        store.change_password("alice", "Passw0rd!", "short")
    store.delete_user("alice")
    assert not store.check_password("alice", "Passw0rd!")
    assert not store.check_password("\udcff", "\udcff")  # undecodable Basic credentials: refused, no crash
    assert store.check_api_key("\udcff", "x") is None


# --- the verified-credential cache ---------------------------------------------------------------


def test_verified_passwords_are_cached_failures_are_not(store, clock, count_hashes):
    store.add_user("alice", "Passw0rd!")
    assert store.check_password("alice", "Passw0rd!")
    assert store.check_password("alice", "Passw0rd!")
    assert count_hashes == ["scrypt"]
    assert not store.check_password("alice", "wrong")
    assert not store.check_password("alice", "wrong")
    assert len(count_hashes) == 3
    assert not store.check_password("nobody", "x")  # still one slow hash: no timing hint
    assert len(count_hashes) == 4
    clock.now += acc.CREDENTIAL_CACHE_TTL + 1
    assert store.check_password("alice", "Passw0rd!")
    assert len(count_hashes) == 5


def test_change_password_drops_the_cache_at_once(store):
    store.add_user("alice", "Passw0rd!")
    assert store.check_password("alice", "Passw0rd!")  # now cached
    store.change_password("alice", "Passw0rd!", "N3w-passw0rd")
    assert not store.check_password("alice", "Passw0rd!")
    assert store.check_password("alice", "N3w-passw0rd")
    store.set_password("alice", "Th1rd-passw0rd")
    assert not store.check_password("alice", "N3w-passw0rd")


def test_password_change_by_another_process_is_seen_at_once(store, db):
    store.add_user("alice", "Passw0rd!")
    assert store.check_password("alice", "Passw0rd!")  # cached in this store
    other = AccountStore(db)  # e.g. `emqgw users passwd` while the gateway runs
    other.set_password("alice", "N3w-passw0rd")
    other.close()
    assert not store.check_password("alice", "Passw0rd!")
    assert store.check_password("alice", "N3w-passw0rd")


# --- login tokens --------------------------------------------------------------------------------


def test_token_slides_and_expires(store, clock):
    token = store.issue_token("admin")
    assert store.check_token(token) == "admin"
    for _ in range(3):  # each use pushes expiry to now + TTL: 3 x 50 min > 60 min
        clock.now += 3000
        assert store.check_token(token) == "admin"
    clock.now += 3601
    with pytest.raises(TokenExpired) as e:
        store.check_token(token)
    assert str(e.value) == "Token expired, get new token by POST /login"
    with pytest.raises(BadToken) as e:
        store.check_token("not-a-token")
    assert str(e.value) == "Get a token by POST /login"


def test_token_ttl_is_configurable_and_tokens_are_not_kept_in_clear(db, clock):
    s = AccountStore(db, token_ttl=10, clock=clock)
    token = s.issue_token("admin")
    assert token not in repr(vars(s._tokens)) and token.encode() not in s._tokens._by_id
    clock.now += 11
    with pytest.raises(TokenExpired):
        s.check_token(token)
    s.close()


def test_logout_revokes_only_own_token(store):
    store.add_user("alice", "Passw0rd!")
    a1, a2, b = store.issue_token("admin"), store.issue_token("admin"), store.issue_token("alice")
    assert not store.revoke_token(a1, "alice")
    assert not store.revoke_token("unknown", "admin")
    assert store.revoke_token(a1, "admin")
    with pytest.raises(BadToken):
        store.check_token(a1)
    assert store.check_token(a2) == "admin"
    assert store.check_token(b) == "alice"


def test_password_change_and_deletion_revoke_tokens(store, db):
    store.add_user("alice", "Passw0rd!")
    store.add_user("bob", "Passw0rd!")
    t_alice, t_bob, t_admin = store.issue_token("alice"), store.issue_token("bob"), store.issue_token("admin")
    store.change_password("alice", "Passw0rd!", "N3w-passw0rd")
    with pytest.raises(BadToken):
        store.check_token(t_alice)
    store.delete_user("bob")
    with pytest.raises(BadToken):
        store.check_token(t_bob)
    # another process (the CLI) resets admin's password: the running gateway's tokens die too
    other = AccountStore(db)
    other.set_password("admin", "N3w-passw0rd")
    other.close()
    with pytest.raises(BadToken):
        store.check_token(t_admin)
    with pytest.raises(NotFound):
        store.issue_token("bob")


def test_tokens_do_not_survive_a_restart(db):
    s = AccountStore(db)
    token = s.issue_token("admin")
    s.close()
    s = AccountStore(db)
    with pytest.raises(BadToken):
        s.check_token(token)
    s.close()


# --- API keys ------------------------------------------------------------------------------------


def test_api_key_is_sha512_prefix_and_secret_is_shown_once(store, db):
    key, secret = store.create_api_key("EMQX-API-KEY-1", desc="ci", expired_at=None)
    assert key.api_key == hashlib.sha512(b"EMQX-API-KEY-1").hexdigest()[:16]
    assert (key.name, key.desc, key.enable, key.expired_at, key.expired) == ("EMQX-API-KEY-1", "ci", True, None, False)
    assert 40 <= len(secret) <= 43 and secret.isalnum()
    assert not hasattr(key, "api_secret")
    assert store.get_api_key("EMQX-API-KEY-1") == key
    assert store.list_api_keys() == [key]
    [(stored,)] = rows(db, "SELECT secret_hash FROM api_keys")
    assert secret not in stored and stored.startswith("sha256:")
    assert store.check_api_key(key.api_key, secret) == key
    assert store.check_api_key(key.api_key, secret + "x") is None
    assert store.check_api_key("0000000000000000", secret) is None
    other_key, other_secret = store.create_api_key("second")
    assert other_secret != secret and other_key.api_key != key.api_key


def test_disabled_and_expired_keys_fail(store, clock):
    key, secret = store.create_api_key("k")
    assert store.check_api_key(key.api_key, secret)  # cached now
    store.update_api_key("k", enable=False)
    assert store.check_api_key(key.api_key, secret) is None
    store.update_api_key("k", enable=True)
    assert store.check_api_key(key.api_key, secret)
    updated = store.update_api_key("k", expired_at=clock.now - 1)
    assert updated.expired_at == clock.now - 1 and updated.expired_by(clock.now)
    assert store.check_api_key(key.api_key, secret) is None
    # EMQX: a PUT without expired_at makes the key never expire; KEEP leaves it alone
    store.update_api_key("k", expired_at=clock.now + 60)
    assert store.update_api_key("k", desc="d", expired_at=KEEP).expired_at == clock.now + 60
    assert store.update_api_key("k").expired_at is None
    assert store.get_api_key("k").desc == "d"
    clock.now += 10**6
    assert store.check_api_key(key.api_key, secret)
    future, fsecret = store.create_api_key("future", expired_at=clock.now + 10)
    assert store.check_api_key(future.api_key, fsecret)
    clock.now += 11
    assert store.check_api_key(future.api_key, fsecret) is None
    dis, dsecret = store.create_api_key("dis", enable=False)
    assert store.check_api_key(dis.api_key, dsecret) is None


def test_api_key_checks_read_no_table_yet_see_another_process_at_once(store, db, clock, tmp_path):
    key, secret = store.create_api_key("shared")
    assert store.check_api_key(key.api_key, secret)
    statements = []
    store._conn.set_trace_callback(statements.append)
    for _ in range(3):
        assert store.check_api_key(key.api_key, secret) == key
    assert statements == ["PRAGMA data_version"] * 3  # nothing read from a table while nothing changed
    store._conn.set_trace_callback(None)
    other = AccountStore(db)  # e.g. `emqgw apikeys delete` while the gateway runs
    other.update_api_key("shared", enable=False)
    assert store.check_api_key(key.api_key, secret) is None
    other.update_api_key("shared", enable=True)
    assert store.check_api_key(key.api_key, secret)
    other.update_api_key("shared", expired_at=clock.now - 1)
    assert store.check_api_key(key.api_key, secret) is None
    other.update_api_key("shared", expired_at=None)
    assert store.check_api_key(key.api_key, secret)
    other.delete_api_key("shared")
    assert store.check_api_key(key.api_key, secret) is None
    again, new_secret = other.create_api_key("shared")  # the same api_key (from the name), a new secret
    assert again.api_key == key.api_key
    assert store.check_api_key(key.api_key, secret) is None and store.check_api_key(key.api_key, new_secret)
    keys = tmp_path / "keys.txt"
    keys.write_text("boot-key:boot-secret\n")
    other.bootstrap_api_keys(str(keys))
    assert store.check_api_key("boot-key", "boot-secret")
    other.close()


def test_delete_api_key(store):
    key, secret = store.create_api_key("k")
    assert store.check_api_key(key.api_key, secret)
    store.delete_api_key("k")
    assert store.check_api_key(key.api_key, secret) is None
    for call in (
        lambda: store.delete_api_key("k"),
        lambda: store.get_api_key("k"),
        lambda: store.update_api_key("k", enable=True),
    ):
        with pytest.raises(NotFound, match="^Name NOT FOUND$"):
            call()


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Name Length must =< 256"),
        ("a" * 257, "Name Length must =< 256"),
        ("1abc", "Name should be ^[A-Za-z]+[A-Za-z0-9-_]*$"),
        ("_abc", "Name should be ^[A-Za-z]+[A-Za-z0-9-_]*$"),
        ("ab c", "Name should be ^[A-Za-z]+[A-Za-z0-9-_]*$"),
        ("abc\n", "Name should be ^[A-Za-z]+[A-Za-z0-9-_]*$"),
    ],
)
def test_api_key_name_validation(store, name, message):
    with pytest.raises(InvalidArgument) as e:
        store.create_api_key(name)
    assert str(e.value) == message


def test_api_key_duplicate_and_limit(store):
    store.create_api_key("a" * 256)
    store.create_api_key("Key-1_x")
    with pytest.raises(Conflict, match="^name_already_existed$"):
        store.create_api_key("Key-1_x")
    for i in range(98):
        store.create_api_key(f"k{i}")
    with pytest.raises(LimitExceeded) as e:
        store.create_api_key("one-too-many")
    assert str(e.value) == "Maximum number of ApiKeys reached."
    assert len(store.list_api_keys()) == 100


def test_api_keys_persist_across_reopen(db):
    s = AccountStore(db)
    key, secret = s.create_api_key("k", desc="kept", expired_at=4_000_000_000.0)
    s.close()
    s = AccountStore(db)
    assert s.get_api_key("k") == key
    assert s.check_api_key(key.api_key, secret) == key
    s.close()


# --- bootstrap file ------------------------------------------------------------------------------


def test_bootstrap_file(store, tmp_path):
    f = tmp_path / "keys.txt"
    f.write_text("# comment\n\nmy-key:my-secret\n  other:s3cr3t:viewer  \n")
    names = store.bootstrap_api_keys(str(f))
    expected = "from_bootstrap_file_" + hashlib.sha512(b"my-key").hexdigest()[:16]
    assert names[0] == expected
    key = store.get_api_key(expected)
    assert (key.api_key, key.desc, key.enable, key.expired_at) == ("my-key", "Bootstrapped From File", True, None)
    assert store.check_api_key("my-key", "my-secret") == key
    assert store.check_api_key("other", "s3cr3t")
    assert store.check_api_key("other", "s3cr3t:viewer") is None
    # reloading updates the secret (and re-enables: the file wins, as in EMQX)
    store.update_api_key(expected, enable=False)
    f.write_text("my-key:new-secret\n")
    store.bootstrap_api_keys(str(f))
    assert store.check_api_key("my-key", "my-secret") is None
    assert store.check_api_key("my-key", "new-secret") == store.get_api_key(expected)
    assert len(store.list_api_keys()) == 2


@pytest.mark.parametrize(
    "content, lineno",
    [
        ("a:b\n# x\nno-colon-here\n", 3),
        ("a:b\n:secret\n", 2),
        ("key:\n", 1),
        ("a:b\nk:s:superuser\n", 2),
    ],
)
def test_bootstrap_file_errors_name_the_line_and_change_nothing(store, tmp_path, content, lineno):
    f = tmp_path / "keys.txt"
    f.write_text(content)
    with pytest.raises(AccountStoreError) as e:
        store.bootstrap_api_keys(str(f))
    assert f"{f}:{lineno}:" in str(e.value)
    assert "secret" not in str(e.value).replace("api_secret", "")
    assert store.list_api_keys() == []


def test_bootstrap_missing_file(store, tmp_path):
    with pytest.raises(AccountStoreError, match="cannot read the API key bootstrap file"):
        store.bootstrap_api_keys(str(tmp_path / "nope"))


# --- damaged databases ---------------------------------------------------------------------------


def test_garbage_file_is_refused_not_recreated(db):
    with open(db, "wb") as f:
        f.write(b"this is not a database, it is a grocery list\n" * 100)
    before = open(db, "rb").read()
    with pytest.raises(AccountStoreError) as e:
        AccountStore(db)
    assert db in str(e.value) and "backup" in str(e.value) and "aside" in str(e.value)
    assert open(db, "rb").read() == before


def test_damaged_pages_are_refused(db):
    s = AccountStore(db)
    for i in range(5):
        s.create_api_key(f"k{i}", desc="x" * 2000)
    s.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = os.path.getsize(db)
    with open(db, "r+b") as f:  # keep the header page, scramble every b-tree page after it
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    with pytest.raises(AccountStoreError, match="emqgw.db"):
        AccountStore(db)


def test_foreign_and_newer_databases_are_refused(db, tmp_path):
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE grocery (item TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(AccountStoreError, match="not an emqgw account database"):
        AccountStore(db)
    newer = str(tmp_path / "newer.db")
    AccountStore(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(AccountStoreError, match="newer emqgw"):
        AccountStore(newer)


def test_unreadable_location(tmp_path):
    with pytest.raises(AccountStoreError, match="cannot create"):
        AccountStore(str(tmp_path / "missing-dir" / "emqgw.db"))


def test_closed_store(db):
    s = AccountStore(db)
    s.close()
    with pytest.raises(AccountStoreError, match="closed"):
        s.list_users()


# --- CLI -----------------------------------------------------------------------------------------

CLI = (
    "import argparse, sys\n"
    "from gateway.cli_accounts import add_parsers, run\n"
    "p = argparse.ArgumentParser(prog='emqgw')\n"
    "add_parsers(p.add_subparsers(dest='command', required=True))\n"
    "sys.exit(run(p.parse_args(sys.argv[1:])))\n"
)


def cli(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], input=stdin, cwd=ROOT, capture_output=True, text=True, timeout=30
    )


def test_cli_users(tmp_path):
    data = str(tmp_path / "data")
    r = cli(
        "users", "add", "alice", "--description", "ops", "--password-stdin", "--data-dir", data, stdin="Passw0rd!\n"
    )
    assert (r.returncode, r.stderr) == (0, "")
    r = cli("users", "list", "--data-dir", data)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["USERNAME", "CREATED", "DESCRIPTION"]
    assert [ln.split()[0] for ln in lines[1:]] == ["admin", "alice"]
    assert lines[2].split()[-1] == "ops"
    r = cli("users", "passwd", "alice", "--password-stdin", "--data-dir", data, stdin="N3w-passw0rd\n")
    assert r.returncode == 0
    s = AccountStore(os.path.join(data, "emqgw.db"))
    assert s.check_password("alice", "N3w-passw0rd") and not s.check_password("alice", "Passw0rd!")
    s.close()
    r = cli("users", "delete", "alice", "--data-dir", data)
    assert r.returncode == 0
    r = cli("users", "delete", "admin", "--data-dir", data)
    assert (r.returncode, r.stderr) == (2, 'emqgw: Cannot delete user "admin"\n')
    r = cli("users", "delete", "alice", "--data-dir", data)
    assert (r.returncode, r.stderr) == (2, "emqgw: no such user: alice\n")
    r = cli("users", "add", "bob", "--password-stdin", "--data-dir", data, stdin="weakweak\n")
    assert r.returncode == 2 and r.stderr.startswith("emqgw: Bad password.") and len(r.stderr.splitlines()) == 1
    r = cli("users", "add", "bob", "--data-dir", data)  # no terminal and no --password-stdin
    assert r.returncode == 2 and "--password-stdin" in r.stderr


def test_cli_apikeys(tmp_path):
    data = str(tmp_path / "data")
    r = cli("apikeys", "create", "ci-key", "--desc", "for CI", "--expires", "2100-01-01T00:00:00Z", "--data-dir", data)
    assert r.returncode == 0, r.stderr
    out = dict(line.split(":", 1) for line in r.stdout.splitlines())
    api_key, secret = out["api_key"].strip(), out["api_secret"].strip()
    assert api_key == hashlib.sha512(b"ci-key").hexdigest()[:16]
    s = AccountStore(os.path.join(data, "emqgw.db"))
    key = s.check_api_key(api_key, secret)
    assert key.desc == "for CI" and key.expired_at == 4102444800.0
    s.close()
    r = cli("apikeys", "list", "--data-dir", data)
    assert r.returncode == 0 and "ci-key" in r.stdout and api_key in r.stdout and secret not in r.stdout
    r = cli("apikeys", "create", "ci-key", "--data-dir", data)
    assert (r.returncode, r.stderr) == (2, "emqgw: name_already_existed\n")
    r = cli("apikeys", "create", "bad key", "--data-dir", data)
    assert r.returncode == 2 and "Name should be" in r.stderr
    r = cli("apikeys", "create", "k2", "--expires", "soon", "--data-dir", data)
    assert r.returncode == 2 and "--expires" in r.stderr
    r = cli("apikeys", "delete", "ci-key", "--data-dir", data)
    assert r.returncode == 0
    r = cli("apikeys", "delete", "ci-key", "--data-dir", data)
    assert (r.returncode, r.stderr) == (2, "emqgw: no such API key: ci-key\n")


def test_cli_in_process_and_corrupt_database(tmp_path, monkeypatch, capsys):
    from gateway import cli_accounts

    p = argparse.ArgumentParser(prog="emqgw")
    cli_accounts.add_parsers(p.add_subparsers(dest="command", required=True))
    data = tmp_path / "data"
    monkeypatch.setattr(sys, "stdin", io.StringIO("Passw0rd!\n"))
    assert cli_accounts.run(p.parse_args(["users", "add", "carol", "--password-stdin", "--data-dir", str(data)])) == 0
    assert (
        cli_accounts.run(p.parse_args(["apikeys", "create", "k", "--expires", "1700000000", "--data-dir", str(data)]))
        == 0
    )
    capsys.readouterr()
    assert cli_accounts.run(p.parse_args(["apikeys", "list", "--data-dir", str(data)])) == 0
    assert "(expired)" in capsys.readouterr().out
    (data / "emqgw.db").write_bytes(b"garbage" * 1000)
    for f in ("emqgw.db-wal", "emqgw.db-shm"):
        if (data / f).exists():
            (data / f).unlink()
    assert cli_accounts.run(p.parse_args(["users", "list", "--data-dir", str(data)])) == 2
    err = capsys.readouterr().err
    assert err.startswith("emqgw: ") and "emqgw.db" in err and len(err.splitlines()) == 1


def test_cli_through_the_main_entry_point(tmp_path, capsys):
    from gateway.cli import main

    assert main(["users", "list", "--data-dir", str(tmp_path)]) == 0
    assert "admin" in capsys.readouterr().out
