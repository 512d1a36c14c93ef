"""MQTT authentication against the built-in credential database and the authenticator chain: real broker,
real paho clients, users made through the control interface every dialect uses."""

import hashlib

import attrs
import pytest

from broker import authn_hashing
from schemas.errors import Conflict, InvalidArgument, LimitExceeded, NotFound, NotSupported
from schemas.records import (
    BUILT_IN_DATABASE,
    DASHBOARD_ACCOUNTS,
    AuthenticatorConfig,
    MqttUserImport,
    MqttUserQuery,
    PasswordHash,
)
from tests.mqtt_helpers import Client

ALGORITHMS = [
    PasswordHash(name=name, salt_position=pos)
    for name in ("plain", "md5", "sha", "sha256", "sha512")
    for pos in ("disable", "prefix", "suffix")
] + [
    PasswordHash(name="bcrypt", salt_rounds=5),
    PasswordHash(name="pbkdf2", mac_fun="sha256", iterations=1000, dk_length=32),
    PasswordHash(name="pbkdf2", mac_fun="sha", iterations=10),
]


def rc_of(b, **kw):
    """The CONNACK reason code an MQTT 5 client gets."""
    c = Client(b, v5=True, connect=False, **kw)
    _, rc, _ = c.connect(expect_ok=False)
    c.c.loop_stop()
    return rc.value


def set_algorithm(b, algo: PasswordHash):
    cfg = b.run(b.control.get_authenticator(BUILT_IN_DATABASE))
    b.run(b.control.update_authenticator(BUILT_IN_DATABASE, attrs.evolve(cfg, password_hash=algo)))


@pytest.mark.parametrize("algo", ALGORITHMS, ids=lambda a: f"{a.name}-{a.salt_position}-{a.mac_fun}")
def test_every_hash_algorithm_lets_the_right_password_in(make_broker, algo):
    b = make_broker(allow_anonymous=False)
    set_algorithm(b, algo)
    b.run(b.control.add_mqtt_user("username", "alice", "s3cret"))
    assert rc_of(b, username="alice", password="s3cret") == 0
    assert rc_of(b, username="alice", password="wrong") == 0x86
    assert rc_of(b, username="alice") == 0x86  # a known user without a password


def test_hashes_are_emqx_5s():
    """sha256 with the salt first is hex(sha256(salt + password)); the salt is 32 hex characters."""
    hashed, salt, algo = authn_hashing.hash_password(PasswordHash(), "pw")
    assert len(salt) == 32 and int(salt, 16) >= 0
    assert hashed == hashlib.sha256(salt.encode() + b"pw").hexdigest() and algo == PasswordHash()
    suffix = PasswordHash(name="md5", salt_position="suffix")
    hashed, salt, _ = authn_hashing.hash_password(suffix, "pw")
    assert hashed == hashlib.md5(b"pw" + salt.encode()).hexdigest()
    pbkdf2 = PasswordHash(name="pbkdf2", mac_fun="sha512", iterations=7, dk_length=20)
    hashed, salt, _ = authn_hashing.hash_password(pbkdf2, "pw")
    assert hashed == hashlib.pbkdf2_hmac("sha512", b"pw", salt.encode(), 7, 20).hex()
    # `plain` never keeps the password: it is stored as salted SHA-256, and a plain row imported from
    # EMQX (the salted password itself) still checks.
    hashed, salt, algo = authn_hashing.hash_password(PasswordHash(name="plain"), "pw")
    assert "pw" not in hashed and algo.name == "sha256"
    assert authn_hashing.verify(PasswordHash(name="plain"), b"pw", "abcpw", "abc")
    assert not authn_hashing.verify(PasswordHash(name="plain"), b"px", "abcpw", "abc")


def test_bad_hash_settings_are_refused_and_change_nothing(make_broker):
    b = make_broker()
    before = b.run(b.control.get_authenticator(BUILT_IN_DATABASE))
    for bad in (
        PasswordHash(name="sha3"),
        PasswordHash(name="sha256", salt_position="middle"),
        PasswordHash(name="bcrypt", salt_rounds=11),
        PasswordHash(name="pbkdf2", mac_fun="sha256", iterations=0),
    ):
        with pytest.raises(InvalidArgument):
            set_algorithm(b, bad)
    assert b.run(b.control.get_authenticator(BUILT_IN_DATABASE)) == before
    with pytest.raises(NotSupported):
        b.run(b.control.create_authenticator(AuthenticatorConfig(backend="http")))
    with pytest.raises(NotSupported):
        b.run(b.control.create_authenticator(AuthenticatorConfig(mechanism="jwt")))


