"""The C accelerator (migrate1to2/_speedups.c): compiled, and never different from the Python converter.

It either converts every record of a chunk or answers None (then Python converts the records one
by one). So what matters is that whatever it accepts, it converts exactly as the general path does
record by record, and that it accepts the common case that the Python fast path accepts.
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from migrate1to2 import MigrateError, Version, convert_json, rawjson
from migrate1to2.rawjson import fast_converter
from tests.strategies import damage, v1_texts, v2_texts

BOTH = [Version.V2, Version.V1]


def can_compile() -> bool:
    """Whether the install could compile the accelerator here: a C compiler and Python's headers."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(compiler) is not None and os.path.exists(headers)


if not rawjson.COMPILED and not can_compile():  # only where it cannot exist: the Python converter does the work
    pytest.skip("no C compiler or Python headers on this machine, so no accelerator to test; the Python "
                "converter that replaces it is tested everywhere else", allow_module_level=True)


def test_the_accelerator_is_compiled() -> None:
    # Where it can be compiled it must be: else every test below would test nothing. `pip install -e .`
    # compiles it; an install without a compiler still works, about three times slower.
    assert rawjson.COMPILED, "migrate1to2/_speedups.c was not compiled although it could be: reinstall"


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
            result = convert_json(b" " + line, target)  # the leading space keeps it off every fast path
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
    check(newline.join(one_line(text) for text in texts) + newline, target)


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
    "space at the root": b'{"properties": {}}',
    "space in the container": b'{"properties":{"a": 1}}',
    "space before the record": b' {"properties":{}}',
    "whitespace only": b"  ",
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
