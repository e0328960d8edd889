"""Vietnamese name order: lists of people sorted the way Vietnamese offices sort them.

A full name is written family name first ("Nguyễn Văn An"); lists are ordered by the given
name (the last word), then by the rest from the family name on. Letters follow the
Vietnamese alphabet (a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y, the
foreign f j w z in their Latin places), and a word's tones (none, huyền, sắc, hỏi, ngã,
nặng) only decide between words with the same letters, as in a dictionary: An < Án < Anh.
Case does not matter; the name as written breaks the last ties so the order is total.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

ALPHABET = ("a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m", "n",
            "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z")
_RANK = {letter: rank for rank, letter in enumerate(ALPHABET)}

# Combining marks after NFD: those that make a letter of its own, and the five tones.
_BREVE, _CIRCUMFLEX, _HORN = "\u0306", "\u0302", "\u031b"
_LETTER_MARKS = {("a", _BREVE): "ă", ("a", _CIRCUMFLEX): "â", ("e", _CIRCUMFLEX): "ê",
                 ("o", _CIRCUMFLEX): "ô", ("o", _HORN): "ơ", ("u", _HORN): "ư"}
_TONES = {"\u0300": 1, "\u0340": 1, "\u0301": 2, "\u0341": 2, "\u0309": 3, "\u0303": 4, "\u0323": 5}
# Đ is often typed as the look-alike Icelandic Ð (U+00D0) or African Ɖ (U+0189): the same letter.
_D_BAR = {"đ", "ð", "ɖ"}

WordKey = tuple[tuple[tuple[int, int], ...], tuple[int, ...]]
T = TypeVar("T")


def _word_key(word: str) -> WordKey:
    """(letters, tones) of one word: letters compare first, tones only between equal letters."""
    letters: list[tuple[int, int]] = []
    tones: list[int] = []
    base: str | None = None
    marks: list[str] = []

    def close() -> None:
        if base is None:
            return
        letter = "đ" if base in _D_BAR else base
        tone = 0
        for mark in marks:
            if mark in _TONES:
                tone = tone or _TONES[mark]
            else:
                letter = _LETTER_MARKS.get((letter, mark), letter)
        letters.append((0, _RANK[letter]) if letter in _RANK else (1, ord(letter)))
        tones.append(tone)

    for char in unicodedata.normalize("NFD", word.casefold()):
        if unicodedata.combining(char) and base is not None:
            marks.append(char)
            continue
        close()
        base, marks = char, []
    close()
    return tuple(letters), tuple(tones)


@functools.lru_cache(maxsize=8192)  # pages sort the same people on every request
def name_sort_key(full_name: str) -> tuple[WordKey, tuple[WordKey, ...], str]:
    """Sort key of a Vietnamese full name: given name, then family and middle names, then as written."""
    text = unicodedata.normalize("NFC", full_name)
    words = text.split()
    if not words:
        return ((), ()), (), text
    return _word_key(words[-1]), tuple(_word_key(w) for w in words[:-1]), text


def sort_by_name(items: Iterable[T], name: Callable[[T], str]) -> list[T]:
    """``items`` in Vietnamese name order of ``name(item)`` (stable for equal names)."""
    return sorted(items, key=lambda item: name_sort_key(name(item)))
