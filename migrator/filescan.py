"""One chunked read of a big migration file: its checksums and the facts discovery needs.

A 300 MB data file is never held whole: memory stays at a few chunks whatever the file's
size, and each byte is looked at by a handful of C-speed passes (hash, UTF-8 check, NUL
search, counts), never by a Python loop or a case-insensitive regex over the whole text.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from migrator.checksum import ChecksumStream

CHUNK = 1 << 18
_AHEAD = 4096  # bytes after a statement's end in which the next one's first words are sought
_BACK = 4096  # bytes kept before the scan position, for line starts
_WORD_SPAN = 256  # after the comments, the first words of a statement fit in this many bytes
_DENSE = 500  # more statement ends than this in a chunk: scan the whole chunk for the words

# Whitespace and comments before a statement's first word (a MySQL /*! comment is code).
_SKIP = re.compile(rb"(?:[ \t\n\r\f\v]+|(?:--|#)[^\n]*|/\*(?!M?!)[\s\S]*?\*/)*")
_DIRECTIVE_PREFIX = re.compile(rb"[ \t]*--[ \t]*$")


@dataclass
class BigFileScan:
    checksum: str
    text_sha: str
    head: str  # the first chunk, decoded: it holds the directive header
    may_break_rules: bool  # could a statement start with one of `rule_words`?
    late_directive_lines: list[tuple[int, int, str]] = field(default_factory=list)
    # (line number, byte offset of the line, line text) of `-- migrator:` lines anywhere
    invalid_utf8_at: int | None = None  # byte offset of the first invalid UTF-8 sequence
    nul_at: int | None = None  # byte offset of the first NUL byte


def scan_big_file(fh: BinaryIO, first: bytes, rule_words: tuple[str, ...]) -> BigFileScan:
    """Read `fh` to the end in chunks, `first` being what was already read from its start."""
    scanner = _Scanner(tuple(w.encode() for w in rule_words))
    sums = ChecksumStream()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = ""
    offset = 0  # file offset of `chunk`
    invalid_at = None
    nul_at = None
    chunk = first
    while True:
        following = fh.read(CHUNK)
        sums.feed(chunk)
        if nul_at is None:
            found = chunk.find(b"\0")  # memchr: a NUL is valid UTF-8, so the decoder lets it by
            nul_at = None if found == -1 else offset + found
        if invalid_at is None:
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk, final=not following)
            except UnicodeDecodeError as exc:
                invalid_at = offset - pending + exc.start
            else:
                head = head or text
        scanner.feed(chunk, last=not following)
        if not following:
            break
        offset += len(chunk)
        chunk = following
    checksum, text_sha = sums.digests()
    return BigFileScan(
        checksum,
        text_sha,
        head.removeprefix("\ufeff"),
        scanner.may_break,
        scanner.directive_lines,
        invalid_at,
        nul_at,
    )


class _Scanner:
    """Where could a statement start (the file's start, after each `;`), and does one of the
    rule words appear among its first words? A superset: comments and quoted `;` only add
    false alarms, which cost a full lexer pass later, never a missed rule. Also collects
    every line that could be a `-- migrator:` directive."""

    def __init__(self, words: tuple[bytes, ...]) -> None:
        self.words = words
        self.may_break = False
        self.directive_lines: list[tuple[int, int, str]] = []
        self.window = b""
        self.window_offset = 0  # file offset of window[0]
        self.window_line = 1  # line number at window[0]
        self.scan_from = 0  # window index of the first byte not yet scanned
        self.started = False

    def feed(self, chunk: bytes, *, last: bool) -> None:
        window = self.window + chunk
        limit = len(window) if last else max(self.scan_from, len(window) - _AHEAD)
        if not self.may_break:
            if not self.started:
                self.started = True
                self._statement_at(window, 0, last)
            self._statement_ends(window, self.scan_from, limit, last)
        self._directive_mentions(window, self.scan_from, limit)
        keep = max(0, limit - _BACK)
        self.window_line += window.count(b"\n", 0, keep)
        self.window_offset += keep
        self.window = window[keep:]
        self.scan_from = limit - keep

    def _statement_ends(self, window: bytes, start: int, limit: int, last: bool) -> None:
        if window.count(b";", start, limit) > _DENSE:  # many short statements: one pass
            upper = window[max(0, start - 16) : min(len(window), limit + _WORD_SPAN)].upper()
            self.may_break = b"\\" in upper or any(w in upper for w in self.words)
            return
        at = window.find(b";", start, limit)
        while at != -1 and not self.may_break:
            self._statement_at(window, at + 1, last)
            at = window.find(b";", at + 1, limit)

    def _statement_at(self, window: bytes, at: int, last: bool) -> None:
        region = window[at : at + _AHEAD]
        words_from = _SKIP.match(region).end()  # type: ignore[union-attr]  # always matches
        if words_from == len(region) and not last:
            self.may_break = True  # comments longer than we look ahead: let the lexer decide
            return
        seen = region[: words_from + _WORD_SPAN].upper()
        self.may_break = region[words_from : words_from + 1] == b"\\" or any(w in seen for w in self.words)

    def _directive_mentions(self, window: bytes, start: int, limit: int) -> None:
        lower = window[start : limit + 8].lower()
        at = lower.find(b"migrator")
        while at != -1 and start + at < limit:
            hit = start + at
            line_start = window.rfind(b"\n", 0, hit) + 1
            if _DIRECTIVE_PREFIX.match(window, line_start, hit):
                line_end = window.find(b"\n", hit)
                text = window[line_start : line_end if line_end != -1 else len(window)]
                number = self.window_line + window.count(b"\n", 0, line_start)
                self.directive_lines.append(
                    (number, self.window_offset + line_start, text.decode("utf-8", "replace").strip())
                )
            at = lower.find(b"migrator", at + 1)
