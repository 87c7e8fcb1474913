"""The report in its three formats: text (for people), JSON and SARIF 2.1.0 (for CI). Pure: report in, text out.

Every output goes through :func:`.masking.redact` as a last step, so a source key
cannot reach it in full even if a message quoted one.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..version import Version
from .kinds import OutputFormat
from .masking import redact
from .model import VERSION_KEYS, AuditReport, Severity
from .rules import RULES

__all__ = ["SARIF_SCHEMA", "OutputFormat", "render", "summary"]

#: The schema a SARIF report names (OASIS SARIF 2.1.0, errata 01).
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def summary(report: AuditReport) -> dict[str, Any]:
    """Counts over every finding (listed or not, after the baseline)."""
    by_severity = dict.fromkeys((s.value for s in reversed(Severity)), 0)
    showing_1_0 = 0
    for rule_id, count in report.totals.items():
        rule = RULES[rule_id]
        by_severity[rule.severity.value] += count
        showing_1_0 += count if rule.version is Version.V1 else 0
    return {
        "files": report.files,
        "payload_files": len(report.payloads),
        "records": sum(p.records for p in report.payloads),
        "findings": sum(report.totals.values()),
        "listed": len(report.findings),
        "unlisted": report.unlisted,
        "suppressed": report.suppressed,
        "by_severity": by_severity,
        "by_rule": {rule: report.totals[rule] for rule in RULES if report.totals[rule]},
        "showing_1_0": showing_1_0,
        "produces_1_0": showing_1_0 > 0,
        "errors": list(report.errors),
    }


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                      for i, cell in enumerate(row)).rstrip() for row in rows]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_text(report: AuditReport) -> str:
    """``path:line:col: rule: message`` per finding, then the payload counts, the rules and a summary line."""
    lines = [f"{f.location()}: {f.rule}: {f.message}" for f in report.findings]
    if report.payloads:
        rows = [["payload file", "kind", "records", *VERSION_KEYS]]
        rows += [[p.path, p.kind, str(p.records), *(str(p.versions[k]) for k in VERSION_KEYS)]
                 for p in report.payloads]
        lines += ["", *_table(rows, right={2, 3, 4, 5, 6})]
    if report.totals:
        rows = [["rule", "severity", "version", "findings"]]
        rows += [[rule.id, rule.severity.value, "-" if rule.version is None else str(rule.version),
                  str(report.totals[rule.id])]
                 for rule in RULES.values() if report.totals[rule.id]]
        lines += ["", *_table(rows, right={3})]
    counts = summary(report)
    severities = ", ".join(f"{n} {s}" for s, n in counts["by_severity"].items())
    files = f"{_plural(counts['files'], 'file')} audited"
    if counts["findings"]:
        showing = counts["showing_1_0"]
        verdict = (f"1.0 is still produced ({_plural(showing, 'finding')} show{'s' if showing == 1 else ''} it)"
                   if counts["produces_1_0"] else "nothing shows 1.0 being produced")
        lines += ["", f"{files}: {_plural(counts['findings'], 'finding')} ({severities}); {verdict}."]
    else:
        lines += ["", f"{files}: no findings; nothing shows 1.0 being produced."]
    if report.unlisted:
        lines.append(f"{_plural(report.unlisted, 'more finding')} counted but not listed (see --limit).")
    if report.suppressed:
        lines.append(f"{_plural(report.suppressed, 'known finding')} suppressed by the baseline.")
    return redact("\n".join(lines).lstrip("\n") + "\n")


def render_json(report: AuditReport) -> str:
    """``{"findings": [...], "payloads": [...], "summary": {...}}``."""
    document = {
        "findings": [f.to_dict() for f in report.findings],
        "payloads": [p.to_dict() for p in report.payloads],
        "summary": summary(report),
    }
    return redact(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _uri(path: str) -> dict[str, str]:
    if path.startswith("/"):
        return {"uri": "file://" + quote(path, errors="surrogateescape")}
    return {"uri": quote(path, errors="surrogateescape"), "uriBaseId": "%SRCROOT%"}


def _sarif_rules() -> list[dict[str, Any]]:
    return [{
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": rule.help},
        "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity]},
        "properties": {"tags": ["commanders-act", "payload-format", "migration"],
                       "severity": rule.severity.value,
                                      "version": None if rule.version is None else str(rule.version)},
    } for rule in RULES.values()]


def render_sarif(report: AuditReport, *, tool_version: str) -> str:
    """A SARIF 2.1.0 log with one run: every rule (with help text) and every listed finding."""
    index = {rule_id: i for i, rule_id in enumerate(RULES)}
    results = []
    for f in report.findings:
        region: dict[str, int] = {"startLine": f.line}
        if f.column is not None:
            region["startColumn"] = f.column
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _SARIF_LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": _uri(f.path), "region": region}}],
            "partialFingerprints": {"migrate1to2/v1": f.fingerprint},
            "properties": {"severity": f.severity.value, "version": None if f.version is None else str(f.version),
                           "jsonPath": f.json_path},
        })
    run = {
        "tool": {"driver": {"name": "migrate1to2", "version": tool_version, "semanticVersion": tool_version,
                            "rules": _sarif_rules()}},
        "invocations": [{
            "executionSuccessful": not report.errors,
            "toolExecutionNotifications": [{"level": "error", "message": {"text": error}}
                                           for error in report.errors],
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"summary": summary(report), "payloads": [p.to_dict() for p in report.payloads]},
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return redact(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def render(report: AuditReport, output_format: OutputFormat, *, tool_version: str) -> str:
    """The report in ``output_format``."""
    if output_format is OutputFormat.JSON:
        return render_json(report)
    if output_format is OutputFormat.SARIF:
        return render_sarif(report, tool_version=tool_version)
    return render_text(report)
