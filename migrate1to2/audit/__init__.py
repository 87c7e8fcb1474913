"""Audit: find every place format 1.0 is still produced, in stored payloads and in code.

Library use: :func:`audit_payload` checks one decoded payload (:func:`check_event`
also tells its version, as an :class:`EventAudit`); :func:`audit_paths` walks files
and folders and returns an :class:`AuditReport`. The command line
(``migrate1to2 audit``) renders the report as text, JSON or SARIF 2.1.0.

Severities, ordered: ``info`` < ``warning`` < ``error``. Every finding also says
whether it shows 1.0 still being produced (``version == "1.0"``; those make the
command exit 1), is an informational 2.0 site (``"2.0"``) or neither (``None``).

What is reported (rule ids in brackets; :data:`~.rules.RULES` has the help texts):

Payload files (NDJSON, a JSON object or array, any compression; request bodies
sent to the collect endpoint in HAR captures and Postman collections; see
:mod:`.classify` for which files count: a file whose records have ``event_name``
at their root, never one that only names it below the root, such as a JSON
Schema; a file named on the command line is always audited: for source keys, or
as text, when it holds no payload). Records are counted by version (``1.0``,
``2.0``, ``either``, ``invalid``) and by ``event_name``; a 2.0 batch body
``{"batch": [...]}`` counts each of its events. Memory is bounded (see
:mod:`.walk`): NDJSON and arrays are streamed, a record over 16 MiB is not read,
and captures are read up to 128 MiB.

- a file holding 1.0 records: one finding per file, at the first [payload-1.0];
- invalid JSON, with line and column, and events nested too deeply to be
  serialised [invalid-json]; valid JSON that is not an object [not-an-object];
  both or malformed containers [ambiguous-version];
- collisions and duplicate keys that block the conversion to 2.0 [collision,
  duplicate-key] (the converter's own rules: :func:`migrate1to2.upgrade`);
- events over 32 KB (32768 bytes) as compact JSON [too-large] (a record over
  16 MiB is not read: it is reported from its size and counted ``invalid``);
- ``event_timestamp`` (at the root or in ``context``) that is not epoch
  milliseconds: seconds, micro/nanoseconds, fractions, ISO-8601 strings, numeric
  strings, other types [timestamp-not-ms];
- legacy shapes: ``event`` instead of ``event_name``, root ``eventId`` /
  ``eventTimestamp``, ``version: 1``, ``device.userAgent`` / ``device.cookies``
  [legacy-shape] (``eventId`` inside a 2.0 ``context`` is the 2.0 web container's
  shape and is not reported);
- ``user`` (root or ``properties.user``) that is not an object [user-not-object];
- no string ``event_name`` (unless a legacy ``event`` is there) [missing-event-name].

Template placeholders (``"{{timestamp}}"``, ``"${ts}"``) are not judged.

Code (see :mod:`.source` for the exact rules): call sites that send to the
collect endpoint with a body built with ``properties`` (1.0, error) or
``context`` (2.0, info) as a key of the body (in the same literal as
``event_name`` / ``event_id``, or assigned into the body) within 15 lines
[call-site-1.0, call-site-2.0], reported at the call, once per line; the retired
draft endpoint ``api.commander1.com/v2/{siteId}/events`` written as a URL (its
scheme starting a string) [call-site-1.0]; generated web containers, by the wire
object their ``tC.trigger = function (...)`` definition builds: ``version: 1`` /
``properties`` or ``version: 2`` / ``context`` (never the options object passed to
``tC.trigger({...})`` or ``cact('trigger', ...)``; see :mod:`.webcontainer`)
[web-container-1.0, web-container-2.0]; source keys (see :mod:`.keys`) written next
to the collect host (``token=``, ``Bearer``, names that say token, key or secret) or,
anywhere in a file that sends to it, under a name that says source key (``TC_TOKEN``,
``SITE_TOKEN``), quoted or, in configuration files and shell scripts, unquoted; in
any source file, keys handed to the server-side SDKs (``TCServerSide(siteID, key,
...)``, ``andSourceKey:``, ``initServerSide``), held in names that say source key
(``containerSourceKey``, ``SOURCE_KEY_PROD``) or in enums named for source keys;
key-like variables of a Postman collection that sends to the collect endpoint
[source-key]. Not reported: parameters, local variables and destructuring named
``properties``, the configuration API ``api.commander1.com/v2/...``, other
vendors' ``properties`` APIs (Segment, Mixpanel, ...: their ``properties`` is not a
key of a body with ``event_name``), plain proxies (no body built), commented-out
code, documentation found in a folder (Markdown, reStructuredText, text files),
and payloads built more than 15 lines (or 2,000 characters) from the request.

Build files (see :mod:`.sdk` and :mod:`.project`): Android ``com.tagcommander.lib:ServerSide``
below 5.4.0 and iOS ``TCServerSide`` / ``TCServerSide_noIDFA`` below 5.3.0 [sdk-1.0],
at or above [sdk-2.0], or a version that cannot be told [sdk-version-unresolved].
Versions set in another file (``buildSrc`` constants, ``gradle.properties``) are
followed; the ``iOSV5`` Swift package's tags are judged by the TCServerSide they
ship (:mod:`.releases`); an Xcode project (``project.pbxproj``) gives its package
requirements and which products its targets link (consent-only apps are not
reported); the Flutter and React Native plugins are judged by what their releases
bundle; vendored ``.aar`` files and ``TCServerSide*.xcframework`` are reported.

Source keys are masked everywhere (``abcd…(32)``): messages, fingerprints,
baseline files, and every output format; so are the values of a Postman
collection's variables that look like keys, wherever a body quotes them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import AuditReport, Finding, PayloadStats, Severity
    from .payload import EventAudit, audit_payload, check_event
    from .rules import RULES, Rule
    from .walk import AuditUsageError, audit_paths

# Imported on first use: the command line reads ``Severity`` without paying for the detectors.
_WHERE = {"AuditReport": ".model", "Finding": ".model", "PayloadStats": ".model", "Severity": ".model",
          "audit_payload": ".payload", "check_event": ".payload", "EventAudit": ".payload", "RULES": ".rules",
          "Rule": ".rules", "AuditUsageError": ".walk", "audit_paths": ".walk"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "RULES",
    "AuditReport",
    "AuditUsageError",
    "EventAudit",
    "Finding",
    "PayloadStats",
    "Rule",
    "Severity",
    "audit_paths",
    "audit_payload",
    "check_event",
]
