"""The C accelerator (migrate1to2/_speedups.c): compiled, and never different from the Python converter.

It either converts every record of a chunk or answers None (then Python converts the records one
by one). So what matters is that whatever it accepts, it converts exactly as the general path does
record by record, and that it accepts the common case that the Python fast path accepts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from migrate1to2 import MigrateError, Version, convert_json, downgrade_json, rawjson, upgrade_json
from migrate1to2.convert import records
from migrate1to2.convert.records import Converted, Counts, Reject, Settings
from migrate1to2.rawjson import JsonResult, fast_converter
from tests.strategies import ODD_LINES, damage, mixed_chunks, spaced_texts, v1_texts, v2_texts

BOTH = [Version.V2, Version.V1]

#: What damage inserts into records with whitespace: JSON's, and the bytes that look like it but are not
#: (vertical tab, form feed, the bytes of a no-break space).
SPACED_DAMAGE = b',:{}[]"\\ \t\r\n\x0b\x0c\xc2\xa0\xff\x00e-.0u'


def can_compile() -> bool:
    """Whether the install could compile the accelerator here: a C compiler and Python's headers."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(compiler) is not None and os.path.exists(headers)


if not rawjson.COMPILED and not can_compile():  # only where it cannot exist: the Python converter does the work
    pytest.skip("no C compiler or Python headers on this machine, so no accelerator to test; the Python "
                "converter that replaces it is tested everywhere else", allow_module_level=True)


if rawjson.COMPILED:
    from migrate1to2 import _speedups


def test_the_accelerator_is_compiled() -> None:
    # Where it can be compiled it must be: else every test below would test nothing. `pip install -e .`
    # compiles it; an install without a compiler still works, about three times slower.
    assert rawjson.COMPILED, "migrate1to2/_speedups.c was not compiled although it could be: reinstall"


@contextlib.contextmanager
def python_only() -> Iterator[None]:
    """The Python converter alone (the reference), as where the accelerator is not compiled."""
    with mock.patch.object(rawjson, "_compiled", None), mock.patch.object(rawjson, "_text", None), \
            mock.patch.object(records, "mixed_chunk", None):
        yield


def compiled(chunk: bytes, target: Version) -> tuple[bytes, int, int] | None:
    from migrate1to2 import _speedups

    return _speedups.convert_chunk(chunk, target is Version.V2)


def one_by_one(chunk: bytes, target: Version) -> bytes | None:
    """Every record of ``chunk`` converted by the general path, or None if some record is not converted."""
    out = []
    for line in (text.removesuffix(b"\r") for text in chunk.split(b"\n")):
        if not line:
            continue
        try:
            with python_only():
                result = convert_json(line, target)
        except MigrateError:
            return None
        if not result.converted:
            return None
        out.append(result.output + b"\n")
    return b"".join(out)


def check(chunk: bytes, target: Version) -> tuple[bytes, int, int] | None:
    """The accelerator's answer, checked against the general path."""
    done = compiled(chunk, target)
    if done is not None:
        assert done[0] == one_by_one(chunk, target)
        assert done[1] == len([line for line in chunk.split(b"\n") if line.removesuffix(b"\r")])
        assert done[2] == chunk.count(b"\n")
    return done


def one_line(text: str) -> bytes:
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8")


