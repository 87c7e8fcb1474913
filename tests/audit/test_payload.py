"""One payload: `audit_payload` on dicts, `audit_record` on JSON text, and the timestamp rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from migrate1to2 import audit_payload
from migrate1to2.audit import EventAudit
from migrate1to2.audit import check_event as public_check_event
from migrate1to2.audit.payload import MAX_EVENT_BYTES, audit_record, check_event
from migrate1to2.audit.timestamps import timestamp_problem
from tests.conftest import FIXTURES as ALL_FIXTURES

PAIRS = ALL_FIXTURES / "pairs"


def rules(event: Any) -> list[tuple[str, str | None, str | None]]:
    return sorted((f.rule, f.json_path, f.version) for f in audit_payload(event))


@pytest.mark.parametrize(("event", "expected"), [
    pytest.param({"event_name": "search", "context": {"event_id": "1", "event_timestamp": 1639044446636}}, [],
                 id="clean-2.0"),
    pytest.param({"event_name": "search", "event_id": "1", "properties": {"user": {"id": "1"}}}, [],
                 id="clean-1.0-is-no-finding-by-itself"),
    pytest.param({"event_name": "heartbeat"}, [], id="either"),
    pytest.param({"event_name": "x", "properties": {"event_name": "y"}},
                 [("collision", "$.properties.event_name", None)], id="collision-event-name"),
    pytest.param({"event_name": "x", "properties": {"context": {}}},
                 [("collision", "$.properties.context", None)], id="collision-context"),
    pytest.param({"properties": {"event_name": "x"}},
                 [("collision", "$.properties.event_name", None), ("missing-event-name", "$", None)],
                 id="collision-without-root-event-name"),
    pytest.param({"event_name": "x", "properties": {}, "context": {}},
                 [("ambiguous-version", "$.context", None)], id="both-containers"),
    pytest.param({"event_name": "x", "context": []}, [("ambiguous-version", "$.context", None)],
                 id="container-not-an-object"),
    pytest.param({"event_name": "x", "user": "{waiting_for_consent}", "context": {}},
                 [("user-not-object", "$.user", None)], id="user-consent-placeholder"),
    pytest.param({"event_name": "x", "properties": {"user": None}},
                 [("user-not-object", "$.properties.user", None)], id="user-null-in-properties"),
    pytest.param({"event_name": "x", "user": "{{user}}", "context": {}}, [], id="user-template-not-judged"),
    pytest.param({"event_name": "x", "event_timestamp": 1639044446, "properties": {}},
                 [("timestamp-not-ms", "$.event_timestamp", None)], id="timestamp-seconds"),
    pytest.param({"event_name": "x", "context": {"event_timestamp": "2021-12-09T10:07:26Z"}},
                 [("timestamp-not-ms", "$.context.event_timestamp", None)], id="timestamp-iso-in-context"),
    pytest.param({"event_name": "x", "context": {"event_timestamp": "{{$timestamp}}"}}, [],
                 id="timestamp-template-not-judged"),
    pytest.param({"context": {}}, [("missing-event-name", "$", None)], id="missing-event-name"),
    pytest.param({"event_name": 7, "context": {}}, [("missing-event-name", "$.event_name", None)],
                 id="event-name-not-a-string"),
    pytest.param({"event_name": " ", "context": {}}, [("missing-event-name", "$.event_name", None)],
                 id="event-name-empty"),
    pytest.param({"event": "page_view", "eventId": "1", "eventTimestamp": "2021-11-05T14:04:16Z",
                  "device": {"userAgent": "Mozilla", "cookies": "a=1"}},
                 [("legacy-shape", "$.device.cookies", "1.0"), ("legacy-shape", "$.device.userAgent", "1.0"),
                  ("legacy-shape", "$.event", "1.0"), ("legacy-shape", "$.eventId", "1.0"),
                  ("legacy-shape", "$.eventTimestamp", "1.0")], id="pre-1.0-draft"),
    pytest.param({"event": "purchase", "eventId": "1", "version": 1, "properties": {}, "page": {}},
                 [("legacy-shape", "$.event", "1.0"), ("legacy-shape", "$.eventId", "1.0"),
                  ("legacy-shape", "$.version", "1.0")], id="1.0-web-container"),
    pytest.param({"event_name": "purchase", "context": {"eventId": "1", "version": 2, "created": 1}}, [],
                 id="2.0-web-container-is-not-legacy"),
    pytest.param({"event_name": "x", "event": "custom", "properties": {}}, [], id="event-next-to-event-name"),
    pytest.param({"event_name": "x", "blob": "x" * MAX_EVENT_BYTES, "context": {}}, [("too-large", "$", None)],
                 id="over-32-kb"),
    pytest.param({"event_name": "x", "blob": "x" * (MAX_EVENT_BYTES - 50), "context": {}}, [],
                 id="just-under-32-kb"),
])
def test_audit_payload(event: dict[str, Any], expected: list[tuple[str, str | None, str | None]]) -> None:
    assert rules(event) == expected


def test_findings_of_a_payload_are_located_at_payload_line_1() -> None:
    (found,) = audit_payload({"event_name": "x", "properties": {"user": "anonymous"}})
    assert (found.path, found.line, found.column, found.severity.value) == ("<payload>", 1, None, "warning")
    assert found.message == '`user` is a string ("anonymous"), not an object'


def test_not_an_object() -> None:
    audit = check_event(["a"])
    assert (audit.version, [f.rule for f in audit.findings]) == ("invalid", ["not-an-object"])


def test_the_input_is_not_mutated() -> None:
    event = {"event_name": "x", "properties": {"event_name": "y", "user": "u"}, "event_timestamp": 1}
    copy = json.loads(json.dumps(event))
    audit_payload(event)
    assert event == copy


@pytest.mark.parametrize("pair", sorted(p.name for p in PAIRS.glob("*.json")))
def test_official_pairs_have_no_collision_or_legacy_finding(pair: str) -> None:
    """The official before/after examples convert: no collision, no legacy shape, no invalid record."""
    event = json.loads((PAIRS / pair).read_text())
    assert {f.rule for f in audit_payload(event)} <= {"timestamp-not-ms", "user-not-object"}


@pytest.mark.parametrize(("value", "category"), [
    pytest.param(1639044446636, None, id="ms"),
    pytest.param(1639044446636.0, None, id="ms-float-integral"),
    pytest.param(1639044446, "seconds", id="seconds"),
    pytest.param(1639044446.636, "seconds-fraction", id="seconds-fraction"),
    pytest.param(1639044446636.5, "fraction", id="ms-fraction"),
    pytest.param(1639044446636000, "microseconds", id="micro"),
    pytest.param(1639044446636000000, "nanoseconds", id="nano"),
    pytest.param(12345, "too-small", id="too-small"),
    pytest.param(-1, "negative", id="negative"),
    pytest.param("1639044446636", "numeric-string", id="numeric-string-ms"),
    pytest.param("1639044446", "numeric-string", id="numeric-string-s"),
    pytest.param("2021-12-09T10:07:26.636Z", "iso-string", id="iso"),
    pytest.param("2021-12-09", "iso-string", id="iso-date"),
    pytest.param("yesterday", "string", id="other-string"),
    pytest.param(True, "boolean", id="boolean"),
    pytest.param(None, "null", id="null"),
    pytest.param(float("inf"), "not-finite", id="infinite"),
    pytest.param({"ms": 1}, "object", id="object"),
    pytest.param("{{timestamp}}", None, id="template"),
])
def test_timestamp_categories(value: Any, category: str | None) -> None:
    problem = timestamp_problem(value)
    assert (problem.category if problem else None) == category


Located = list[tuple[str, int, int | None]]


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(b'{"event_name":"a" "context":{}}', [("invalid", [("invalid-json", 1, 19)])], id="missing-comma"),
    pytest.param(b'{\n  "event_name": "a",\n}', [("invalid", [("invalid-json", 3, 1)])], id="trailing-comma"),
    pytest.param(b'{"event_name":"caf\xe9"}', [("invalid", [("invalid-json", 1, 19)])], id="not-utf8"),
    pytest.param(b'"text"', [("invalid", [("not-an-object", 1, 1)])], id="string"),
    pytest.param(b'{"event_name":"a","n":1e400,"context":{}}', [("2.0", [])], id="number-beyond-double-is-valid"),
    pytest.param(b'{"event_name":"a","properties":{"k":1,"k":2}}', [("1.0", [("duplicate-key", 1, 33)])],
                 id="duplicate-key"),
    pytest.param(b'{"event_name":"a",\n "properties":{"user":"u"}}', [("1.0", [("user-not-object", 2, 16)])],
                 id="located-at-the-key"),
    pytest.param(b'{"event_name":"a","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                 [("invalid", [("invalid-json", 1, 1)])], id="nested-too-deeply-is-a-finding-not-a-crash"),
    pytest.param(b'{"batch":[{"event_name":"a","context":{}},\n{"event_name":"b","event_timestamp":1,"properties":{}}]}',
                 [("2.0", []), ("1.0", [("timestamp-not-ms", 2, 19)])], id="batch"),
    pytest.param(b'{"event_name":"a","properties":{"event_timestamp":1},"event_timestamp":1700000000}',
                 [("1.0", [("timestamp-not-ms", 1, 54)])], id="root-key-after-a-nested-key-of-the-same-name"),
    pytest.param(b'{"event_name":"a","user":{"context":{"event_timestamp":1}},"context":{"event_timestamp":"1"}}',
                 [("2.0", [("timestamp-not-ms", 1, 71)])], id="context-key-after-a-nested-context"),
    pytest.param(b'{"event_name":"a","user":"{\\"user\\":1}","properties":{"user":7}}',
                 [("1.0", [("user-not-object", 1, 19), ("user-not-object", 1, 55)])],
                 id="key-quoted-in-a-string-before-the-key"),
])
def test_audit_record(data: bytes, expected: list[tuple[str, Located]]) -> None:
    got = [(a.version, [(f.rule, f.line, f.column) for f in a.findings]) for a in audit_record(data)]
    assert got == expected


def _nested(depth: int) -> dict[str, Any]:
    event: dict[str, Any] = {"event_name": "deep", "properties": {}}
    inner = event["properties"]
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return event


def test_an_event_nested_too_deeply_is_a_finding_not_a_crash() -> None:
    (found,) = audit_payload(_nested(5000))
    assert (found.rule, found.json_path, found.message) == (
        "invalid-json", "$", "invalid JSON: the record is nested too deeply (about 1000 levels of objects and "
                             "arrays at most)")


@pytest.mark.parametrize(("event", "version"), [
    pytest.param({"event_name": "a", "event_id": "1", "properties": {}}, "1.0", id="clean-1.0"),
    pytest.param({"event_name": "a", "context": {}}, "2.0", id="clean-2.0"),
    pytest.param({"event_name": "a"}, "either", id="either"),
    pytest.param({"event_name": "a", "properties": {}, "context": {}}, "invalid", id="ambiguous"),
])
def test_check_event_tells_the_version_that_audit_payload_does_not(event: dict[str, Any], version: str) -> None:
    audit = public_check_event(event)
    assert isinstance(audit, EventAudit)
    assert (audit.version, audit.event_name) == (version, "a")
    assert [f.rule for f in audit.findings] == [f.rule for f in audit_payload(event)]
