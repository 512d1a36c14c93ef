"""A reader of Erlang terms files (``file:consult`` form), as EMQX's ``acl.conf`` is written.

Only what such files use: atoms (bare or quoted), strings with Erlang's escapes, integers, tuples and
lists, each top-level term ending in ``.``; ``%`` starts a comment. Anything else is an error rather
than a guess, so a file accepted here means the same to Erlang. Every term carries the line it
starts on, for error messages; what the terms mean is the caller's business (``broker.acl``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs


class TermSyntaxError(ValueError):
    """Text that is not a sequence of terms, or terms a caller cannot use; the message starts with
    ``source:line:``."""

    def __init__(self, message: str, *, source: str = "<terms>", line: int = 0):
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line
        self.reason = message


@attrs.frozen
class Atom:
    name: str
    line: int


@attrs.frozen
class Str:
    value: str
    line: int


@attrs.frozen
class Int:
    value: int
    line: int


@attrs.frozen
class Tuple:
    items: tuple[Term, ...]
    line: int


@attrs.frozen
class List:
    items: tuple[Term, ...]
    line: int


Term = Atom | Str | Int | Tuple | List

_SPACE = re.compile(r"[ \t\r\f\v]+")
_ATOM = re.compile(r"[a-z][A-Za-z0-9_@]*")
_INT = re.compile(r"[0-9]+")
_PUNCT = "{}[],."
# Erlang's string escapes; anything else after a backslash is rejected, because Erlang would silently
# drop the backslash (so "\." in a regex would turn into ".").
_ESCAPES = {
    "b": "\b",
    "d": "\x7f",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "s": " ",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
_OCTAL = re.compile(r"[0-7]{1,3}")
_HEX2 = re.compile(r"[0-9a-fA-F]{2}")
_HEXBRACE = re.compile(r"\{([0-9a-fA-F]+)\}")


class _Reader:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.pos = 0
        self.line = 1

    def error(self, message: str, line: int | None = None) -> TermSyntaxError:
        return TermSyntaxError(message, source=self.source, line=self.line if line is None else line)

    # tokens: (kind, value, line); kind is "atom", "str", "int", one of _PUNCT, or "eof"
    def token(self) -> tuple[str, str, int]:
        text = self.text
        while True:
            m = _SPACE.match(text, self.pos)
            if m:
                self.pos = m.end()
            if self.pos >= len(text):
                return "eof", "", self.line
            ch = text[self.pos]
            if ch == "\n":
                self.line += 1
                self.pos += 1
            elif ch == "%":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break
        line = self.line
        if ch in _PUNCT:
            self.pos += 1
            return ch, ch, line
        if ch == '"':
            return "str", self.quoted('"'), line
        if ch == "'":
            return "atom", self.quoted("'"), line
        m = _ATOM.match(text, self.pos)
        if m:
            self.pos = m.end()
            return "atom", m.group(), line
        m = _INT.match(text, self.pos)
        if m:
            self.pos = m.end()
            return "int", m.group(), line
        if ch.isupper() or ch == "_":
            raise self.error(f"unexpected {ch!r}: Erlang variables are not allowed; write strings in double quotes")
        raise self.error(f"unexpected character {ch!r}")

    def quoted(self, quote: str) -> str:
        text = self.text
        start_line = self.line
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(text):
                kind = "string" if quote == '"' else "quoted atom"
                raise self.error(f"unterminated {kind}", start_line)
            ch = text[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch == "\n":
                self.line += 1
            if ch != "\\":
                out.append(ch)
                continue
            out.append(self.escape())

    def escape(self) -> str:
        text = self.text
        if self.pos >= len(text):
            raise self.error("unterminated string")
        ch = text[self.pos]
        if ch in _ESCAPES:
            self.pos += 1
            return _ESCAPES[ch]
        m = _OCTAL.match(text, self.pos)
        if m:
            self.pos = m.end()
            return chr(int(m.group(), 8))
        if ch == "x":
            m = _HEXBRACE.match(text, self.pos + 1) or _HEX2.match(text, self.pos + 1)
            if m:
                self.pos = m.end()
                return chr(int(m.group(1) if m.re is _HEXBRACE else m.group(), 16))
        if ch == "^" and self.pos + 1 < len(text) and text[self.pos + 1].isalpha():
            self.pos += 2
            return chr(ord(text[self.pos - 1]) & 0x1F)
        raise self.error(f"unknown escape '\\{ch}' in string (for a regex backslash write '\\\\{ch}')")

    def terms(self) -> Iterator[Term]:
        """Top-level terms, each required to end in '.'."""
        while True:
            kind, value, line = self.token()
            if kind == "eof":
                return
            term = self.term(kind, value, line)
            kind, value, end_line = self.token()
            if kind != ".":
                got = "end of file" if kind == "eof" else repr(value)
                raise self.error(f"expected '.' after the rule that starts on line {line}, got {got}", end_line)
            yield term

    def term(self, kind: str, value: str, line: int) -> Term:
        if kind == "atom":
            return Atom(value, line)
        if kind == "str":
            return Str(value, line)
        if kind == "int":
            return Int(int(value), line)
        if kind == "{":
            return Tuple(self.sequence("}"), line)
        if kind == "[":
            return List(self.sequence("]"), line)
        got = "end of file" if kind == "eof" else repr(value)
        raise self.error(f"expected a term, got {got}", line)

    def sequence(self, close: str) -> tuple[Term, ...]:
        items: list[Term] = []
        kind, value, line = self.token()
        if kind == close:
            return ()
        while True:
            items.append(self.term(kind, value, line))
            kind, value, line = self.token()
            if kind == close:
                return tuple(items)
            if kind != ",":
                got = "end of file" if kind == "eof" else repr(value)
                raise self.error(f"expected ',' or '{close}', got {got}", line)
            kind, value, line = self.token()


def show(term: Term) -> str:
    """A term as it would be written, for error messages."""
    if isinstance(term, Atom):
        return term.name if _ATOM.fullmatch(term.name) else f"'{term.name}'"
    if isinstance(term, Str):
        return f'"{term.value}"'
    if isinstance(term, Int):
        return str(term.value)
    if isinstance(term, Tuple):
        return "{" + ", ".join(show(t) for t in term.items) + "}"
    return "[" + ", ".join(show(t) for t in term.items) + "]"


def read_terms(text: str, source: str = "<terms>") -> Iterator[Term]:
    """The top-level terms of ``text`` one by one; TermSyntaxError names ``source`` and the line."""
    return _Reader(text, source).terms()
