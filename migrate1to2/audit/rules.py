"""The audit's rules: id, severity, what they say about the version, and help text (also used by SARIF)."""

from __future__ import annotations

from dataclasses import dataclass

from ..version import Version
from .model import Finding, Severity

__all__ = ["RULES", "Rule", "finding"]


@dataclass(frozen=True)
class Rule:
    """A kind of finding. ``version`` is :attr:`Version.V1` when such a finding shows 1.0 still being produced
    (:attr:`Version.V2`: an informational 2.0 site)."""

    id: str
    name: str
    severity: Severity
    version: Version | None
    title: str
    help: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_V1, _V2 = Version.V1, Version.V2

_RULES = [
    # Payload files and captured request bodies.
    Rule("payload-1.0", "PayloadFileHolds1_0", _E, _V1,
         "Payload file holds 1.0 records",
         "Stored payloads (or request bodies captured in a HAR file or a Postman collection) are in format 1.0: "
         "`properties` holds the event's data and the meta-data sits at the root. Whatever produced them still "
         "sends 1.0. Convert stored archives with `migrate1to2 convert`, and fix the producer."),
    Rule("legacy-shape", "LegacyShape", _W, _V1,
         "Pre-1.0 or 1.0-era web container shape",
         "The record uses a shape older than 2.0: `event` instead of `event_name`, camelCase `eventId` or "
         "`eventTimestamp` at the root, `version: 1` (1.0-era web containers), or the pre-1.0 draft names "
         "`device.userAgent` / `device.cookies`. The tool reports these shapes but never renames them."),
    Rule("invalid-json", "InvalidJson", _E, None,
         "Invalid JSON",
         "The record is not valid JSON (or not UTF-8, or nested too deeply to be read or serialised): the collect "
         "endpoint answers 400 to such a body and the converter cannot read it. The finding gives the line and "
         "column of the error."),
    Rule("not-an-object", "NotAnObject", _E, None,
         "Record is not a JSON object",
         "The record is valid JSON but not an object (an array, a string, a number...): it is not a payload."),
    Rule("ambiguous-version", "AmbiguousVersion", _E, None,
         "Version cannot be told",
         "The record has both `properties` (1.0) and `context` (2.0), or one of them is not an object, so it is "
         "neither 1.0 nor 2.0. Merge or remove one of them before converting."),
    Rule("collision", "ConversionCollision", _E, None,
         "Collision blocks conversion",
         "Converting this 1.0 record to 2.0 would overwrite a key or produce a body whose version can no longer "
         "be told (`event_name`, `properties` or `context` inside `properties`, or a root `context`). Rename or "
         "remove the key before converting."),
    Rule("duplicate-key", "DuplicateKey", _E, None,
         "Duplicate key blocks conversion",
         "A key occurs twice in an object that the conversion restructures: converting would silently keep only "
         "one of its values. Remove or rename one of them."),
    Rule("too-large", "EventTooLarge", _W, None,
         "Event over 32 KB",
         "The record is larger than 32 KB (32768 bytes) serialised as compact JSON: 2.0 accepts at most 32 KB "
         "per event, and the collect endpoint answers 400 to a larger body."),
    Rule("timestamp-not-ms", "TimestampNotEpochMs", _W, None,
         "event_timestamp is not epoch milliseconds",
         "`event_timestamp` should be a number of milliseconds since the epoch. Seconds, micro- or nanoseconds, "
         "ISO-8601 strings and numeric strings are kept as they are by the converter but are read wrongly or not "
         "at all downstream."),
    Rule("user-not-object", "UserNotObject", _W, None,
         "user is not an object",
         "`user` should be an object. Before consent the SDKs may send the string \"{waiting_for_consent}\" "
         "where `user` goes; anything but an object loses the user's data."),
    Rule("missing-event-name", "MissingEventName", _W, None,
         "event_name is missing",
         "Every event needs a string `event_name` at the root (in both versions)."),
    # Code.
    Rule("call-site-1.0", "CallSiteSends1_0", _E, _V1,
         "Code sends a 1.0 payload to the collect endpoint",
         "This code posts to the collect endpoint (`collect.commander1.com/events`, `/cdp/events` on a "
         "first-party domain, `/events/batch`) with a body built with `properties` next to `event_name` / "
         "`event_id` (format 1.0), or posts to the retired pre-1.0 draft endpoint "
         "`api.commander1.com/v2/{siteId}/events`. Build the 2.0 body instead: the data at the root, the "
         "meta-data (`event_id`, `event_timestamp`, `page`, `device`, ...) under `context`."),
    Rule("call-site-2.0", "CallSiteSends2_0", _I, _V2,
         "Code sends a 2.0 payload to the collect endpoint",
         "This code posts to the collect endpoint with a body built with `context` (format 2.0). Informational: "
         "nothing to change."),
    Rule("web-container-1.0", "WebContainer1_0", _E, _V1,
         "Web container builds 1.0 events",
         "A web container's `tC.trigger` builds the event with `properties` / `version: 1` (1.0). Regenerate the "
         "container with a generator that emits 2.0 (`context` / `version: 2`)."),
    Rule("web-container-2.0", "WebContainer2_0", _I, _V2,
         "Web container builds 2.0 events",
         "A web container's `tC.trigger` builds the event with `context` / `version: 2` (2.0). Informational."),
    Rule("sdk-1.0", "MobileSdkSends1_0", _E, _V1,
         "Mobile SDK version sends 1.0",
         "The app depends on a server-side SDK that sends 1.0: Android `com.tagcommander.lib:ServerSide` before "
         "5.4.0, iOS `TCServerSide` / `TCServerSide_noIDFA` before 5.3.0. Upgrade to 5.4.0 (Android) or 5.3.0 "
         "(iOS) or later, which send 2.0."),
    Rule("sdk-2.0", "MobileSdkSends2_0", _I, _V2,
         "Mobile SDK version sends 2.0",
         "The app depends on a server-side SDK version that sends 2.0. Informational."),
    Rule("sdk-version-unresolved", "MobileSdkVersionUnresolved", _W, None,
         "Mobile SDK version cannot be told",
         "The server-side SDK is declared without a version, with a version set elsewhere (a variable from "
         "another file) or with a range that allows both 1.0 and 2.0 versions. Check the resolved version (the "
         "lock file) and pin 5.4.0 (Android) / 5.3.0 (iOS) or later."),
    Rule("source-key", "SourceKeyInCode", _E, None,
         "Source key written in code",
         "A source key (`token=...` in a collect URL, `Authorization: Bearer ...`, a `token` parameter or a "
         "name that says token, key or secret next to the collect host, a name such as `TC_TOKEN` or "
         "`SOURCE_KEY` in a file that sends to it, a Postman collection variable) is written in the code, a "
         "configuration file or a capture. It is a credential: move it to a secret store and rotate it. "
         "Reports never show the key in full."),
]

#: Every rule by id, in catalogue order.
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def finding(rule_id: str, message: str, *, path: str = "", line: int = 1, column: int | None = None,
            match: str = "", json_path: str | None = None) -> Finding:
    """A :class:`Finding` of rule ``rule_id``, with the rule's severity and version."""
    rule = RULES[rule_id]
    return Finding(rule=rule.id, severity=rule.severity, path=path, line=line, column=column, message=message,
                   version=rule.version, match=match, json_path=json_path)
