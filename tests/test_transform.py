"""The mapping on dicts: golden pairs, tables, collisions, version detection, and its properties."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate1to2 import (
    AmbiguousVersionError,
    CollisionError,
    ConversionError,
    NotAnObjectError,
    Version,
    detect_version,
    downgrade,
    upgrade,
)
from tests.conftest import FIXTURES
from tests.strategies import json_values, v1_collisions, v1_payloads, v2_collisions, v2_payloads

PAIRS = sorted(FIXTURES.glob("pairs/*.v1.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_golden_pairs_are_there() -> None:
    names = {path.name.removesuffix(".v1.json") for path in PAIRS}
    assert {"web-search", "http-api-search", "mobile-add-to-cart", "web-purchase"} <= names
    assert all(path.with_name(path.name.replace(".v1.", ".v2.")).exists() for path in PAIRS)


@pytest.mark.parametrize("v1_path", PAIRS, ids=lambda path: path.name.removesuffix(".v1.json"))
def test_golden_pair_both_ways(v1_path: Path) -> None:
    v1, v2 = load(v1_path), load(v1_path.with_name(v1_path.name.replace(".v1.", ".v2.")))
    assert upgrade(v1) == v2
    assert downgrade(v2) == v1
    assert detect_version(v1) is Version.V1
    assert detect_version(v2) is Version.V2


def test_key_order_event_name_first_then_moved_keys_then_container() -> None:
    event = {"event_id": "1", "properties": {"b": 1, "a": 2}, "event_name": "x", "page": {}}
    assert list(upgrade(event)) == ["event_name", "b", "a", "context"]
    assert list(upgrade(event)["context"]) == ["event_id", "page"]
    back = downgrade(upgrade(event))
    assert list(back) == ["event_name", "event_id", "page", "properties"]


@pytest.mark.parametrize(("before", "after"), [
    pytest.param({"event_name": "x", "properties": {}}, {"event_name": "x", "context": {}}, id="empty-properties"),
    pytest.param({"event_name": "x", "event_id": "1"}, {"event_name": "x", "context": {"event_id": "1"}},
                 id="no-properties-container"),
    pytest.param({"event_id": "1", "properties": {"a": 1}}, {"a": 1, "context": {"event_id": "1"}},
                 id="no-event-name"),
    pytest.param({"event_name": "x", "properties": {"user": "{waiting_for_consent}"}},
                 {"event_name": "x", "user": "{waiting_for_consent}", "context": {}}, id="user-not-an-object"),
    pytest.param({"event_name": "x", "properties": {"integrations": {"a": True}, "test_code": "T1"},
                  "generatorVersion": "10.0", "unknown_key": [1]},
                 {"event_name": "x", "integrations": {"a": True}, "test_code": "T1",
                  "context": {"generatorVersion": "10.0", "unknown_key": [1]}}, id="every-other-root-key-to-context"),
    pytest.param({"event_name": "x", "properties": {}, "page": {"location": "https://a/"}},
                 {"event_name": "x", "context": {"page": {"location": "https://a/"}}}, id="page-location-not-renamed"),
    pytest.param({"event_name": 7, "properties": {"event_id": "in properties"}},
                 {"event_name": 7, "event_id": "in properties", "context": {}}, id="values-of-any-type"),
])
def test_upgrade_table(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert upgrade(before) == after
    assert list(upgrade(before)) == list(after)


@pytest.mark.parametrize("event", [
    pytest.param({"event_name": "x", "context": {"event_id": "1"}}, id="already-2.0"),
    pytest.param({"event_name": "x"}, id="only-event-name"),
    pytest.param({}, id="empty"),
])
def test_upgrade_leaves_unchanged(event: dict[str, Any]) -> None:
    assert upgrade(event) == event


@pytest.mark.parametrize("event", [
    pytest.param({"event_name": "x", "properties": {"a": 1}}, id="already-1.0"),
    pytest.param({"event_name": "x", "event_id": "1"}, id="1.0-without-properties"),
    pytest.param({"event_name": "x"}, id="only-event-name"),
])
def test_downgrade_leaves_unchanged(event: dict[str, Any]) -> None:
    assert downgrade(event) == event


@pytest.mark.parametrize(("event", "back", "why"), [
    pytest.param({"event_name": "x", "event_id": "1"}, {"event_name": "x", "event_id": "1", "properties": {}},
                 "1.0 without `properties`: the 2.0 form cannot say the container was missing", id="no-container"),
    pytest.param({"properties": {}}, {"properties": {}}, "round-trips, but through {'context': {}}", id="bare"),
])
def test_intentionally_not_round_trip(event: dict[str, Any], back: dict[str, Any], why: str) -> None:
    assert downgrade(upgrade(event)) == back, why


@pytest.mark.parametrize(("event", "path"), [
    pytest.param({"event_name": "hidden_event", "properties": {"event_name": "purchase"}}, "$.properties.event_name",
                 id="android-hidden-event"),
    pytest.param({"properties": {"event_name": "x"}}, "$.properties.event_name", id="no-root-event-name"),
    pytest.param({"event_name": "x", "properties": {"context": {}}}, "$.properties.context", id="properties.context"),
    pytest.param({"event_name": "x", "properties": {"properties": {}}}, "$.properties.properties",
                 id="properties.properties"),
])
def test_upgrade_collisions(event: dict[str, Any], path: str) -> None:
    with pytest.raises(CollisionError) as caught:
        upgrade(event)
    assert caught.value.path == path
    assert str(caught.value).endswith(f" @ {path}")
    assert "rename or remove it before converting" in caught.value.reason


@pytest.mark.parametrize(("event", "path"), [
    pytest.param({"event_name": "x", "context": {"event_name": "y"}}, "$.context.event_name", id="context.event_name"),
    pytest.param({"event_name": "x", "context": {"properties": {}}}, "$.context.properties", id="context.properties"),
    pytest.param({"event_name": "x", "context": {"context": {}}}, "$.context.context", id="context.context"),
])
def test_downgrade_collisions(event: dict[str, Any], path: str) -> None:
    with pytest.raises(CollisionError) as caught:
        downgrade(event)
    assert caught.value.path == path


@pytest.mark.parametrize(("event", "error", "path", "words"), [
    pytest.param({"properties": {}, "context": {}}, AmbiguousVersionError, "$.context", "both `properties`",
                 id="both-containers"),
    pytest.param({"event_name": "x", "properties": [1]}, AmbiguousVersionError, "$.properties", "is an array",
                 id="properties-array"),
    pytest.param({"context": "x"}, AmbiguousVersionError, "$.context", "is a string", id="context-string"),
    pytest.param({"properties": None}, AmbiguousVersionError, "$.properties", "is null", id="properties-null"),
    pytest.param([1, 2], NotAnObjectError, "$", "got an array", id="not-an-object"),
])
def test_ambiguous_or_invalid(event: Any, error: type[ConversionError], path: str, words: str) -> None:
    for convert in (upgrade, downgrade, detect_version):
        with pytest.raises(error) as caught:
            convert(event)
        assert caught.value.path == path
        assert words in caught.value.reason
        assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("event", "version"), [
    pytest.param({"event_name": "x", "properties": {}}, Version.V1, id="properties"),
    pytest.param({"event_name": "x", "context": {}}, Version.V2, id="context"),
    pytest.param({"event_name": "x", "event_id": "1"}, Version.V1, id="meta-at-root"),
    pytest.param({"event_name": "x"}, Version.EITHER, id="only-event-name"),
    pytest.param({}, Version.EITHER, id="empty"),
])
def test_detect_version(event: dict[str, Any], version: Version) -> None:
    assert detect_version(event) is version
    assert str(version) == version.value


# --- properties ----------------------------------------------------------------------------------

@given(v1_payloads())
def test_downgrade_inverts_upgrade(event: dict[str, Any]) -> None:
    """downgrade(upgrade(x)) == x for 1.0 payloads with `properties` and no reserved keys."""
    assert downgrade(upgrade(event)) == event


@given(v2_payloads())
def test_upgrade_inverts_downgrade(event: dict[str, Any]) -> None:
    """upgrade(downgrade(y)) == y for 2.0 payloads with no reserved keys in `context`."""
    assert upgrade(downgrade(event)) == event


@given(v1_payloads(with_properties=False))
def test_upgrade_gives_2_0_and_is_idempotent(event: dict[str, Any]) -> None:
    """upgrade(upgrade(x)) == upgrade(x), and the result reads as 2.0 (or as both)."""
    once = upgrade(event)
    assert upgrade(once) == once
    assert detect_version(once) in (Version.V2, Version.EITHER)
    assert "properties" not in once


@given(v2_payloads())
def test_downgrade_is_idempotent(event: dict[str, Any]) -> None:
    """downgrade(downgrade(y)) == downgrade(y), and the result reads as 1.0."""
    once = downgrade(event)
    assert downgrade(once) == once
    assert detect_version(once) is Version.V1
    assert "context" not in once


@given(st.one_of(v1_payloads(with_properties=False), v2_payloads()))
def test_input_never_mutated_and_output_shares_nothing(event: dict[str, Any]) -> None:
    """Neither function mutates its input; the output shares no dict or list with it; it is plain JSON data."""
    before = copy.deepcopy(event)
    for convert in (upgrade, downgrade):
        result = convert(event)
        assert event == before
        assert json.loads(json.dumps(result)) == result
        _clobber(result)
        assert event == before


def _clobber(value: Any) -> None:
    if isinstance(value, dict):
        for item in list(value.values()):
            _clobber(item)
        value.clear()
    elif isinstance(value, list):
        for item in value:
            _clobber(item)
        value.clear()


@given(v1_collisions())
def test_v1_collisions_always_raise_with_their_path(case: tuple[dict[str, Any], str]) -> None:
    """A reserved key inside `properties` is always refused, naming its path."""
    event, path = case
    with pytest.raises(CollisionError) as caught:
        upgrade(event)
    assert caught.value.path == path


@given(v2_collisions())
def test_v2_collisions_always_raise_with_their_path(case: tuple[dict[str, Any], str]) -> None:
    """A reserved key inside `context` is always refused, naming its path."""
    event, path = case
    with pytest.raises(CollisionError) as caught:
        downgrade(event)
    assert caught.value.path == path


@given(json_values())
def test_any_json_value_converts_or_raises_a_conversion_error(value: Any) -> None:
    """Whatever the input, the result is a dict or a ConversionError: never another exception."""
    for convert in (upgrade, downgrade):
        try:
            assert isinstance(convert(value), dict)
        except ConversionError as error:
            assert error.path.startswith("$")
