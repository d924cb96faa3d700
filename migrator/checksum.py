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


def explain_change(applied: str | None, current: str, rel: str) -> tuple[str, bool]:
    """A unified diff from the applied text to the file now, and whether the two differ only
    in whitespace. ("", False) when the applied text was not stored."""
    import difflib

    if applied is None:
        return "", False
    only_whitespace = "".join(applied.split()) == "".join(current.split())
    diff = "".join(difflib.unified_diff(
        applied.splitlines(keepends=True), current.splitlines(keepends=True),
        fromfile=f"{rel} (applied)", tofile=f"{rel} (now)"))
    return diff, only_whitespace
