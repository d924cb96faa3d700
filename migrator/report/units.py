"""How counts and durations are written, the same in every line a person reads."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 version`, `2 versions`, `0 rows`; `many` for irregular words (`batch`, `batches`)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def duration(ms: float) -> str:
    """One unit rule: milliseconds below a second, seconds with a tenth below a minute, then
    minutes and seconds: `<1 ms`, `85 ms`, `8.7 s`, `2 min 05 s`, `1 h 02 min`."""
    if ms < 0.5:
        return "<1 ms"
    if ms < 999.5:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
