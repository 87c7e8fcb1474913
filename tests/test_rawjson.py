"""The mapping on JSON text: values copied byte for byte, errors with positions, and its properties."""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from migrate1to2 import (
    AmbiguousVersionError,
    CollisionError,
    ConversionError,
    DuplicateKeyError,
    InvalidJSONError,
    MigrateError,
    NotAnObjectError,
    Version,
    convert_json,
    downgrade,
    downgrade_json,
    upgrade,
    upgrade_json,
)
from migrate1to2.jsontext import TOO_DEEP
from migrate1to2.rawjson import fast_convert
from tests.conftest import FIXTURES
from tests.strategies import damage, v1_collisions, v1_texts, v2_collisions, v2_texts

PAIRS = sorted(FIXTURES.glob("pairs/*.v1.json"))


def exact_loads(data: bytes | str) -> Any:
    """Parse keeping every number exact (Decimal), for comparing with the dict functions."""
    return json.loads(data, parse_float=Decimal, parse_int=Decimal)


def minify(data: bytes) -> bytes:
    return msgspec.json.format(data, indent=-1)


# Every string and number token of a JSON text (keys included), as written.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+\-]*')


def tokens(data: bytes) -> Counter[bytes]:
    return Counter(_TOKEN.findall(minify(data)))


@pytest.mark.parametrize("v1_path", PAIRS, ids=lambda path: path.name.removesuffix(".v1.json"))
def test_golden_pair_both_ways(v1_path: Path) -> None:
    v1 = v1_path.read_bytes()
    v2 = v1_path.with_name(v1_path.name.replace(".v1.", ".v2.")).read_bytes()
    assert exact_loads(upgrade_json(v1)) == exact_loads(v2)
    assert exact_loads(downgrade_json(v2)) == exact_loads(v1)
    # Every string and number keeps its exact text; only the container key changes.
    assert tokens(upgrade_json(v1)) == tokens(v1) - Counter([b'"properties"']) + Counter([b'"context"'])
    assert tokens(downgrade_json(v2)) == tokens(v2) - Counter([b'"context"']) + Counter([b'"properties"'])


@pytest.mark.parametrize(("before", "after"), [
    pytest.param(b'{"event_name":"x","properties":{"price":16.00,"n":1E+2,"z":-0,"big":1e400}}',
                 b'{"event_name":"x","price":16.00,"n":1E+2,"z":-0,"big":1e400,"context":{}}', id="number-texts"),
    pytest.param(b'{"event_name":"x","properties":{"id":123456789012345678901234567890123456789}}',
                 b'{"event_name":"x","id":123456789012345678901234567890123456789,"context":{}}', id="huge-integer"),
    pytest.param(b'{"event_name":"caf\\u00e9","properties":{"u":"\\/path\\ud83c\\udfa7\\u00E9\\n"}}',
                 b'{"event_name":"caf\\u00e9","u":"\\/path\\ud83c\\udfa7\\u00E9\\n","context":{}}', id="string-escapes"),
    pytest.param(b'{"event_name":"x","properties":{"page":{"a" : [1, 2]}},"device":{ "ip" :"1" }}',
                 b'{"event_name":"x","page":{"a" : [1, 2]},"context":{"device":{ "ip" :"1" }}}',
                 id="nested-values-verbatim"),
    pytest.param(b'{ "event_name" : "x" ,\n "properties" : { "a" : 1 } , "event_id" : "1" }\n',
                 b'{"event_name":"x","a":1,"context":{"event_id":"1"}}', id="whitespace-between-tokens"),
    pytest.param(b'{"\\u0065vent_name":"x","properties":{"k\\/":1,"a\\u001F":2}}',
                 b'{"\\u0065vent_name":"x","k\\/":1,"a\\u001F":2,"context":{}}', id="keys-keep-their-spelling"),
    pytest.param(b'{"event_name":"x","event_id":"1"}', b'{"event_name":"x","context":{"event_id":"1"}}',
                 id="no-properties-container"),
    pytest.param(b'{"event_name":"x","properties":{"user":"{waiting_for_consent}"}}',
                 b'{"event_name":"x","user":"{waiting_for_consent}","context":{}}', id="user-string"),
])
def test_upgrade_json_table(before: bytes, after: bytes) -> None:
    assert upgrade_json(before) == after
    assert upgrade_json(before.decode("utf-8")) == after


@pytest.mark.parametrize("text", [
    pytest.param(b'{"event_name":"x","context":{"a":16.00}}', id="already-2.0"),
    pytest.param(b'{"event_name":"x"}', id="only-event-name"),
    pytest.param(b'{}', id="empty-object"),
    pytest.param(b'{"event_name" : "x", "context" : {"a" : 1}}', id="2.0-with-spaces-kept"),
])
def test_upgrade_json_leaves_unchanged(text: bytes) -> None:
    result = convert_json(b"  " + text + b"\n", Version.V2)
    assert result == (text, False)


def test_downgrade_json_order() -> None:
    assert downgrade_json(b'{"a":1,"context":{"event_id":"1","page":{}},"event_name":"x","b":2}') == (
        b'{"event_name":"x","event_id":"1","page":{},"properties":{"a":1,"b":2}}')


