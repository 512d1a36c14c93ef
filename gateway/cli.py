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
from broker.control import BrokerController
from broker.core import Broker
from broker.server import MQTTServer

from . import config as config_mod

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
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return p


def _fail(message: str) -> int:
    print(f"emqgw: {message}", file=sys.stderr)
    return EXIT_USAGE


def _build_config(args) -> config_mod.GatewayConfig:
    cfg = config_mod.load(args.config)
    if args.node_name:
        cfg.broker.node_name = args.node_name
    if args.data_dir:
        cfg.data_dir = args.data_dir
    if args.mqtt_port is not None:
        config_mod.set_listener_port(cfg.broker, "tcp", args.mqtt_port)
    if args.ws_port is not None:
        config_mod.set_listener_port(cfg.broker, "ws", args.ws_port)
    return cfg


async def _serve(cfg: config_mod.GatewayConfig) -> int:
    try:
        Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
        broker = Broker(cfg.broker)
    except AclSyntaxError as e:
        return _fail(f"bad ACL file: {e}")
    except OSError as e:
        return _fail(f"{e.filename or cfg.data_dir}: {e.strerror or e}")
    server = MQTTServer(broker)
    BrokerController(broker, server)
    try:
        await server.start()
    except OSError as e:
        return _fail(f"cannot start listeners: {e.strerror or e}")
    for lst in server.listeners.values():
        if lst.running:
            c = lst.config
            suffix = c.path if c.type in ("ws", "wss") else ""
            print(f"listening: mqtt {c.type} {c.bind}:{lst.port}{suffix}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # Clients are closed with "server shutting down"; their wills go out before we exit.
    await server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
