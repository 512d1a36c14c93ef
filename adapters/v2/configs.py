"""`configs`: the broker's real settings (BrokerConfig) as 2.3's app `emqttd` (reference §1.4-1.5).

A value arrives as a string, as in 2.3, and is converted to the field's type before
``BrokerControl.apply_config``: a number in the field's own unit (seconds, bytes), or as emq.conf wrote
it (`"30s"`, `"64KB"`, `"80%"`, `"infinity"`; ``adapters.common.units``). An unknown app or key, a
value that does not convert or that the broker refuses, or a key that cannot change without a restart
(listeners, node name) answers `{"code":102}` as 2.3's failed modify did.
"""

from __future__ import annotations

import typing

import attrs

from adapters.common import units
from gateway.http.routes import Call, Param, Routes
from schemas.errors import InvalidArgument
from schemas.records import BrokerConfig

from .envelope import fail, ok
from .params import body_schema

APP = "emqttd"
TAGS = ("configs",)
# Changed only by editing the configuration and restarting (`node_name` is in every path; the ACL file
# is read, and the durability mode taken, when the broker starts).
READ_ONLY = ("node_name", "listeners", "acl_file", "durability", "durability_interval_ms")
# String settings that take one of a few words (2.3 called their datatype "enum").
CHOICES = ("acl_no_match", "durability", "log_level")
MODIFY = body_schema(Param(name="key", type="string", required=True), Param(name="value", type="string", required=True))

_HINTS = typing.get_type_hints(BrokerConfig)
_SCALARS = (bool, int, float, str)


def _base(hint) -> tuple[type | None, bool]:
    """(scalar type, optional) of a field's annotation; (None, _) for lists and records."""
    args = typing.get_args(hint)
    if args:
        kinds = [a for a in args if a is not type(None)]
        return (kinds[0] if len(kinds) == 1 and kinds[0] in _SCALARS else None), type(None) in args
    return (hint if hint in _SCALARS else None), False


FIELDS = {f.name: _base(_HINTS[f.name]) for f in attrs.fields(BrokerConfig) if _base(_HINTS[f.name])[0] is not None}
DATATYPES = {bool: "enum", int: "number", float: "number", str: "string"}


def _text(value) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _convert(key: str, kind: type, optional: bool, text: str):
    if optional and text in ("", "undefined"):
        return None
    with_unit = units.read_setting(key, text)
    if with_unit is not None:
        if kind is int and with_unit != int(with_unit):
            raise ValueError(f"{text}: not a whole number of the setting's unit")
        return kind(with_unit)
    if kind is bool:
        flags = {"true": True, "on": True, "false": False, "off": False}
        if text.lower() not in flags:
            raise ValueError(text)
        return flags[text.lower()]
    return kind(text)


def config_rows(cfg: BrokerConfig) -> list[dict]:
    return [
        {
            "key": name,
            "value": _text(getattr(cfg, name)),
            "datatpye": "enum" if name in CHOICES else DATATYPES[kind],
            "app": APP,
        }
        for name, (kind, _opt) in FIELDS.items()
    ]


routes = Routes(tags=TAGS)


@routes.put("/configs/{app}", body=MODIFY, summary="Change one broker setting (app emqttd)")
@routes.put(
    "/nodes/{node}/configs/{app}",
    name="node_modify",
    body=MODIFY,
    summary="Change one broker setting of a node (app emqttd)",
)
async def modify(call: Call):
    key, value = call.body["key"], call.body["value"]
    if call.args["app"] != APP or key not in FIELDS or key in READ_ONLY:
        raise fail(102)
    kind, optional = FIELDS[key]
    try:
        converted = _convert(key, kind, optional, value)
    except ValueError:  # units.UnitError too
        raise fail(102) from None
    cfg = await call.control.get_config()
    try:
        await call.control.apply_config(attrs.evolve(cfg, **{key: converted}))
    except InvalidArgument:  # the broker's own rules (config_rules): ranges and choices
        raise fail(102) from None
    return ok()


@routes.get("/configs", summary="Broker settings, keyed by node")
async def all_configs(call: Call):
    rows = config_rows(await call.control.get_config())  # the same on every node: it is the cluster's
    return ok({node: rows for node in await call.control.node_names()})


@routes.get("/nodes/{node}/configs", name="node_configs", summary="Broker settings of a node")
async def configs(call: Call):
    return ok(config_rows(await call.control.get_config()))
