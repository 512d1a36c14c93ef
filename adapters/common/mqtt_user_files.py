"""MQTT user files as EMQX 5 imports them (emqx_authn_mnesia:import_users, 5.8): CSV with a header line, or
a JSON array of objects, the same columns either way.

- plain: ``user_id``, ``password``, ``is_superuser`` (optional);
- hash: ``user_id``, ``password_hash``, ``salt`` (optional, empty without), ``is_superuser`` (optional),
  the hash under the authenticator's algorithm.

``is_superuser`` is true only for ``true`` / ``"true"``. Used by ``POST /api/v5/authentication/{id}/
import_users`` and ``emqgw mqtt-users import``; the errors carry EMQX's reason words.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from schemas.records import MqttUserImport

FORMATS = ("csv", "json")


class UserFileError(ValueError):
    """A file that cannot be imported at all; ``reason`` is EMQX's word for it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def format_of(filename: str) -> str:
    """ "csv" or "json" by the file name's extension; UserFileError otherwise."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in FORMATS:
        raise UserFileError(f"{{unsupported_file_format,{ext or filename}}}")
    return ext


def _superuser(value: Any) -> bool:
    return value is True or value == "true"


def _rows(objects: list[dict], hashed: bool) -> list[MqttUserImport]:
    if not objects:
        raise UserFileError("empty_users")
    secret = "password_hash" if hashed else "password"
    out = []
    for obj in objects:
        if not isinstance(obj, dict) or not isinstance(obj.get("user_id", ""), str):
            raise UserFileError("bad_format")
        if secret not in obj:
            raise UserFileError(
                "hash_import_requires_password_hash_field" if hashed else "plain_import_requires_password_field"
            )
        value, salt = obj[secret], obj.get("salt", "")
        if not isinstance(value, str) or not isinstance(salt, str):
            raise UserFileError("bad_format")
        row = MqttUserImport(user_id=obj.get("user_id", ""), is_superuser=_superuser(obj.get("is_superuser")))
        if hashed:
            row.password_hash, row.salt = value, salt
        else:
            row.password = value
        out.append(row)
    return out


def parse_json(data: Any, hashed: bool) -> list[MqttUserImport]:
    """An already decoded JSON document (an array of objects)."""
    if not isinstance(data, list):
        raise UserFileError("bad_format")
    return _rows(data, hashed)


def parse(data: bytes, fmt: str, hashed: bool) -> list[MqttUserImport]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserFileError("bad_format") from None
    if fmt == "json":
        try:
            return parse_json(json.loads(text), hashed)
        except json.JSONDecodeError:
            raise UserFileError("bad_format") from None
    reader = csv.DictReader(io.StringIO(text))
    try:
        objects = [dict(r) for r in reader]
    except csv.Error:
        raise UserFileError("bad_format") from None
    if reader.fieldnames is not None and "user_id" not in reader.fieldnames:
        raise UserFileError("bad_format")
    if any(None in r or any(v is None for v in r.values()) for r in objects):
        raise UserFileError("bad_format")  # a row with more or fewer fields than the header
    return _rows(objects, hashed)
