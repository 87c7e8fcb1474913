"""The one Python JSON scanner (jsontext.scan_value and what reads valid text with it): where a value ends,
resumed across cuts (inside strings too), compared with the compiled element_end; members and elements."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate1to2.accelerator import element_end
from migrate1to2.jsontext import Scan, elements, members, scan_value, skip_ws, value_end
from tests.strategies import render, text_values


def scan_in_pieces(text: bytes, cuts: list[int]) -> int:
    """Scan ``text`` as a reader does, a longer prefix at a time, resuming where the last scan stopped."""
    depth, in_string, at = 0, False, 0
    for cut in [*sorted(cuts), len(text)]:
        end, at, depth, in_string = scan_value(text[:cut], at, text[0], depth, in_string)
        if end >= 0:
            return end
    return -1


@given(text_values(), st.booleans(), st.integers(0, 2**32 - 1), st.lists(st.integers(1, 400), max_size=6))
def test_a_value_ends_where_it_ends_however_it_is_cut(value: Any, spaces: bool, seed: int, cuts: list[int]) -> None:
    text = render(value, random.Random(seed), spaces=spaces).encode()
    whole = text + b' ,"x"]'
    expected = len(text)
    assert value_end(whole, 0) == expected
    assert scan_in_pieces(whole, [cut for cut in cuts if cut < len(whole)]) == expected
    assert scan_in_pieces(whole, list(range(1, len(whole)))) == expected  # one byte more at a time
    if element_end is not None:  # the compiled scan says the same (tests/test_speedups.py requires it built)
        assert element_end(whole, 0) == expected


@pytest.mark.parametrize(("text", "scan"), [
    pytest.param(b'{"a":"x\\', Scan(-1, 7, 1, True), id="cut-after-a-backslash"),
    pytest.param(b'{"a":"x\\"', Scan(-1, 9, 1, True), id="cut-after-an-escaped-quote"),
    pytest.param(b'{"a":"x\\\\"', Scan(-1, 10, 1, False), id="an-escaped-backslash-closes"),
    pytest.param(b'["]', Scan(-1, 3, 1, True), id="a-bracket-in-a-cut-string"),
    pytest.param(b'{"a":[1,{}]}, 2]', Scan(12, 12, 0, False), id="nested"),
    pytest.param(b'{]', Scan(2, 2, 0, False), id="any-bracket-closes"),
    pytest.param(b'123', Scan(-1, 3, 0, False), id="a-scalar-may-go-on"),
    pytest.param(b'12 ,', Scan(2, 0, 0, False), id="a-scalar-ends"),
    pytest.param(b'"ab\\\ncd"x', Scan(8, 8, 0, False), id="no-validation-inside-strings"),
])
def test_where_a_scan_stops(text: bytes, scan: Scan) -> None:
    assert scan_value(text, 0, text[0]) == scan


def test_a_scan_resumes_inside_a_string() -> None:
    first = scan_value(b'["a\\', 0, ord("["))
    assert first == Scan(-1, 3, 1, True)  # resumes at the backslash: it escapes what comes next
    assert scan_value(b'["a\\"b"]', first.resume, ord("["), first.depth, first.in_string) == Scan(8, 8, 0, False)


def test_members_and_elements_of_spaced_text() -> None:
    text = b' { "a" : [ 1 , {"b" :2} ] ,\n"c\\u0064":"}" , "e":{} } '
    start = skip_ws(text, 0)
    found = [(json.loads(text[k:ke]), text[v:ve]) for k, ke, v, ve in members(text, start)]
    assert found == [("a", b'[ 1 , {"b" :2} ]'), ("cd", b'"}"'), ("e", b"{}")]
    array = text.index(b"[")
    assert [text[s:e] for s, e in elements(text, array)] == [b"1", b'{"b" :2}']
    assert list(members(b"{}", 0)) == [] and list(elements(b"[ ]", 0)) == []
