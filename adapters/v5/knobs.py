"""EMQX 5's configuration documents over ``BrokerConfig``: each field of a document is a knob that
either reads and writes a broker setting in EMQX's format, or states a fact about this broker.

A document is a dict of knobs and nested documents (``Doc``). From it come its JSON schema (served in
the OpenAPI document and used to check request bodies), its rendering from a configuration, and the
changes a PUT body makes, with EMQX's PUT semantics (auth-config-apis.md §4): a field left out of a
(sub-)document gets its default, not its previous value.

A fact is what this broker does where EMQX has a knob we do not (`ignore_loop_deliver`: loops are
delivered, `mqueue_priorities`: none): it is shown, and a PUT may repeat it, but another value is
NotSupported, never stored and silently ignored. Where two EMQX fields are one setting here
(`cpu_check_interval` and `mem_check_interval` are both `os_check_interval`), they must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import attrs

from adapters.common import units
from schemas.errors import InvalidArgument, NotSupported
from schemas.records import BrokerConfig

_DEFAULTS = BrokerConfig()


@attrs.define(slots=True, frozen=True)
class Knob:
    """One field: its schema (without the default), how it is shown, how it is taken (None: a fact)."""

    schema: dict
    show: Callable[[BrokerConfig], Any]
    take: Callable[[Any], dict[str, Any]] | None = None
    note: str = ""  # a fact's reason, told to whoever asks for another value
    initial: Any = None  # the default when it is not what a default configuration shows

    def default(self) -> Any:
        return self.show(_DEFAULTS) if self.initial is None else self.initial


Doc = dict[str, Union[Knob, "Doc"]]


def _bad(path: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"{path}: {why}", kind="config", field=path)


# -- knob makers -------------------------------------------------------------------------------


def _attr_knob(attr: str, schema: dict, show: Callable[[Any], Any], read: Callable[[Any], Any]) -> Knob:
    def take(value: Any) -> dict[str, Any]:
        try:
            return {attr: read(value)}
        except units.UnitError as e:
            raise ValueError(str(e)) from None

    return Knob(schema=schema, show=lambda cfg: show(getattr(cfg, attr)), take=take)


def boolean(attr: str) -> Knob:
    return _attr_knob(attr, {"type": "boolean"}, bool, bool)


def integer(attr: str, minimum: int | None = None, maximum: int | None = None) -> Knob:
    schema: dict = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return _attr_knob(attr, schema, int, int)


def number(attr: str) -> Knob:
    return _attr_knob(attr, {"type": "number"}, float, float)


def choice(attr: str, options: tuple) -> Knob:
    return _attr_knob(attr, {"type": "string", "enum": list(options)}, lambda v: v, lambda v: v)


def _whole_seconds(value: Any, sentinel: str | None) -> int:
    seconds = units.duration_or(sentinel, value) if sentinel else units.duration_s(value)
    if seconds != int(seconds):
        raise units.UnitError(f"this broker keeps whole seconds, got {value!r}")
    return int(seconds)


def duration(attr: str, sentinel: str | None = None) -> Knob:
    """A duration in whole seconds; ``sentinel`` ("infinity", "disabled") stands for the record's 0."""
    return _attr_knob(
        attr,
        {"type": "string", "description": 'e.g. "30s", "1h5m"' + (f', or "{sentinel}"' if sentinel else "")},
        (lambda v: units.format_duration_or(sentinel, v)) if sentinel else units.format_duration,
        lambda v: _whole_seconds(v, sentinel),
    )


def size(attr: str) -> Knob:
    return _attr_knob(
        attr, {"type": "string", "description": 'e.g. "64KB", "1MB"'}, units.format_size, units.size_bytes
    )


def count_or_infinity(attr: str) -> Knob:
    """A count whose record 0 is EMQX's "infinity"."""
    schema = {
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": [units.INFINITY]}],
        "description": 'a count, or "infinity"',
    }
    return _attr_knob(attr, schema, units.format_count_or_infinity, units.count_or_infinity)


def percent(attr: str) -> Knob:
    return _attr_knob(attr, {"type": "string", "description": 'e.g. "80%"'}, units.format_percent, units.percent)


def fact(value: Any, why: str) -> Knob:
    """What this broker does where EMQX has a knob it does not: shown, and the only value accepted."""
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}[type(value)]
    # No `enum`: another value is a feature this broker lacks (NotSupported), not a malformed request.
    return Knob(schema={"type": kind, "description": f"only {value!r} here: {why}"}, show=lambda _cfg: value, note=why)


# -- documents ---------------------------------------------------------------------------------


def schema(doc: Doc) -> dict:
    """The JSON schema of a document (defaults included; unknown fields refused)."""
    props = {}
    for name, item in doc.items():
        if isinstance(item, Knob):
            # A fact has no default: left out, it stays what it is (and may follow other settings).
            props[name] = item.schema if item.take is None else {**item.schema, "default": item.default()}
        else:
            props[name] = schema(item)
    return {"type": "object", "properties": props, "additionalProperties": False}


def render(doc: Doc, cfg: BrokerConfig) -> dict:
    return {name: item.show(cfg) if isinstance(item, Knob) else render(item, cfg) for name, item in doc.items()}


def changes(doc: Doc, body: dict, cfg: BrokerConfig, where: str = "") -> dict[str, Any]:
    """The BrokerConfig changes a PUT of ``body`` makes: every field of ``doc`` is taken from the body
    or, when left out, from its default. InvalidArgument for a bad value, NotSupported for a fact
    given another value or for two fields of one setting that disagree."""
    out: dict[str, Any] = {}
    given: dict[str, str] = {}  # attribute -> the field that set it
    for name, item in doc.items():
        path = f"{where}{name}"
        if isinstance(item, Knob):
            # A fact left out stays what it is; a setting left out gets its default.
            default = item.show(cfg) if item.take is None else item.default()
            value = body.get(name, default) if isinstance(body, dict) else default
            if item.take is None:
                if value != item.show(cfg):
                    raise NotSupported(f"{path}: this broker only has {item.show(cfg)!r} ({item.note})", kind="config")
                continue
            try:
                taken = item.take(value)
            except (ValueError, TypeError) as e:
                raise _bad(path, str(e)) from None
        else:
            taken = changes(item, body.get(name, {}) if isinstance(body, dict) else {}, cfg, path + ".")
        for attr, value in taken.items():
            if attr in out and out[attr] != value:
                raise NotSupported(
                    f"{path} and {given[attr]} are one setting here ({attr}): give them the same value",
                    kind="config",
                )
            out[attr] = value
            given.setdefault(attr, path)
    return out


def at_path(doc: Doc, path: str) -> Doc | Knob | None:
    """The sub-document or knob at a dotted path (`os.cpu_check_interval`), None when there is none."""
    item: Doc | Knob = doc
    for part in path.split("."):
        if not isinstance(item, dict) or part not in item:
            return None
        item = item[part]
    return item
