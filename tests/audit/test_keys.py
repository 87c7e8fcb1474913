"""Source keys real code holds: handed to the SDKs, in constants, enums and containers; masked; look-alikes."""

from __future__ import annotations

import pytest

from migrate1to2.audit import audit_paths
from tests.audit.helpers import FIXTURES, as_tuples

KEYS = FIXTURES / "code" / "keys"
Expected = list[tuple[str, int, int | None, str | None]]


def _found(name: str, parser: bool) -> Expected:
    return as_tuples(audit_paths([str(KEYS / name)], limit=0, parser=parser))


def _keys(*where: tuple[int, int]) -> Expected:
    return [("source-key", line, column, None) for line, column in where]


@pytest.mark.parametrize("parser", [True, False], ids=["parser", "regex"])
@pytest.mark.parametrize(("name", "expected"), [
    # A constant named SOURCE_KEY_PROD, a literal second argument of TCServerSide, a name passed there and
    # followed to its value in the same file.
    pytest.param("Analytics.kt", _keys((9, 34), (13, 68), (17, 41)), id="kotlin-constant-argument-followed-name"),
    pytest.param("SourceKey.kt", _keys((5, 17), (6, 18)), id="kotlin-enum-named-for-source-keys"),
    pytest.param("TrackerModule.java", _keys((10, 46)), id="java-new-TCServerSide"),
    pytest.param("Tracking.swift", _keys((5, 23), (9, 62), (14, 67)), id="swift-enum-case-andSourceKey-init"),
    pytest.param("TCTracking.m", _keys((8, 80)), id="objc-initWithSiteID-andSourceKey"),
    pytest.param("tracking.ts", _keys((4, 44)), id="react-native-initServerSide"),
    pytest.param("tracking.dart", _keys((6, 42)), id="flutter-initServerSide"),
    # Placeholders of the demo apps, keys from the build configuration, other software's "source keys".
    pytest.param("lookalikes.kt", [], id="placeholders-and-other-source-keys"),
])
def test_keys_in_code(name: str, expected: Expected, parser: bool) -> None:
    found = _found(name, parser)
    if name == "Analytics.kt":  # the site read through two levels of calls: only the parser sees the arguments
        assert (("source-key", 23, 102, None) in found) is parser
        found = [item for item in found if item[1] != 23]
    assert found == expected


def test_keys_are_found_without_a_collect_host_in_the_file() -> None:
    """Mobile apps never write the collect host: the SDK call is enough."""
    text = (KEYS / "TrackerModule.java").read_text(encoding="utf-8")
    assert "commander1" not in text
    assert _found("TrackerModule.java", True) == _keys((10, 46))
