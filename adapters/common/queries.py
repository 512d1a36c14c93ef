"""One builder of the interface's client queries for every dialect's filters.

Which query parameter fills which ``ClientQuery`` field is the crosswalk's ``CLIENT_FILTERS`` table;
how its text is read is its kind, here. A value that cannot be read is a ``FilterError`` naming the
parameter, the value and what was expected, which each dialect words in its own envelope. The broker
checks the query again (``BrokerControl.list_clients``): this only turns text into typed values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from schemas.records import CONN_STATES, ClientQuery

from .fields import CLIENT_FILTERS

_BOOLS = {"true": True, "false": False}


class FilterError(ValueError):
    def __init__(self, param: str, value: Any, expected: str) -> None:
        super().__init__(f"{param}: expected {expected}, got {value!r}")
        self.param = param
        self.value = value
        self.expected = expected  # "integer" | "boolean" | "time" | "conn_state"


def _one(value: Any) -> Any:
    return value[-1] if isinstance(value, list) else value


def client_query(values: Mapping[str, Any], dialect: str, *, read_time: Callable[[str], float]) -> ClientQuery:
    """The query ``values`` (parameter -> text, a list of texts, or a value the dialect already typed)
    ask for in ``dialect``'s names; ``read_time`` reads that dialect's time format (ValueError if bad)."""
    fields: dict[str, Any] = {}
    for f in CLIENT_FILTERS:
        param = f.name(dialect)
        if param is None or param not in values or f.attr in fields:
            continue
        raw = values[param]
        kind = f.kind
        if kind == "list":
            fields[f.attr] = list(raw) if isinstance(raw, list) else [raw]
            continue
        raw = _one(raw)
        if not isinstance(raw, str):
            fields[f.attr] = raw
        elif kind == "int":
            try:
                fields[f.attr] = int(raw)
            except ValueError:
                raise FilterError(param, raw, "integer") from None
        elif kind == "bool":
            if raw not in _BOOLS:
                raise FilterError(param, raw, "boolean")
            fields[f.attr] = _BOOLS[raw]
        elif kind == "time":
            try:
                fields[f.attr] = read_time(raw)
            except ValueError:
                raise FilterError(param, raw, "time") from None
        elif kind == "conn_state":
            if raw not in CONN_STATES:
                raise FilterError(param, raw, "conn_state")
            fields[f.attr] = raw
        else:
            fields[f.attr] = raw
    return ClientQuery(**fields)


def filtered(values: Mapping[str, Any], dialect: str) -> bool:
    """Whether ``values`` name any client filter of ``dialect`` (EMQX 4 reports no count then)."""
    return any(f.name(dialect) in values for f in CLIENT_FILTERS if f.name(dialect) is not None)
