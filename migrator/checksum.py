"""SPEC §5 checksums: sha256 of the normalised text, and the offline checksum file."""

from __future__ import annotations

import hashlib
import re

_TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)


def normalise(text: str) -> str:
    """BOM removed, CRLF/CR -> LF, spaces/tabs stripped at line ends, trailing empty lines dropped."""
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # the regex is slow on big files: run it only when a line really ends in a blank
    if " \n" in text or "\t\n" in text or text.endswith((" ", "\t")):
        text = _TRAILING_BLANKS.sub("", text)
    return text.rstrip("\n")


def checksum_text(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def text_sha(text: str) -> str:
    """sha256 of the text exactly as it is: differs from checksum_text's when only
    normalised-away whitespace changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_BOM = "\ufeff".encode("utf-8")
_TRAILING_BLANKS_BYTES = re.compile(rb"[ \t]+$", re.MULTILINE)


class ChecksumStream:
    """checksum_text() and text_sha() of a file fed as byte chunks, equal to what the two give
    for the whole decoded text (BOM removed), while holding only the trailing whitespace seen
    so far. Normalising works on bytes: the characters it touches are ASCII, and UTF-8 never
    uses ASCII bytes inside a multi-byte character. The first chunk must hold the file's
    first six bytes (or all of it)."""

    def __init__(self) -> None:
        self._normalised = hashlib.sha256()
        # The exact text's hash is a copy of the normalised one until normalising changes
        # something: most files then cost one hash pass, not two.
        self._exact: hashlib._Hash | None = None
        self._carry = b""  # trailing blanks and line breaks: dropped if the file ends here
        self._first = True

    def feed(self, chunk: bytes) -> None:
        if self._first:
            self._first = False
            chunk = chunk.removeprefix(_BOM)  # the decoded text starts after one BOM...
            if chunk.startswith(_BOM):  # ...and normalise() removes a second one
                self._exact = hashlib.sha256(_BOM)
                self._exact.update(chunk[len(_BOM) :])
                chunk = chunk[len(_BOM) :]
                self._feed_normalised(chunk)
                return
        if self._exact is not None:
            self._exact.update(chunk)
        self._feed_normalised(chunk)

    def _feed_normalised(self, chunk: bytes) -> None:
        data = self._carry + chunk if self._carry else chunk
        end = len(data.rstrip(b" \t\r\n"))
        self._carry = data[end:]
        if not end:
            return
        # (one-byte searches are memchr-fast; two-byte ones are not, so a tab is looked for first)
        changes = (
            data.find(b"\r", 0, end) != -1,
            data.find(b" \n", 0, end) != -1
            or (data.find(b"\t", 0, end) != -1 and data.find(b"\t\n", 0, end) != -1),
        )
        if not any(changes):  # the usual case: hash the bytes as they are, no copy
            self._normalised.update(memoryview(data)[:end])
            return
        normalised = data[:end]
        if changes[0]:
            normalised = normalised.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        normalised = _TRAILING_BLANKS_BYTES.sub(b"", normalised)
        if self._exact is None:
            # exact so far = normalised so far + the carry before this chunk; then the chunk
            self._exact = self._normalised.copy()
            self._exact.update(data)
        self._normalised.update(normalised)

    def digests(self) -> tuple[str, str]:
        """(checksum, text_sha) of everything fed."""
        exact = self._exact
        if exact is None:
            exact = self._normalised.copy()
            exact.update(self._carry)
        return self._normalised.hexdigest(), exact.hexdigest()


def explain_change(applied: str | None, current: str, rel: str) -> tuple[str, bool]:
    """A unified diff from the applied text to the file now, and whether the two differ only
    in whitespace. ("", False) when the applied text was not stored."""
    import difflib

    if applied is None:
        return "", False
    only_whitespace = "".join(applied.split()) == "".join(current.split())
    diff = "".join(
        difflib.unified_diff(
            applied.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"{rel} (applied)",
            tofile=f"{rel} (now)",
        )
    )
    return diff, only_whitespace
