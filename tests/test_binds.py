"""A listener's bind as EMQX writes it, read the same by the configuration file, `/api/v5` and the
upstream control (schemas.binds)."""

import pytest

from gateway.config import ConfigError, load
from schemas.binds import format_bind, parse_bind


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:1883", ("127.0.0.1", 1883)),
        ("[::1]:8883", ("::1", 8883)),
        ("1883", ("0.0.0.0", 1883)),
        (":1883", ("0.0.0.0", 1883)),
        (" 0.0.0.0:0 ", ("0.0.0.0", 0)),
    ],
)
def test_binds_read(text, expected):
    assert parse_bind(text) == expected
    host, port = expected
    assert parse_bind(format_bind(host, port)) == expected


@pytest.mark.parametrize("text", ["", "nope", "host:", "host:65536", "host:-1", "host:²", "1.5"])
def test_what_is_no_bind(text):
    assert parse_bind(text) is None


def test_the_configuration_file_reads_binds_as_emqx_writes_them(tmp_path):
    path = tmp_path / "emqgw.toml"
    path.write_text('[listeners.tcp.default]\nbind = "[::1]:1884"\n[listeners.ws.default]\nbind = "8084"\n')
    listeners = {lc.type: (lc.bind, lc.port) for lc in load(str(path), environ={}).broker.listeners}
    assert listeners == {"tcp": ("::1", 1884), "ws": ("0.0.0.0", 8084)}
    path.write_text('[listeners.tcp.default]\nbind = "localhost:http"\n')
    with pytest.raises(ConfigError, match="listeners.tcp.default.bind"):
        load(str(path), environ={})