@pytest.mark.parametrize(("text", "error", "path"), [
    pytest.param(b'{"event_name":"x","properties":{"event_name":"y"}}', CollisionError, "$.properties.event_name",
                 id="properties.event_name"),
    pytest.param(b'{"properties":{"event_name":"y"}}', CollisionError, "$.properties.event_name", id="subtle"),
    pytest.param(b'{"properties":{"\\u0065vent_name":"y"}}', CollisionError, "$.properties.event_name",
                 id="escaped-reserved-key"),
    pytest.param(b'{"event_name":"x","properties":{"context":1}}', CollisionError, "$.properties.context",
                 id="properties.context"),
    pytest.param(b'{"event_name":"x","properties":{"properties":1}}', CollisionError, "$.properties.properties",
                 id="properties.properties"),
    pytest.param(b'{"event_name":"x","properties":{},"context":{}}', AmbiguousVersionError, "$.context",
                 id="root-context-in-1.0"),
    pytest.param(b'{"event_name":"x","properties":"a"}', AmbiguousVersionError, "$.properties", id="not-object"),
    pytest.param(b'{"event_name":"x","properties":{"a":1,"a":2}}', DuplicateKeyError, "$.properties.a",
                 id="duplicate-in-properties"),
    pytest.param(b'{"event_name":"x","properties":{"a":1,"\\u0061":2}}', DuplicateKeyError, "$.properties.a",
                 id="duplicate-spelled-differently"),
    pytest.param(b'{"event_name":"x","e":1, "e" :2,"properties":{}}', DuplicateKeyError, "$.e",
                 id="duplicate-at-root"),
    pytest.param(b'{"event_name":"x","event_name":"y","context":{}}', DuplicateKeyError, "$.event_name",
                 id="duplicate-at-root-of-2.0"),
    pytest.param(b'[1]', NotAnObjectError, "$", id="array"),
    pytest.param(b'"x"', NotAnObjectError, "$", id="string"),
    pytest.param(b'null', NotAnObjectError, "$", id="null"),
])
def test_upgrade_json_refuses(text: bytes, error: type[ConversionError], path: str) -> None:
    with pytest.raises(error) as caught:
        upgrade_json(text)
    assert caught.value.path == path


def test_deep_but_not_too_deep_is_converted() -> None:
    nested = b"[" * 900 + b"16.00" + b"]" * 900
    assert upgrade_json(b'{"properties":{"a":' + nested + b"}}") == b'{"a":' + nested + b',"context":{}}'


def test_nested_duplicates_are_copied_not_refused() -> None:
    """Duplicates below the two levels that move are not restructured: they are copied as they are."""
    assert upgrade_json(b'{"properties":{"a":{"b":1,"b":2}}}') == b'{"a":{"b":1,"b":2},"context":{}}'


@pytest.mark.parametrize(("text", "reason", "line", "column"), [
    pytest.param(b'{"event_name":"x" "properties":{}}', "expected ',' or '}'", 1, 19, id="missing-comma"),
    pytest.param(b'{"event_name":"x",}', "trailing comma in object", 1, 19, id="trailing-comma"),
    pytest.param(b'{"a":[1,2,]}', "trailing comma in array", 1, 11, id="trailing-comma-array"),
    pytest.param(b'{"a":NaN}', "unexpected character 'N'", 1, 6, id="nan"),
    pytest.param(b'{"a":Infinity}', "unexpected character 'I'", 1, 6, id="infinity"),
    pytest.param(b'{"a":01}', "invalid number", 1, 7, id="leading-zero"),
    pytest.param(b'{"a":"x', "unexpected end of input: the JSON value is incomplete", 1, 8, id="truncated"),
    pytest.param(b'', "unexpected end of input: the JSON value is incomplete", 1, 1, id="empty"),
    pytest.param(b'{"a":"caf\xe9"}', "invalid UTF-8 (byte 0xe9); the text must be UTF-8", 1, 10, id="latin-1"),
    pytest.param(b'{"\xc3\xa9":"\xff"}', "invalid UTF-8 (byte 0xff); the text must be UTF-8", 1, 7,
                 id="column-counts-characters"),
    pytest.param(b'{"a":"\\ud800"}', "unpaired surrogate escape \\ud800 (not valid Unicode)", 1, 7,
                 id="lone-high-surrogate"),
    pytest.param(b'{"a":"\\\\ud800\\udc00"}', "unpaired surrogate escape \\udc00 (not valid Unicode)", 1, 14,
                 id="escaped-backslash-then-lone-low"),
    pytest.param(b'\xef\xbb\xbf{}', "a byte order mark (BOM) starts the record; save the file as UTF-8 without BOM",
                 1, 1, id="bom"),
    pytest.param(b'{\n  "a": 1\n  "b": 2\n}', "expected ',' or '}'", 3, 3, id="multi-line"),
    pytest.param(b'{"a":1} {"b":2}', "trailing characters", 1, 9, id="two-values"),
    pytest.param(b'{"a":"tab\there"}', "unexpected character '\\t'", 1, 10, id="control-character"),
    pytest.param(b'{"properties":{"a":' + b"[" * 5000 + b"]" * 5000 + b"}}", TOO_DEEP, 1, 1, id="too-deep"),
    pytest.param(b'{"properties":{"a":' + b"[" * 5000 + b"]" * 4999 + b"}}", TOO_DEEP, 1, 1, id="too-deep-and-broken"),
])
def test_invalid_json_is_located(text: bytes, reason: str, line: int, column: int) -> None:
    with pytest.raises(InvalidJSONError) as caught:
        upgrade_json(text)
    assert (caught.value.reason, caught.value.lineno, caught.value.colno) == (reason, line, column)
    assert str(caught.value) == f"invalid JSON: {reason} (line {line}, column {column})"
    assert isinstance(caught.value, ValueError)


