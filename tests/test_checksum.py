"""SPEC §5 checksums: what normalisation ignores, and what it must not."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from migrator.checksum import ChecksumStream, checksum_text, normalise, text_sha

BASE = "CREATE TABLE t (\n  id INT\n);\n-- a comment\nINSERT INTO t VALUES (1);"


def test_checksum_is_sha256_of_the_normalised_text() -> None:
    assert checksum_text(BASE + "\n") == hashlib.sha256(BASE.encode()).hexdigest()


def test_crlf_bom_trailing_spaces_and_final_newlines_are_not_changes() -> None:
    variants = [
        BASE.replace("\n", "\r\n"),
        "\ufeff" + BASE,
        BASE.replace("\n", "  \n").replace("(1);", "(1);\t "),
        BASE + "\n\n\n",
        BASE.replace("\n", "\r"),
    ]
    for variant in variants:
        assert checksum_text(variant) == checksum_text(BASE), repr(variant)


def test_one_character_or_a_comment_change_is_a_change() -> None:
    assert checksum_text(BASE.replace("(1)", "(2)")) != checksum_text(BASE)
    assert checksum_text(BASE.replace("a comment", "a  comment")) != checksum_text(BASE)
    assert checksum_text("  " + BASE) != checksum_text(BASE)  # leading space is not normalised
    assert checksum_text(BASE.replace("\n);", "\n\n);")) != checksum_text(BASE)  # inner blank line


@given(st.text(alphabet=st.sampled_from("ab ;'\t\r\n"), max_size=40))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert "\r" not in once and not once.endswith("\n")


_TRICKY = st.text(
    alphabet=st.sampled_from(["a", "é", ";", " ", "\t", "\r", "\n", "\ufeff", "\x0c"]), max_size=60
)


@given(_TRICKY, st.lists(st.integers(min_value=1, max_value=9), max_size=12))
def test_streamed_checksums_equal_the_whole_text_ones(text: str, cuts: list[int]) -> None:
    """Big files are checksummed in byte chunks: the result must be exactly what the whole-text
    functions give (a changed checksum would flag every applied big file as edited)."""
    raw = text.encode("utf-8")
    stream = ChecksumStream()
    first = 6 + (cuts[0] if cuts else 0)  # the first chunk holds the BOM, as discovery's does
    chunks, at = [raw[:first]], first
    for cut in cuts[1:]:
        chunks.append(raw[at : at + cut])
        at += cut
    chunks.append(raw[at:])
    for chunk in chunks:
        stream.feed(chunk)
    decoded = text.removeprefix("\ufeff")
    assert stream.digests() == (checksum_text(decoded), text_sha(decoded))
