"""JSON listings assembled from rows encoded once (``adapters.common.rows`` remembers them per record).

A listing's body is its envelope's bytes around its rows joined with commas: no row is encoded again,
and the ETag comes from the rows' own checksums (taken once, when the row was encoded) and the
envelope's, so the body is not read a second time to hash it. The manners use that ETag as they use
the one they compute for any other answer.

``listing`` answers with the body built whole (``rows_answer``) for a page of up to STREAM_ROWS rows,
and written in chunks (``RowStream``) beyond: a listing of everything (NanoMQ's `/clients`: 10,000
clients are 1.36 MB; EMQX 4's default page is 10,000 rows) never holds more than one chunk of its body.
Both answer `pretty` with the layout ``orjson.OPT_INDENT_2`` gives the whole document.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from aiohttp import web

# Where the rows go in an envelope: orjson escapes every control character in what it encodes, so
# this byte cannot come from anything else in the document.
_MARK = b"\x00"
ROWS = orjson.Fragment(_MARK)
# Pages longer than this are streamed: building a body whole is a little faster, streaming bounds memory.
STREAM_ROWS = 1000
# Bytes per write of a streamed listing (about: whole rows are written).
CHUNK = 64 * 1024
# Rows read at a time while a streamed listing's length and ETag are taken.
_BATCH = 512


class EncodedRow:
    """One row's JSON and its CRC-32; ``remembered`` once a memo keeps it (``adapters.common.rows``)."""

    __slots__ = ("json", "crc", "remembered")

    def __init__(self, json: bytes):
        self.json = json
        self.crc = zlib.crc32(json)
        self.remembered = False


def _split(envelope: Any) -> tuple[bytes, bytes]:
    """The envelope's bytes before and after its rows (``ROWS`` marks where they go), brackets included."""
    head, tail = orjson.dumps(envelope).split(_MARK)
    return head + b"[", b"]" + tail


def _etag(head: bytes, tail: bytes, crcs: array, length: int) -> str:
    crc = zlib.crc32(crcs.tobytes(), zlib.crc32(tail, zlib.crc32(head)))
    return f'"{length:x}-{crc:08x}"'


def listing(envelope: Any, items: Sequence[Any], row: Callable[[Any], EncodedRow]) -> web.StreamResponse:
    """A 200 JSON answer: ``envelope`` (a JSON value with ``ROWS`` in it) holding the rows of ``items``,
    ``row(item)`` encoding (or remembering) each."""
    if len(items) > STREAM_ROWS:
        return RowStream(envelope, items, row)
    return rows_answer(envelope, [row(item) for item in items])


def rows_answer(envelope: Any, rows: Sequence[EncodedRow]) -> web.Response:
    """A 200 JSON answer: ``envelope`` (a JSON value with ``ROWS`` in it) holding ``rows``."""
    head, tail = _split(envelope)
    body = b"".join((head, b",".join([r.json for r in rows]), tail))
    resp = web.Response(body=body, content_type="application/json")
    resp.headers["ETag"] = _etag(head, tail, array("I", [r.crc for r in rows]), len(body))
    return resp


def pretty_rows(envelope: Any, rows: Iterable[bytes]) -> Iterable[bytes]:
    """The pretty form of ``envelope`` holding ``rows`` (JSON each), piece by piece: the layout
    ``orjson.dumps(document, option=OPT_INDENT_2)`` gives the whole document."""
    layout = orjson.dumps(envelope, option=orjson.OPT_INDENT_2)
    at = layout.index(_MARK)
    line = layout[layout.rindex(b"\n", 0, at) + 1 : at]
    outer = line[: len(line) - len(line.lstrip(b" "))]
    inner = outer + b"  "
    first = True
    for row in rows:
        pretty = orjson.dumps(orjson.loads(row), option=orjson.OPT_INDENT_2).replace(b"\n", b"\n" + inner)
        yield (layout[:at] + b"[\n" if first else b",\n") + inner + pretty
        first = False
    after = layout[at + len(_MARK) :]
    yield (layout[:at] + b"[]" if first else b"\n" + outer + b"]") + after


class RowStream(web.StreamResponse):
    """A 200 JSON listing written in chunks of rows, with its length and ETag known before the first.

    ``row(item)`` is the encoded row of each of ``items``. The rows are read once for the length and
    ETag; the remembered ones (``EncodedRow.remembered``: in memory anyway) are held for the writing,
    the others are asked for again then rather than held, so the answer never holds more of the rows
    encoded for it alone than one chunk.
    """

    def __init__(self, envelope: Any, items: Sequence[Any], row: Callable[[Any], EncodedRow]):
        super().__init__(status=200)
        self.content_type = "application/json"
        self._envelope = envelope
        self._items = items
        self._row = row
        self._head, self._tail = _split(envelope)
        crcs = array("I")
        length = len(self._head) + len(self._tail) + max(len(items) - 1, 0)
        held: list[EncodedRow | None] = []
        for start in range(0, len(items), _BATCH):
            rows = [row(item) for item in items[start : start + _BATCH]]
            crcs.extend([r.crc for r in rows])
            length += sum([len(r.json) for r in rows])
            held += [r if r.remembered else None for r in rows]
        self._held = held
        self.content_length = length
        self.headers["ETag"] = _etag(self._head, self._tail, crcs, length)
        # Rows per write: about CHUNK bytes of them.
        self._per_write = max(1, CHUNK * len(items) // max(length, 1))
        self._pretty = False
        self._with_body = True

    def make_pretty(self) -> None:
        self._pretty = True
        self.content_length = None  # chunked: the pretty length is only known once written

    async def prepare(self, request: web.BaseRequest):
        self._with_body = request.method != "HEAD"
        return await super().prepare(request)

    async def write_eof(self, data: bytes = b"") -> None:
        if self._with_body and self.prepared:
            if self._pretty:
                for piece in pretty_rows(self._envelope, self._rows()):
                    await self.write(piece)
            else:
                await self._write_compact()
        await super().write_eof(data)

    def _rows(self) -> Iterable[bytes]:
        row = self._row
        for held, item in zip(self._held, self._items, strict=True):
            yield held.json if held is not None else row(item).json

    async def _write_compact(self) -> None:
        items, held, row, step = self._items, self._held, self._row, self._per_write
        pending = self._head
        for start in range(0, len(items), step):
            end = start + step
            batch = zip(held[start:end], items[start:end], strict=True)
            await self.write(pending + b",".join([h.json if h is not None else row(i).json for h, i in batch]))
            pending = b","
        await self.write(self._tail if items else self._head + self._tail)