def test_str_with_a_lone_surrogate_is_invalid() -> None:
    with pytest.raises(InvalidJSONError, match="unpaired surrogate"):
        upgrade_json('{"a":"\ud800"}')


# --- properties ----------------------------------------------------------------------------------

@given(st.one_of(v1_texts(), v2_texts()))
def test_upgrade_json_agrees_with_upgrade(text: str) -> None:
    """Parsing upgrade_json's output gives what upgrade gives on the parsed input (and likewise downgrade)."""
    assert exact_loads(upgrade_json(text)) == upgrade(exact_loads(text))
    assert exact_loads(downgrade_json(text)) == downgrade(exact_loads(text))


@given(v1_texts())
@example('{"event_name":"x","properties":{"p":16.00,"q":1E+2,"r":-0,"s":1e400,"t":123456789012345678901234567890}}')
def test_every_string_and_number_keeps_its_text(text: str) -> None:
    """Each string and number token (keys too) of the output is one of the input, written the same way."""
    data = text.encode("utf-8")
    out = upgrade_json(data)
    removed, added = tokens(data) - tokens(out), tokens(out) - tokens(data)
    assert added == Counter([b'"context"'])
    assert sum(removed.values()) == 1
    assert json.loads(next(iter(removed))) == "properties"  # however the input spelled it
    back = downgrade_json(out)
    assert tokens(back) == tokens(data) - removed + Counter([b'"properties"'])


@given(st.one_of(v1_texts(spaces=False), v2_texts(spaces=False)))
def test_whitespace_changes_nothing_but_whitespace(text: str) -> None:
    """Converting an indented text gives the compact result, minified: the fast and the general path agree."""
    compact = text.encode("utf-8")
    pretty = msgspec.json.format(compact, indent=2)
    for convert in (upgrade_json, downgrade_json):
        assert minify(convert(pretty)) == minify(convert(compact))


@given(v1_texts(spaces=False))
def test_fast_path_agrees_with_general_path(text: str) -> None:
    """When the one-pass path answers, its answer is the general path's."""
    data = text.encode("utf-8")
    fast = fast_convert(data, Version.V2)
    if fast is not None:
        assert fast == upgrade_json(b" " + data)  # the leading space sends it down the general path


@given(v1_texts())
def test_json_round_trip(text: str) -> None:
    """downgrade_json(upgrade_json(t)) parses to t, for 1.0 texts with `properties` and no reserved keys."""
    assert exact_loads(downgrade_json(upgrade_json(text))) == exact_loads(text)


@given(v2_texts())
def test_json_round_trip_from_2_0(text: str) -> None:
    """upgrade_json(downgrade_json(t)) parses to t, for 2.0 texts with no reserved keys in `context`."""
    assert exact_loads(upgrade_json(downgrade_json(text))) == exact_loads(text)


@given(st.one_of(v1_texts(), v2_texts()))
def test_json_idempotent(text: str) -> None:
    """Converting twice is converting once."""
    once = upgrade_json(text)
    assert upgrade_json(once) == once
    down = downgrade_json(text)
    assert downgrade_json(down) == down


@given(st.one_of(v1_collisions(), v2_collisions()))
def test_json_collisions_raise_with_their_path(case: tuple[dict[str, Any], str]) -> None:
    """The JSON functions refuse exactly what the dict functions refuse, with the same path."""
    event, path = case
    convert = upgrade_json if path.startswith("$.properties") else downgrade_json
    with pytest.raises(CollisionError) as caught:
        convert(json.dumps(event))
    assert caught.value.path == path


@given(st.one_of(v1_texts(), v2_texts()), st.data())
def test_damaged_text_converts_or_raises_a_migrate_error(text: str, data: st.DataObject) -> None:
    """Cutting, inserting or flipping a byte never causes anything but a result or a MigrateError."""
    raw = bytearray(text.encode("utf-8"))
    assume(raw)
    damage(raw, data, b',:{}[]"\\ \xff\x00e-.')
    for convert in (upgrade_json, downgrade_json):
        with contextlib.suppress(MigrateError):
            convert(bytes(raw))


@given(st.binary(max_size=60))
def test_any_bytes_convert_or_raise_a_migrate_error(raw: bytes) -> None:
    """Arbitrary bytes never cause anything but a result or a MigrateError."""
    with contextlib.suppress(MigrateError):
        upgrade_json(raw)
