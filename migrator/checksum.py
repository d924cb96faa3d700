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
    text = _TRAILING_BLANKS.sub("", text)
    return text.rstrip("\n")


def checksum_text(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def whitespace_only_difference(a: str, b: str) -> bool:
    """True when two texts differ only in what normalisation ignores (or not at all)."""
    return normalise(a) == normalise(b)