@given(st.lists(st.one_of(v1_texts(spaces=False), v1_texts(), v2_texts(spaces=False)), min_size=1, max_size=8),
       st.sampled_from(BOTH), st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
def test_what_it_accepts_it_converts_as_the_general_path_does(texts: list[str], target: Version,
                                                              newline: bytes) -> None:
    chunk = newline.join(one_line(text) for text in texts) + newline
    done = check(chunk, target)
    if b"\\" not in chunk and one_by_one(chunk, target) is not None:  # spaced or not, no escaped key
        assert done is not None


@given(st.lists(v1_texts(spaces=False), min_size=1, max_size=8), st.sampled_from(BOTH))
def test_it_agrees_with_the_python_fast_path(texts: list[str], target: Version) -> None:
    """On the common case both answer, and the same; where only one answers, the other's is the general path's."""
    source = target if target is Version.V1 else Version.V2
    lines = [one_line(text) for text in texts]
    if source is Version.V1:  # 2.0 records to convert back: make them from the 1.0 ones
        lines = [convert_json(line, Version.V2).output for line in lines]
    chunk = b"\n".join(lines) + b"\n"
    python = fast_converter(target)(chunk)
    done = check(chunk, target)
    if python is not None and b"\\" not in chunk:  # the accelerator leaves escaped keys to Python
        assert done == python
    if done is not None and python is not None:
        assert done == python


@given(st.lists(v1_texts(spaces=False), min_size=1, max_size=4), st.data())
def test_damaged_chunks_are_refused_or_converted_exactly(texts: list[str], data: st.DataObject) -> None:
    raw = bytearray(b"\n".join(one_line(text) for text in texts))
    for _ in range(data.draw(st.integers(1, 3))):
        damage(raw, data, b',:{}[]"\\ \t\r\n\xff\xc3\x80\x00e-.0u')
    check(bytes(raw), Version.V2)


@given(st.lists(spaced_texts(plain_keys=True), min_size=1, max_size=6), st.sampled_from(BOTH),
       st.sampled_from([b"\n", b"\r\n"]))
def test_spaced_records_are_converted_as_the_general_path_does(texts: list[bytes], target: Version,
                                                              newline: bytes) -> None:
    """Whitespace between the tokens of the root or its container (or around it) is no reason to decline."""
    chunk = newline.join(texts) + newline
    done = check(chunk, target)
    if one_by_one(chunk, target) is not None:  # every record converts: the C code converts them all
        assert done is not None


def damaged_lines(texts: list[bytes], data: st.DataObject, most: int) -> bytes:
    """``texts`` as lines, damaged in 1 to ``most`` places (bytes of JSON and look-alikes of whitespace)."""
    raw = bytearray(b"\n".join(texts))
    for _ in range(data.draw(st.integers(1, most))):
        if raw:  # cuts may have emptied it
            damage(raw, data, SPACED_DAMAGE)
    return bytes(raw)


@given(st.lists(spaced_texts(), min_size=1, max_size=4), st.data())
def test_damaged_spaced_chunks_are_refused_or_converted_exactly(texts: list[bytes], data: st.DataObject) -> None:
    check(damaged_lines(texts, data, 3), data.draw(st.sampled_from(BOTH)))


@given(st.binary(max_size=80))
@example(b'{"properties":{}}\n')
def test_any_bytes_are_refused_or_converted_exactly(raw: bytes) -> None:
    check(raw, Version.V2)
    check(raw, Version.V1)


GOOD = b'{"event_name":"e","properties":{"a":1}}'

# Each is a line the accelerator must refuse (Python then converts or rejects it, with the reason).
REFUSED = {
    "trailing comma": b'{"properties":{"a":[1,]}}',
    "missing value": b'{"properties":{"a":}}',
    "leading zero": b'{"properties":{"a":01}}',
    "bare minus": b'{"properties":{"a":-}}',
    "dot without digits": b'{"properties":{"a":1.}}',
    "exponent without digits": b'{"properties":{"a":1e}}',
    "plus sign": b'{"properties":{"a":+1}}',
    "NaN": b'{"properties":{"a":NaN}}',
    "truncated literal": b'{"properties":{"a":tru}}',
    "misspelt literal": b'{"properties":{"a":nul}}',
    "single quotes": b"{'properties':{}}",
    "unknown escape": b'{"properties":{"a":"\\q"}}',
    "short unicode escape": b'{"properties":{"a":"\\u12"}}',
    "lone high surrogate": b'{"properties":{"a":"\\ud800"}}',
    "lone low surrogate": b'{"properties":{"a":"\\udc00x"}}',
    "reversed surrogates": b'{"properties":{"a":"\\udc00\\ud800"}}',
    "raw control character": b'{"properties":{"a":"\x01"}}',
    "raw tab in a string": b'{"properties":{"a":"\t"}}',
    "invalid UTF-8": b'{"properties":{"a":"\xff"}}',
    "overlong UTF-8": b'{"properties":{"a":"\xc0\xaf"}}',
    "UTF-8 surrogate": b'{"properties":{"a":"\xed\xa0\x80"}}',
    "UTF-8 above U+10FFFF": b'{"properties":{"a":"\xf4\x90\x80\x80"}}',
    "truncated UTF-8": b'{"properties":{"a":"\xe2\x82"}}',
    "non-ASCII outside strings": b'{"properties":{"a":1\xc2\xa0}}',
    "byte order mark": b'\xef\xbb\xbf{"properties":{}}',
    "unterminated string": b'{"properties":{"a":"x}}',
    "unclosed object": b'{"properties":{"a":1}',
    "text after the object": b'{"properties":{}}x',
    "two objects": b'{"properties":{}}{"properties":{}}',
    "whitespace only": b"  ",
    # Whitespace is no reason to decline, but it does not make the rest right either.
    "space and a duplicate key at the root": b'{"page": 1, "page": 2, "properties": {}}',
    "space and a duplicate key in the container": b'{"properties": {"a": 1, "a": 2}}',
    "space and an escaped key": b'{"propert\\u0069es": {}}',
    "space and an escaped key in the container": b'{"properties": {"\\u0061": 1}}',
    "space and a collision": b'{"properties": {"event_name": 1}}',
    "space and a leading zero": b'{"properties": {"a": 01}}',
    "space and text after the object": b'{"properties": {}} x',
    "space before an array": b' [{"properties": {}}]',
    "vertical tab between tokens (not JSON whitespace)": b'{"properties":\x0b{}}',
    "form feed between tokens (not JSON whitespace)": b'{"properties":\x0c{}}',
    "no-break space between tokens (not JSON whitespace)": b'{"properties":\xc2\xa0{}}',
    "no-break space around the record": b'\xc2\xa0{"properties":{}}',
    "escaped key at the root": b'{"propert\\u0069es":{}}',
    "escaped key in the container": b'{"properties":{"\\u0061":1}}',
    "duplicate key at the root": b'{"page":1,"page":2,"properties":{}}',
    "duplicate key in the container": b'{"properties":{"a":1,"a":2}}',
    "only event_name (either version)": b'{"event_name":"e"}',
    "already 2.0": b'{"event_name":"e","context":{}}',
    "context not an object": b'{"context":[1]}',
    "container not an object": b'{"properties":[1]}',
    "both containers": b'{"properties":{},"context":{}}',
    "event_name in the container": b'{"properties":{"event_name":"x"}}',
    "properties in the container": b'{"properties":{"properties":{}}}',
    "context in the container": b'{"properties":{"context":{}}}',
    "an array": b'[{"properties":{}}]',
    "a string": b'"properties"',
    "nested too deeply": b'{"properties":{"a":' + b"[" * 300 + b"]" * 300 + b"}}",
}


@pytest.mark.parametrize("line", list(REFUSED.values()), ids=list(REFUSED))
def test_refuses(line: bytes) -> None:
    assert compiled(GOOD + b"\n" + line + b"\n", Version.V2) is None


# Lines it converts, values copied byte for byte (whitespace inside values kept).
ACCEPTED = {
    "numbers": (b'{"properties":{"a":[-0,1E+2,1e400,16.00,123456789012345678901234567890,0.5e-3]}}',
                b'{"a":[-0,1E+2,1e400,16.00,123456789012345678901234567890,0.5e-3],"context":{}}'),
    "escapes and unicode": (b'{"properties":{"a":"\\ud83d\\ude00 \\" \\\\ \\/ \\n \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}}',
                            b'{"a":"\\ud83d\\ude00 \\" \\\\ \\/ \\n \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80","context":{}}'),
    "whitespace inside values": (b'{"page":{ "a" : [ 1 ,\t2 ] },"properties":{"b":{ }}}',
                                 b'{"b":{ },"context":{"page":{ "a" : [ 1 ,\t2 ] }}}'),
    "escaped keys inside values": (b'{"properties":{"user":{"\\u0069d":1,"id":2}}}',
                                   b'{"user":{"\\u0069d":1,"id":2},"context":{}}'),
    "event_name first": (b'{"event_id":"1","properties":{"x":true},"event_name":null}',
                         b'{"event_name":null,"x":true,"context":{"event_id":"1"}}'),
    "CRLF": (b'{"properties":{}}\r', b'{"context":{}}'),
    "no container": (b'{"event_name":"e","page":1}', b'{"event_name":"e","context":{"page":1}}'),
    "no container, no event_name": (b'{"page":1}', b'{"context":{"page":1}}'),
    "deep but not too deep": (b'{"properties":{"a":' + b"[" * 200 + b"]" * 200 + b"}}",
                              b'{"a":' + b"[" * 200 + b"]" * 200 + b',"context":{}}'),
    # Whitespace at the root or in the container: that level is minified, all of it, as Python does.
    "json.dumps separators": (b'{"event_name": "e", "properties": {"a": [1, 2]}, "page": {"b": "x y"}}',
                              b'{"event_name":"e","a":[1,2],"context":{"page":{"b":"x y"}}}'),
    "space at the root": (b'{"properties": {}}', b'{"context":{}}'),
    "space in the container only": (b'{"page":{"b": 1},"properties":{"a": [1, 2]}}',
                                    b'{"a":[1,2],"context":{"page":{"b": 1}}}'),
    "whitespace around the record": (b' \t{"properties":{"a":[1, 2]}}\t ', b'{"a":[1, 2],"context":{}}'),
    "tabs and CRs between tokens": (b'{\t"properties"\r:\t{ "a" :\r"x\\t y\\u00e9" } }',
                                    b'{"a":"x\\t y\\u00e9","context":{}}'),
}


@pytest.mark.parametrize(("line", "expected"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_converts(line: bytes, expected: bytes) -> None:
    done = check(b"\n" + line + b"\n\n" + GOOD, Version.V2)
    assert done is not None
    assert done[0] == expected + b"\n" + b'{"event_name":"e","a":1,"context":{}}\n'
    assert done[1:] == (2, 3)
    json.loads(expected)


def test_downgrade() -> None:
    line = b'{"event_name":"e","a":1,"context":{"event_id":"1","page":{}}}\n'
    assert check(line, Version.V1) == (b'{"event_name":"e","event_id":"1","page":{},"properties":{"a":1}}\n', 1, 1)
    assert compiled(b'{"properties":{},"context":{}}\n', Version.V1) is None


def test_nothing_to_convert_is_none() -> None:
    assert compiled(b"", Version.V2) is None
    assert compiled(b"\n\n", Version.V2) is None


def test_retain_freed_memory() -> None:
    from migrate1to2 import _speedups

    assert isinstance(_speedups.retain_freed_memory(64 << 20), bool)
    with pytest.raises(ValueError, match="at least 1 MiB"):
        _speedups.retain_freed_memory(0)


def test_any_buffer_is_taken() -> None:
    """Bytes let go of the GIL while converting; a bytearray (which another thread could change) keeps it."""
    chunk = b'{"event_name":"e","properties":{"a":1}}\n'
    expected = compiled(chunk, Version.V2)
    assert expected is not None
    assert compiled(bytearray(chunk), Version.V2) == compiled(memoryview(chunk), Version.V2) == expected  # type: ignore[arg-type]


def test_element_end() -> None:
    from migrate1to2._speedups import element_end

    cases = {b'[{"a":"x\\"}"}]': 13, b"[123,4]": 4, b"[123": -1, b'["ab\\\\",1]': 7, b'["abc': -1,
             b"[1\x00,2]": 3, b'[{"a":[1,{}]}, 2]': 13}
    assert {data: element_end(data, 1) for data in cases} == cases


# --- Mixed chunks: the C code does every record it can, Python the others, one by one ---------------

def outcome(done: Converted) -> tuple[bytes, Counts, list[Reject], bool, int]:
    return done.output, done.counts, done.rejects, done.stopped, done.lines


def check_mixed(chunk: bytes, target: Version, *, stop: bool, first_line: int = 1) -> Converted:
    """convert_lines on ``chunk`` with the accelerator: the same output, counts, rejects (line, column,
    reason, bytes), stop and line count as the Python converter, and as the Python path line by line."""
    settings = Settings(target, stop_at_reject=stop)
    done = records.convert_lines(chunk, first_line, "x.ndjson", settings)
    with python_only():
        reference = records.convert_each(chunk, first_line, "x.ndjson", settings)
        python = records.convert_lines(chunk, first_line, "x.ndjson", settings)
    assert outcome(done) == outcome(reference) == outcome(python)
    counts = done.counts
    assert counts.records == counts.converted + counts.unchanged + counts.rejected
    return done


@given(mixed_chunks(), st.sampled_from(BOTH), st.booleans(), st.integers(1, 10**6))
@example(b'{"properties":{}}\r\n{"event_name":"e"}\n{}\n{"a":1}\r\n\n{"context":{"a":1}}\n', Version.V2, False, 1)
@example(b'{"a":1}\n{"a":\n{"properties":{"a":1}}', Version.V2, True, 7)
@example(b'{"context":{"a":1}}\r\n{"properties":{"a":1}}\n{"context":{"event_name":1}}\n{}', Version.V1, False, 1)
def test_mixed_chunks_convert_as_the_python_converter_does(chunk: bytes, target: Version, stop: bool,
                                                           first_line: int) -> None:
    check_mixed(chunk, target, stop=stop, first_line=first_line)
    # What the C code leaves to Python is an error or holds an escape (maybe in a key): never whitespace alone.
    settings = Settings(target, stop_at_reject=False)
    for line, start, end, *_ in _speedups.convert_mixed(chunk, target is Version.V2, 1 << 20)[4]:
        with python_only():
            alone = records.convert_each(chunk[start:end], line, "x", settings)
        assert b"\\" in chunk[start:end] or alone.rejects, chunk[start:end]


@given(st.lists(st.one_of(v1_texts(spaces=False), v1_texts(spaces=False, with_properties=False),
                          v2_texts(spaces=False)), min_size=1, max_size=6), st.data())
def test_damaged_mixed_chunks_convert_as_the_python_converter_does(texts: list[str], data: st.DataObject) -> None:
    raw = bytearray(b"\n".join(one_line(text) for text in texts))
    for _ in range(data.draw(st.integers(1, 4))):
        damage(raw, data, b',:{}[]"\\ \t\r\n\xff\xc3\x80\x00e-.0u')
    for target in BOTH:
        check_mixed(bytes(raw), target, stop=data.draw(st.booleans()))


@given(st.lists(spaced_texts(plain_keys=True), min_size=1, max_size=6), st.sampled_from(BOTH),
       st.lists(st.sampled_from([b"\n", b"\r\n", b"\n \t\n"]), min_size=6, max_size=6))
def test_spaced_records_stay_in_c(texts: list[bytes], target: Version, ends: list[bytes]) -> None:
    """Records with whitespace of any kind between the tokens of the root or the container (and around
    them), keys without escapes: the C code does every one, as Python does."""
    chunk = b"".join(text + end for text, end in zip(texts, ends, strict=False))
    declined = _speedups.convert_mixed(chunk, target is Version.V2, 1 << 20)[4]
    assert declined == []
    check_mixed(chunk, target, stop=False)


@given(st.lists(st.one_of(spaced_texts(), st.sampled_from(ODD_LINES)), min_size=1, max_size=6),
       st.sampled_from(BOTH), st.booleans())
def test_spaced_records_convert_as_the_python_converter_does(texts: list[bytes], target: Version,
                                                             stop: bool) -> None:
    """Escaped keys too (which the C code leaves to Python), among odd lines."""
    check_mixed(b"\n".join(texts), target, stop=stop)


@given(st.lists(spaced_texts(), min_size=1, max_size=5), st.data())
def test_damaged_spaced_chunks_convert_as_the_python_converter_does(texts: list[bytes], data: st.DataObject) -> None:
    raw = damaged_lines(texts, data, 4)
    for target in BOTH:
        check_mixed(raw, target, stop=data.draw(st.booleans()))


@given(st.binary(max_size=120))
def test_any_bytes_in_a_chunk_convert_as_the_python_converter_does(raw: bytes) -> None:
    for target in BOTH:
        check_mixed(raw, target, stop=False)


# What the C code does itself (no record of these goes to Python), and what it leaves to Python.
KINDS = {
    "1.0": (b'{"event_name":"e","properties":{"a":1},"page":{"b":2}}',
            b'{"event_name":"e","a":1,"context":{"page":{"b":2}}}', "converted"),
    "1.0 without properties": (b'{"event_name":"e","page":{"b":2}}', b'{"event_name":"e","context":{"page":{"b":2}}}',
                               "converted"),
    "1.0 with empty properties": (b'{"properties":{},"page":1}', b'{"context":{"page":1}}', "converted"),
    "only properties, empty": (b'{"properties":{}}', b'{"context":{}}', "converted"),
    "already 2.0": (b'{"event_name":"e","a":1,"context":{"page":{ "b" : 2 }}}',
                    b'{"event_name":"e","a":1,"context":{"page":{ "b" : 2 }}}', "unchanged"),
    "either: only event_name": (b'{"event_name":"e"}', b'{"event_name":"e"}', "unchanged"),
    "either: empty": (b"{}", b"{}", "unchanged"),
    "escaped unicode in values": (b'{"properties":{"q":"caf\\u00e9 \\ud83c\\udfa7"}}',
                                  b'{"q":"caf\\u00e9 \\ud83c\\udfa7","context":{}}', "converted"),
    # Written by json.dumps (", " and ": "): the root is minified, all of it.
    "json.dumps 1.0": (b'{"event_name": "e", "properties": {"a": [1, {"q": "x \\"y\\""}]}, "page": {"b": 2}}',
                       b'{"event_name":"e","a":[1,{"q":"x \\"y\\""}],"context":{"page":{"b":2}}}', "converted"),
    "json.dumps 1.0 without properties": (b'{"event_name": "e", "page": {"b": 2}}',
                                          b'{"event_name":"e","context":{"page":{"b":2}}}', "converted"),
    "json.dumps 2.0": (b'{"event_name": "e", "a": 1, "context": {"page": {"b": 2}}}',
                       b'{"event_name": "e", "a": 1, "context": {"page": {"b": 2}}}', "unchanged"),
    "json.dumps either": (b'{"event_name": "e"}', b'{"event_name": "e"}', "unchanged"),
    "either, whitespace around it": (b' \t{"event_name": "e"} \t', b'{"event_name": "e"}', "unchanged"),
    "2.0, whitespace around it": (b'\t{"context":{"a": 1}} ', b'{"context":{"a": 1}}', "unchanged"),
    "compact root, spaced properties": (b'{"properties":{"a": [1, 2]},"page":{"b": 2}}',
                                        b'{"a":[1,2],"context":{"page":{"b": 2}}}', "converted"),
    "tabs and CRs between tokens": (b'{\t"properties":\r{"a":1}\t}\r', b'{"a":1,"context":{}}', "converted"),
    "empty objects with spaces": (b'{ "properties" : { } , "page" : { } }', b'{"context":{"page":{}}}', "converted"),
}

#: The same, downgrading.
DOWN_KINDS = {
    "2.0": (b'{"event_name":"e","a":1,"context":{"page":{"b": 2}}}',
            b'{"event_name":"e","page":{"b": 2},"properties":{"a":1}}', "converted"),
    "json.dumps 2.0": (b'{"event_name": "e", "a": [1, 2], "context": {"page": {"b": "x y"}}}',
                       b'{"event_name":"e","page":{"b":"x y"},"properties":{"a":[1,2]}}', "converted"),
    "compact root, spaced context": (b'{"a":{"b": 1},"context":{"page": 1}}',
                                     b'{"page":1,"properties":{"a":{"b": 1}}}', "converted"),
    "json.dumps 1.0": (b'{"event_name": "e", "properties": {"a": 1}}',
                       b'{"event_name": "e", "properties": {"a": 1}}', "unchanged"),
    "json.dumps 1.0 without properties": (b'{"event_name": "e", "page": 1}', b'{"event_name": "e", "page": 1}',
                                          "unchanged"),
    "json.dumps either": (b' {"event_name": "e"}', b'{"event_name": "e"}', "unchanged"),
}


@pytest.mark.parametrize(("line", "expected", "kind"), list(KINDS.values()), ids=list(KINDS))
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_every_common_kind_stays_in_c(line: bytes, expected: bytes, kind: str, newline: bytes) -> None:
    chunk = (GOOD + newline + line + newline) * 3
    output, converted, unchanged, newlines, declined = _speedups.convert_mixed(chunk, True, 1 << 20)
    assert declined == []
    assert output == (b'{"event_name":"e","a":1,"context":{}}\n' + expected + b"\n") * 3
    assert (converted, unchanged, newlines) == ((6, 0) if kind == "converted" else (3, 3)) + (6,)
    check_mixed(chunk, Version.V2, stop=False)


@pytest.mark.parametrize(("line", "expected", "kind"), list(DOWN_KINDS.values()), ids=list(DOWN_KINDS))
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_every_common_kind_stays_in_c_downgrading(line: bytes, expected: bytes, kind: str, newline: bytes) -> None:
    good = b'{"event_name":"e","a":1,"context":{}}'
    chunk = (good + newline + line + newline) * 3
    output, converted, unchanged, newlines, declined = _speedups.convert_mixed(chunk, False, 1 << 20)
    assert declined == []
    assert output == (b'{"event_name":"e","properties":{"a":1}}\n' + expected + b"\n") * 3
    assert (converted, unchanged, newlines) == ((6, 0) if kind == "converted" else (3, 3)) + (6,)
    check_mixed(chunk, Version.V1, stop=False)


@pytest.mark.parametrize("line", list(REFUSED.values()), ids=list(REFUSED))
def test_what_c_cannot_do_goes_to_python_alone(line: bytes) -> None:
    """Each record the C code cannot do is handed over alone, with its line, bytes and place in the output."""
    if line in (b'{"event_name":"e"}', b'{"event_name":"e","context":{}}', b"  "):
        return  # passed through or blank in a mixed chunk: see test_every_common_kind_stays_in_c
    chunk = GOOD + b"\n" + line + b"\r\n" + GOOD + b"\n"
    output, converted, unchanged, newlines, declined = _speedups.convert_mixed(chunk, True, 1 << 20)
    start = len(GOOD) + 1
    first = b'{"event_name":"e","a":1,"context":{}}\n'
    assert declined == [(1, start, start + len(line) + 1, len(first), 1, 0)]  # the CR stays on the line
    assert output == first * 2 and (converted, unchanged, newlines) == (2, 0, 3)
    check_mixed(chunk, Version.V2, stop=False)
    check_mixed(chunk, Version.V2, stop=True)


def test_only_odd_records_are_converted_in_python() -> None:
    """On a large mixed chunk, the per-record Python path sees each odd record alone, and nothing else."""
    odd = [b'{"properties":{"\\u0061": 1}}', b'{"a":1,', b'{"properties":{"event_name":1}}']
    lines = [GOOD] * 3000
    for index, line in zip((10, 1500, 2999), odd, strict=True):
        lines[index] = line
    chunk = b"\n".join(lines) + b"\n"
    calls: list[bytes] = []
    each = records.convert_each

    def spy(part: bytes, first_line: int, source: str, settings: Settings) -> Converted:
        calls.append(part)
        return each(part, first_line, source, settings)

    with mock.patch.object(records, "convert_each", spy):
        done = records.convert_lines(chunk, 1, "x.ndjson", Settings(Version.V2, stop_at_reject=False))
    assert calls == odd
    assert outcome(done) == outcome(check_mixed(chunk, Version.V2, stop=False))
    assert [(reject.line, reject.reason[:12]) for reject in done.rejects] == [(1501, "invalid JSON"), (3000, "`event_name`")]
    assert (done.counts.converted, done.counts.rejected) == (2998, 2)


def test_blank_lines_cost_what_reading_them_costs() -> None:
    """A chunk of blank lines (issue 9: a per-line Python loop, 0.9 MB/s) never reaches the per-record path."""
    chunk = b"\n" * (8 << 20) + b" \t\r\n" * 1000 + b"\r\n" * 1000
    with mock.patch.object(records, "convert_each", side_effect=AssertionError("per-record path")):
        done = records.convert_lines(chunk, 1, "x", Settings(Version.V2))
        with python_only():
            python = records.convert_lines(chunk, 1, "x", Settings(Version.V2))
    assert outcome(done) == outcome(python) == (b"", Counts(), [], False, (8 << 20) + 2000)
    mixed = b"\n" * 100_000 + GOOD + b"\n" * 100_000
    _, converted, unchanged, newlines, declined = _speedups.convert_mixed(mixed, True, 1 << 20)
    assert (converted, unchanged, newlines, declined) == (1, 0, 200_000, [])


def test_a_line_over_the_limit_goes_to_python() -> None:
    chunk = GOOD + b"\n" + b'{"properties":{"a":"' + b"x" * 100 + b'"}}\n' + GOOD + b"\n"
    declined = _speedups.convert_mixed(chunk, True, 100)[4]
    assert [entry[0] for entry in declined] == [1]
    done = records.convert_lines(chunk, 1, "x", Settings(Version.V2, stop_at_reject=False, max_record_bytes=100))
    assert [reject.line for reject in done.rejects] == [2] and done.rejects[0].truncated
    assert done.counts.converted == 2


def check_text(data: bytes, target: Version) -> JsonResult | None:
    """convert_text on ``data`` answers as the Python converter does, or leaves the record to it; the
    Python converter's answer (None: an error)."""
    with python_only():
        try:
            expected: JsonResult | None = convert_json(data, target)
        except MigrateError:
            expected = None
    done = _speedups.convert_text(data, target is Version.V2)
    if done is not None:
        assert expected is not None and done == expected.output and (done is data) == (not expected.converted)
    return expected


@given(st.one_of(v1_texts(), v2_texts(), v1_texts(with_properties=False), st.sampled_from(ODD_LINES),
                 spaced_texts(newlines=True)),
       st.sampled_from(BOTH))
def test_one_record_converts_as_the_python_converter_does(text: str | bytes, target: Version) -> None:
    """convert_text (upgrade_json's one call) answers as the Python converter, or leaves the record to it."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    expected = check_text(data, target)
    try:
        assert convert_json(data, target) == expected
        assert (upgrade_json if target is Version.V2 else downgrade_json)(data) == expected.output  # type: ignore[union-attr]
    except MigrateError:
        assert expected is None


@given(spaced_texts(newlines=True, plain_keys=True), st.sampled_from(BOTH))
@example(b' {"event_name": "e"}\n', Version.V2)
@example(b'{\n  "event_name": "e",\n  "properties": {\n    "a": [1, 2]\n  }\n}', Version.V2)
def test_one_spaced_record_is_converted_in_c(data: bytes, target: Version) -> None:
    """convert_text converts a record with whitespace (LF too: a pretty-printed text) itself, as Python
    does, or passes it through; but one to pass through less the whitespace around it, which only Python
    says is unchanged (convert_json's ``converted`` is whether the output is the input)."""
    with python_only():
        expected = convert_json(data, target)
    done = _speedups.convert_text(data, target is Version.V2)
    if not expected.converted and expected.output != data:
        assert done is None
    else:
        assert done == expected.output and (done is data) == (not expected.converted)
    assert (upgrade_json if target is Version.V2 else downgrade_json)(data) == expected.output
    assert convert_json(data, target) == expected


@given(spaced_texts(newlines=True), st.data())
def test_one_damaged_spaced_record_converts_as_the_python_converter_does(text: bytes, data: st.DataObject) -> None:
    raw = bytearray(text)
    for _ in range(data.draw(st.integers(1, 3))):
        if raw:  # cuts may have emptied it
            damage(raw, data, SPACED_DAMAGE)
    damaged = bytes(raw)
    for target in BOTH:
        check_text(damaged, target)


def test_the_callback_writes_each_declined_record_in_its_place() -> None:
    chunk = GOOD + b"\n" + b"bad\r\n" + GOOD + b"\n" + b"worse"
    seen = []

    def odd(line: int, start: int, end: int, converted: int, unchanged: int) -> bytes:
        seen.append((line, chunk[start:end], converted, unchanged))
        return b"<" * 100_000 + b"\n"  # more than the output was sized for: it grows

    output, converted, unchanged, newlines, declined = _speedups.convert_mixed(chunk, True, 1 << 20, odd)
    first = b'{"event_name":"e","a":1,"context":{}}\n'
    assert output == first + b"<" * 100_000 + b"\n" + first + b"<" * 100_000 + b"\n"
    assert seen == [(1, b"bad\r", 1, 0), (3, b"worse", 2, 0)]
    assert (converted, unchanged, newlines, declined) == (2, 0, 3, [])


def test_the_callback_stops_the_chunk_or_raises() -> None:
    chunk = GOOD + b"\nbad\n" + GOOD + b"\n"
    output, converted, *_ = _speedups.convert_mixed(chunk, True, 1 << 20, lambda *_: None)
    assert (output, converted) == (b'{"event_name":"e","a":1,"context":{}}\n', 1)

    def fails(*_: int) -> bytes:
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        _speedups.convert_mixed(chunk, True, 1 << 20, fails)
    with pytest.raises(TypeError, match="returns bytes or None"):
        _speedups.convert_mixed(chunk, True, 1 << 20, lambda *_: "text")
    with pytest.raises(TypeError, match="takes bytes"):  # a bytearray could change while Python runs
        _speedups.convert_mixed(bytearray(chunk), True, 1 << 20, lambda *_: b"")  # type: ignore[arg-type]


@pytest.mark.parametrize("line", [b'{"a":1}', b"{}", b'{"properties":{}}', b'{"a":1}\r'], ids=repr)
def test_small_records_grow_the_output_as_they_must(line: bytes) -> None:
    """The output is sized for records of about 70 bytes and more; smaller ones grow it on the way."""
    chunk = (line + b"\n") * 50_000 + b"x\n" + (line + b"\n") * 50_000 + line
    output, converted, unchanged, newlines, declined = _speedups.convert_mixed(chunk, True, 1 << 20)
    assert converted + unchanged == 100_001 and newlines == 100_001 and [entry[0] for entry in declined] == [50_000]
    done = check_mixed(chunk, Version.V2, stop=False)
    assert done.output == output and done.counts.records == 100_002
    stopped = check_mixed(chunk, Version.V2, stop=True)
    assert stopped.stopped and stopped.lines == 100_001 and stopped.counts.records == 50_001


def test_a_mixed_chunk_is_converted_without_the_gil() -> None:
    """While a mixed chunk is converted, another thread runs (but for its odd records, which Python does);
    a bytearray, which that thread could change, keeps the GIL. Counted, not timed: how far another
    thread gets during one call, with the GIL switched every millisecond."""
    lines = ([GOOD] * 40 + [b'{"event_name":"e","page":1}', b'{"context":{"a":1}}', b"{}", b'{"a":1,']) * 20_000
    chunk = b"\n".join(lines) + b"\n"
    done: list[int] = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            done[0] += 1

    def progress(data: bytes | bytearray, callback: Callable[..., bytes] | None) -> int:
        before = done[0]
        _speedups.convert_mixed(data, True, 1 << 20, callback)  # type: ignore[arg-type]
        return done[0] - before

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    thread = threading.Thread(target=spin)
    thread.start()
    try:
        free = [progress(chunk, lambda *_: b"") for _ in range(3)]
        held = [progress(bytearray(chunk), None) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert max(free) > 4 * max(held), (free, held)