def test_changing_the_algorithm_keeps_existing_users_working(make_broker):
    b = make_broker(allow_anonymous=False)
    b.run(b.control.add_mqtt_user("username", "old", "pw-old"))
    set_algorithm(b, PasswordHash(name="sha512", salt_position="suffix"))
    b.run(b.control.add_mqtt_user("username", "new", "pw-new"))
    assert rc_of(b, username="old", password="pw-old") == 0
    assert rc_of(b, username="new", password="pw-new") == 0


def test_clientid_users_and_the_superuser_flag(make_broker):
    b = make_broker(allow_anonymous=False)
    b.run(b.control.add_mqtt_user("clientid", "dev-1", "k", is_superuser=True))
    # EMQX 4's rule: the client id's row is tried too, whatever the username.
    assert rc_of(b, clientid="dev-1", username="anyone", password="k") == 0
    assert rc_of(b, clientid="dev-1", username="anyone", password="x") == 0x86
    assert b.run(b.control.get_mqtt_user("clientid", "dev-1")).is_superuser


def test_unknown_users_fall_to_allow_anonymous(make_broker):
    open_b = make_broker()
    open_b.run(open_b.control.add_mqtt_user("username", "known", "pw"))
    assert rc_of(open_b, username="stranger", password="x") == 0
    closed = make_broker(allow_anonymous=False)
    closed.run(closed.control.add_mqtt_user("username", "known", "pw"))
    assert rc_of(closed, username="stranger", password="x") == 0x87
    status = closed.run(closed.control.authenticator_status(BUILT_IN_DATABASE))
    assert status.counts == {"total": 1, "success": 0, "failed": 0, "nomatch": 1}
    assert closed.metric("authentication.failure") == 1


def test_chain_order_enable_and_metrics(make_broker):
    b = make_broker(allow_anonymous=False)
    b.call(b.broker.attach_account_check, lambda u, p, cid, host: u == "ops" and p == b"dash")
    b.run(b.control.update_authenticator(DASHBOARD_ACCOUNTS, AuthenticatorConfig(backend="dashboard_accounts")))
    b.run(b.control.add_mqtt_user("username", "ops", "db"))
    # The built-in database comes first and knows "ops": its password decides.
    assert rc_of(b, username="ops", password="db") == 0
    assert rc_of(b, username="ops", password="dash") == 0x86
    b.run(b.control.move_authenticator(DASHBOARD_ACCOUNTS, "front"))
    assert [c.id for c in b.run(b.control.authenticators())] == [DASHBOARD_ACCOUNTS, BUILT_IN_DATABASE]
    assert rc_of(b, username="ops", password="dash") == 0
    b.run(
        b.control.update_authenticator(
            DASHBOARD_ACCOUNTS, AuthenticatorConfig(backend="dashboard_accounts", enable=False)
        )
    )
    assert rc_of(b, username="ops", password="db") == 0
    builtin = b.run(b.control.authenticator_status(BUILT_IN_DATABASE)).counts
    accounts = b.run(b.control.authenticator_status(DASHBOARD_ACCOUNTS)).counts
    assert builtin == {"total": 3, "success": 2, "failed": 1, "nomatch": 0}
    assert accounts == {"total": 1, "success": 1, "failed": 0, "nomatch": 0}
    with pytest.raises(InvalidArgument):
        b.run(b.control.move_authenticator(BUILT_IN_DATABASE, "sideways"))
    with pytest.raises(NotFound):
        b.run(b.control.move_authenticator(BUILT_IN_DATABASE, "before:password_based:http"))
    with pytest.raises(InvalidArgument):
        b.run(b.control.order_authenticators([BUILT_IN_DATABASE]))
    with pytest.raises(InvalidArgument):  # the type of an authenticator is fixed
        b.run(b.control.update_authenticator(BUILT_IN_DATABASE, AuthenticatorConfig(backend="dashboard_accounts")))
    with pytest.raises(Conflict):
        b.run(b.control.create_authenticator(AuthenticatorConfig()))


