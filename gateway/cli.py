"""`emqgw` command line.

`emqgw serve` runs the embedded broker until SIGINT/SIGTERM. It prints one `listening: ...` line per bound
listener (with the real port when 0 was asked for) so that scripts and tests can find it. Operator
mistakes (bad config, busy port) end with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from broker.acl import AclSyntaxError

from . import cli_accounts, cli_migrate, cli_mqtt_users
from . import config as config_mod
from .accounts import AccountStoreError
from .runtime import GatewayRuntime
from .state_store import StateStoreError

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="emqgw", description="EMQ management APIs v2/v4/v5 over one MQTT broker")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway with its embedded MQTT broker")
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
    serve.add_argument("--mqtt-port", metavar="N", help="MQTT/TCP port (0 = ephemeral, off = disabled)")
    serve.add_argument("--ws-port", metavar="N", help="MQTT/WebSocket port (0 = ephemeral, off = disabled)")
    serve.add_argument("--node-name", metavar="NAME", help="node name, e.g. emqgw@127.0.0.1")
    serve.add_argument("--data-dir", metavar="DIR", help="where state is kept (default ./data)")
    serve.add_argument("--http-port", metavar="N", help="main HTTP listener, all dialects (default 18083)")
    serve.add_argument("--v2-port", metavar="N", help="EMQ 2.x legacy listener (default 8080, off = none)")
    serve.add_argument("--v4-port", metavar="N", help="NanoMQ/EMQX 4 legacy listener (default 8081, off = none)")
    serve.add_argument("--dashboard-dir", metavar="DIR", help="a built EMQ 2.3 dashboard to serve at /")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    cli_accounts.add_parsers(sub)
    cli_mqtt_users.add_parsers(sub)
    cli_migrate.add_parsers(sub)
    return p


def _fail(message: str) -> int:
    print(f"emqgw: {message}", file=sys.stderr)
    return EXIT_USAGE


def _build_config(args) -> config_mod.GatewayConfig:
    cfg = config_mod.load(args.config)
    if args.node_name:
        config_mod.set_node_name(cfg, args.node_name)
    if args.data_dir:
        cfg.data_dir = args.data_dir
    if args.mqtt_port is not None:
        config_mod.set_listener_port(cfg, "tcp", args.mqtt_port)
    if args.ws_port is not None:
        config_mod.set_listener_port(cfg, "ws", args.ws_port)
    for key in ("http_port", "v2_port", "v4_port"):
        value = getattr(args, key)
        if value is not None:
            config_mod.set_http_port(cfg.http, "port" if key == "http_port" else key, value)
    if args.dashboard_dir:
        if not Path(args.dashboard_dir, "index.html").is_file():
            raise config_mod.ConfigError(f"--dashboard-dir {args.dashboard_dir}: no index.html there")
        cfg.http.dashboard_dir = args.dashboard_dir
    return cfg


async def _serve(cfg: config_mod.GatewayConfig) -> int:
    try:
        runtime = GatewayRuntime(cfg)
    except AclSyntaxError as e:
        return _fail(f"bad ACL file: {e}")
    except (AccountStoreError, StateStoreError) as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"{e.filename or cfg.data_dir}: {e.strerror or e}")
    try:
        await runtime.start()
    except OSError as e:
        return _fail(f"cannot start listeners: {e.strerror or e}")
    for line in runtime.listening_lines():
        print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runtime.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "warning").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        try:
            cfg = _build_config(args)
        except config_mod.ConfigError as e:
            return _fail(str(e))
        try:
            import uvloop
        except ImportError:
            return asyncio.run(_serve(cfg))
        return uvloop.run(_serve(cfg))
    if args.command in cli_migrate.COMMANDS:
        return cli_migrate.run(args)
    if args.command == cli_mqtt_users.COMMAND:
        return cli_mqtt_users.run(args)
    return cli_accounts.run(args)


if __name__ == "__main__":
    sys.exit(main())
