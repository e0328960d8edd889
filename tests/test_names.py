"""Vietnamese name order: worked examples and properties (hypothesis)."""

from __future__ import annotations

import random
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from attendance.names import name_sort_key, sort_by_name

VIETNAMESE_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYÐ"
TONE_MARKS = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]


def ordered(*names: str) -> list[str]:
    return sort_by_name(names, lambda n: n)


def test_given_name_first_then_the_rest_from_the_family_name() -> None:
    assert ordered("Trần Văn Bình", "Nguyễn Văn An", "Lê Thị An") == ["Lê Thị An", "Nguyễn Văn An", "Trần Văn Bình"]
    assert ordered("Nguyễn Văn An", "Nguyễn An") == ["Nguyễn An", "Nguyễn Văn An"]


def test_tones_only_decide_between_equal_letters() -> None:
    assert ordered("Đỗ Thị Ánh", "Trần Văn Anh") == ["Trần Văn Anh", "Đỗ Thị Ánh"]
    # none, huyền, sắc, hỏi, ngã, nặng
    assert ordered("X Mạ", "X Mã", "X Mả", "X Má", "X Mà", "X Ma") == ["X Ma", "X Mà", "X Má", "X Mả", "X Mã", "X Mạ"]
    assert ordered("A Anh", "A Án", "A An") == ["A An", "A Án", "A Anh"]  # letters before tones


def test_vietnamese_letters_in_their_own_order() -> None:
    assert ordered("A Đức", "A Dũng", "A Ðạt", "A Em") == ["A Dũng", "A Ðạt", "A Đức", "A Em"]
    assert ordered("Lê Ðức", "Lê Dung") == ["Lê Dung", "Lê Ðức"]  # Ð (U+00D0) typed for Đ is đ, after d
    assert ordered("B Ơn", "B Ôn", "B On", "B Pa") == ["B On", "B Ôn", "B Ơn", "B Pa"]
    assert ordered("C Ưng", "C Ung", "C Vân") == ["C Ung", "C Ưng", "C Vân"]
    assert ordered("D Ân", "D Ăn", "D An", "D Bé") == ["D An", "D Ăn", "D Ân", "D Bé"]


def test_case_and_unicode_form_do_not_matter() -> None:
    upper, lower = name_sort_key("NGUYỄN VĂN ĐỨC"), name_sort_key("nguyễn văn đức")
    assert upper[:2] == lower[:2]
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn Đức")
    assert name_sort_key(decomposed) == name_sort_key("Nguyễn Văn Đức")


syllable = st.builds(lambda letters, tone, cut: unicodedata.normalize("NFC", letters[:cut] + tone + letters[cut:]),
                     st.text(alphabet=VIETNAMESE_LETTERS, min_size=1, max_size=6), st.sampled_from(TONE_MARKS),
                     st.integers(1, 6))
full_name = st.one_of(st.lists(syllable, min_size=1, max_size=4).map(" ".join), st.text(max_size=12))


@given(full_name, full_name, full_name)
def test_the_order_is_total_and_transitive(a: str, b: str, c: str) -> None:
    ka, kb, kc = name_sort_key(a), name_sort_key(b), name_sort_key(c)
    assert (ka <= kb) or (kb <= ka)
    if ka == kb:  # only names that are the same text compare equal
        assert unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)
    if ka <= kb and kb <= kc:
        assert ka <= kc


@given(st.lists(full_name, max_size=12), st.randoms())
def test_sorting_is_stable_and_independent_of_input_order(names: list[str], rnd: random.Random) -> None:
    once = ordered(*names)
    shuffled = list(names)
    rnd.shuffle(shuffled)
    assert [unicodedata.normalize("NFC", n) for n in ordered(*shuffled)] == [unicodedata.normalize("NFC", n) for n in once]
    tagged = sort_by_name(list(enumerate(names)), lambda pair: pair[1])
    for (i, x), (j, y) in zip(tagged, tagged[1:], strict=False):
        if name_sort_key(x) == name_sort_key(y):
            assert i < j  # equal names keep their order


@given(st.lists(syllable, min_size=1, max_size=4).map(" ".join))
def test_case_insensitive_on_every_vietnamese_name(name: str) -> None:
    assert name_sort_key(name.upper())[:2] == name_sort_key(name.lower())[:2]
