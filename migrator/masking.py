"""Passwords never leave (SPEC §6): one masking for terminal text, JSON documents and history rows.

Two ways a password is found. By shape: a URL's `user:password@` (a password libpq takes
unencoded may hold `@`, `:` and spaces) and a `password=` parameter. By value: every
password a URL parsed in this process carried, wherever it appears (a server's message, a
statement's excerpt), so what the shape misses is still caught.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_remembered: set[str] = set()

# The password runs to the first `@` after which a host ends the URL (a `/`, `?`, `#` or the
# end of the line); failing that, to the first `@` at all. A line break always ends it.
_USERINFO = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)"
    r"(?:.*?(?=@[^@\s/?#]*(?:[/?#]|$))|[^\s@]*?(?=@))",
    re.MULTILINE,
)
# `?password=` in a URL, `password=` in a libpq keyword string
_PASSWORD_PARAM = re.compile(
    r"((?:^|[?&;\s])(?:password|passwd|pwd)=)([^&\s]*)", re.IGNORECASE | re.MULTILINE
)


def remember(secret: str) -> None:
    """Mask this value wherever it appears from now on (a password a URL carried), unless it
    is short or a plain word or number: masking every `postgres` or `2024` of a message
    (postgres:postgres is many a dev setup) would hide more than it protects, and the shapes
    still catch such a password inside a URL."""
    letters = sum(c.isalpha() for c in secret)
    if len(secret) >= 6 and 0 < letters < len(secret):
        _remembered.add(secret)


def mask(text: str) -> str:
    """The text with every password in it, by shape or by value, replaced by ***."""
    if "://" in text:
        text = _USERINFO.sub(rf"\g<head>{MASK}", text)
    if "=" in text:
        text = _PASSWORD_PARAM.sub(rf"\1{MASK}", text)
    for secret in sorted(_remembered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_url(raw: str) -> str:
    """One URL, malformed ones included, with its password replaced: the password is what
    lies between the first `:` after the scheme and the URL's last `@` (as a URL parser reads
    `user:pass@word@host`); a `password=` parameter is masked too."""
    scheme, sep, rest = raw.partition("://")
    at = rest.rfind("@")
    if sep and at != -1 and not rest.startswith("/"):  # (sqlite:///a:b@c.db has no user)
        user, colon, _ = rest[:at].partition(":")
        if colon:
            raw = f"{scheme}://{user}:{MASK}{rest[at:]}"
    return mask(raw)


def mask_data(data: Any) -> Any:
    """A JSON-ready document with every string in it masked."""
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, dict):
        return {key: mask_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_data(value) for value in data]
    return data