def test_deleting_the_built_in_database_drops_its_users(make_broker):
    b = make_broker(allow_anonymous=False)
    b.run(b.control.add_mqtt_user("username", "u", "pw"))
    b.run(b.control.delete_authenticator(BUILT_IN_DATABASE))
    with pytest.raises(NotFound):
        b.run(b.control.list_mqtt_users(MqttUserQuery(), offset=0, limit=10))
    assert rc_of(b, username="u", password="pw") == 0x87
    b.run(b.control.create_authenticator(AuthenticatorConfig()))
    assert b.run(b.control.list_mqtt_users(MqttUserQuery(), offset=0, limit=10)).items == []


def test_user_crud_paging_and_filters(make_broker):
    b = make_broker()
    for i in range(5):
        b.run(b.control.add_mqtt_user("username", f"user-{i}", "pw", is_superuser=i == 3))
    with pytest.raises(Conflict):
        b.run(b.control.add_mqtt_user("username", "user-1", "other"))
    with pytest.raises(InvalidArgument):
        b.run(b.control.add_mqtt_user("username", "", "pw"))
    with pytest.raises(InvalidArgument):
        b.run(b.control.add_mqtt_user("username", "x", ""))
    page = b.run(b.control.list_mqtt_users(MqttUserQuery(), offset=2, limit=2))
    assert [u.user_id for u in page.items] == ["user-2", "user-3"] and page.total == 5 and page.hasnext
    liked = b.run(b.control.list_mqtt_users(MqttUserQuery(like_user_id="r-4"), offset=0, limit=10))
    assert [u.user_id for u in liked.items] == ["user-4"] and liked.total is None
    supers = b.run(b.control.list_mqtt_users(MqttUserQuery(is_superuser=True), offset=0, limit=10))
    assert [u.user_id for u in supers.items] == ["user-3"]
    b.run(b.control.update_mqtt_user("username", "user-3", is_superuser=False))
    assert not b.run(b.control.get_mqtt_user("username", "user-3")).is_superuser
    b.run(b.control.update_mqtt_user("username", "user-3", password="new"))
    b.run(b.control.delete_mqtt_user("username", "user-0"))
    with pytest.raises(NotFound):
        b.run(b.control.delete_mqtt_user("username", "user-0"))
    assert b.run(b.control.list_mqtt_users(MqttUserQuery(), offset=0, limit=10)).total == 4


def test_import_counts_and_refuses_bad_files_whole(make_broker):
    b = make_broker(allow_anonymous=False)
    b.run(b.control.add_mqtt_user("username", "keep", "pw"))
    rows = [
        MqttUserImport(user_id="keep", password="changed"),
        MqttUserImport(user_id="fresh", password="pw", is_superuser=True),
        MqttUserImport(user_id="", password="pw"),
    ]
    result = b.run(b.control.import_mqtt_users("username", rows, hashed=False))
    assert attrs.asdict(result) == {"total": 3, "success": 2, "override": 1, "skipped": 0, "failed": 1}
    assert rc_of(b, username="keep", password="changed") == 0
    # A hashed import: EMQX's sha256-prefix rows, as exported.
    salt = "0123456789abcdef0123456789abcdef"
    digest = hashlib.sha256((salt + "hpw").encode()).hexdigest()
    row = MqttUserImport(user_id="hashed", password_hash=digest, salt=salt)
    assert b.run(b.control.import_mqtt_users("username", [row], hashed=True)).success == 1
    assert b.run(b.control.import_mqtt_users("username", [row], hashed=True)).skipped == 1
    assert rc_of(b, username="hashed", password="hpw") == 0
    before = b.run(b.control.list_mqtt_users(MqttUserQuery(), offset=0, limit=100)).total
    with pytest.raises(InvalidArgument):  # a hashed import row without its hash
        b.run(b.control.import_mqtt_users("username", [row, MqttUserImport(user_id="n")], hashed=True))
    with pytest.raises(LimitExceeded):
        b.run(
            b.control.import_mqtt_users(
                "username", [MqttUserImport(user_id=f"u{i}", password="p") for i in range(10_001)], hashed=False
            )
        )
    assert b.run(b.control.list_mqtt_users(MqttUserQuery(), offset=0, limit=100)).total == before
