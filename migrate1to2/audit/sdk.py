"""Mobile SDK declarations: which server-side SDK versions an app builds with. Pure: text in, findings out.

Android ``com.tagcommander.lib:ServerSide`` sends 2.0 from 5.4.0; iOS ``TCServerSide``
and ``TCServerSide_noIDFA`` from 5.3.0. Read from:

- Gradle (Groovy and Kotlin DSL): ``'com.tagcommander.lib:ServerSide:5.3.1'``,
  ``group: ..., name: ..., version: ...``, versions in a variable set in the same
  file (``$tcVersion``, ``ext.tcVersion = ...``), dynamic (``5.3.+``) and ranges,
  and rich versions in the declaration's block
  (``("...:ServerSide") { version { strictly("5.3.1") } }``, also ``require`` / ``prefer``);
- version catalogs (``libs.versions.toml``): ``module``/``group``+``name``, with
  ``version``, ``version.ref`` (resolved from ``[versions]``) or a rich version;
- Podfile and podspecs: ``pod 'TCServerSide', '5.2.1'`` (any requirement
  operators), ``:podspec => '.../TCServerSide/5/2/1/...'``, ``:tag => '5.2.1'``;
- Podfile.lock (the ``PODS`` section: resolved versions);
- Package.swift (``exact:``, ``from:``, ``.upToNextMinor``, ranges) and
  Package.resolved (pins of the ``iOSV5`` / ``TCServerSide`` repository).

Commented-out declarations are not reported. A declaration whose version cannot
be told (no version, a variable set in another file, a range across the 2.0
release) is a ``sdk-version-unresolved`` warning.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import NamedTuple

from .comments import CommentStyle, blank_comments
from .masking import redact
from .model import Finding
from .rules import finding
from .versions import ANDROID_2_0, IOS_2_0, Range, Verdict, cocoapods_range, gradle_range, judge, parse

__all__ = ["SdkFile", "scan_sdk"]


class SdkFile(str, Enum):
    """The kinds of build files that declare SDK versions."""

    GRADLE = "gradle"
    CATALOG = "catalog"
    PODFILE = "podfile"
    PODSPEC = "podspec"
    PODFILE_LOCK = "podfile-lock"
    PACKAGE_SWIFT = "package-swift"
    PACKAGE_RESOLVED = "package-resolved"


_STYLES = {
    SdkFile.GRADLE: CommentStyle.C,
    SdkFile.CATALOG: CommentStyle.HASH,
    SdkFile.PODFILE: CommentStyle.HASH,
    SdkFile.PODSPEC: CommentStyle.HASH,
    SdkFile.PODFILE_LOCK: CommentStyle.NONE,
    SdkFile.PACKAGE_SWIFT: CommentStyle.C,
    SdkFile.PACKAGE_RESOLVED: CommentStyle.NONE,
}

_ANDROID_ARTIFACT = re.compile(r"(?:TC)?ServerSide[\w.-]*", re.I)
_GRADLE_STRING = re.compile(r"""(["'])com\.tagcommander\.lib:(?P<artifact>[\w.-]+)(?::(?P<version>[^"'@\s]*))?"""
                            r"""(?:@\w+)?\1""")
_GRADLE_MAP = re.compile(r"""group\s*[:=]\s*(["'])com\.tagcommander\.lib\1\s*,\s*name\s*[:=]\s*(["'])"""
                         r"""(?P<artifact>[\w.-]+)\2(?:\s*,\s*version\s*[:=]\s*(["'])(?P<version>[^"']*)\4)?""")
#: A rich version set in the declaration's block: ``("...:ServerSide") { version { strictly("5.3.1") } }``.
_GRADLE_RICH = re.compile(r"""\s*\)?\s*\{\s*version\s*\{\s*(?:strictly|require|prefer)\s*\(?\s*"""
                          r"""(["'])(?P<version>[^"']+)\1""")
_VARIABLE = re.compile(r"\$\{?(?:[\w]+\.)*?(?P<name>\w+)(?:\.get\(\))?\}?$")
_TOML_TABLE = re.compile(r"^\s*\[\s*([\w.-]+)\s*\]")
_TOML_VERSION = re.compile(r"""^\s*(?P<name>[\w.-]+)\s*=\s*(?:"(?P<plain>[^"]*)"|\{[^}]*?"""
                           r"""(?:strictly|require|prefer)\s*=\s*"(?P<rich>[^"]*)")""")
_TOML_MODULE = re.compile(r"""(?:module\s*=\s*"com\.tagcommander\.lib:(?P<module>[\w.-]+)"|group\s*=\s*"""
                          r""""com\.tagcommander\.lib"\s*,\s*name\s*=\s*"(?P<name>[\w.-]+)"|"""
                          r""""com\.tagcommander\.lib:(?P<coordinate>[\w.-]+):(?P<inline>[^"]+)")""")
_TOML_REF = re.compile(r"""version\.ref\s*=\s*"(?P<ref>[^"]+)"|version\s*=\s*"(?P<version>[^"]+)"|"""
                       r"""version\s*=\s*\{[^}]*?(?:strictly|require|prefer)\s*=\s*"(?P<rich>[^"]+)\"""")

_POD = re.compile(r"""(?:\bpod|\.dependency)\s*\(?\s*(["'])(?P<name>TCServerSide(?:_noIDFA)?)(?:/[\w-]+)?\1"""
                  r"""(?P<rest>[^\n]*)""")
_POD_OPTION = re.compile(r""",\s*(?::(?P<old>\w+)\s*=>|(?P<new>\w+):)\s*(["'])(?P<value>[^"']*)\3""")
_POD_REQUIREMENT = re.compile(r""",\s*(["'])(?P<requirement>[^"']*)\1""")
_PODSPEC_PATH = re.compile(r"TCServerSide(?:_noIDFA)?/(\d+)/(\d+)/(\d+)/|/(\d+\.\d+\.\d+)/")
_LOCK_POD = re.compile(r"""^  - "?(?P<name>TCServerSide(?:_noIDFA)?)(?:/[\w-]+)? \((?P<version>[^)]+)\)"?:?\s*$""",
                       re.M)
_SPM_PACKAGE = re.compile(r"\.package\s*\(")
_SPM_URL = re.compile(r"""url\s*:\s*"(?P<url>[^"]*)\"""")
_IOS_REPOSITORY = re.compile(r"iOSV5|TCServerSide", re.I)
_SPM_REQUIREMENTS = (
    ("exact", re.compile(r"""(?:exact\s*:\s*|\.exact\(\s*)"(?P<a>[^"]+)\"""")),
    ("minor", re.compile(r"""\.upToNextMinor\(\s*from\s*:\s*"(?P<a>[^"]+)\"""")),
    ("major", re.compile(r"""(?:\.upToNextMajor\(\s*)?from\s*:\s*"(?P<a>[^"]+)\"""")),
    ("open", re.compile(r""""(?P<a>[^"]+)"\s*\.\.<\s*"(?P<b>[^"]+)\"""")),
    ("closed", re.compile(r""""(?P<a>[^"]+)"\s*\.\.\.\s*"(?P<b>[^"]+)\"""")),
)
_RESOLVED_URL = re.compile(r""""(?:location|repositoryURL)"\s*:\s*"(?P<url>[^"]*)\"""")
_RESOLVED_VERSION = re.compile(r""""version"\s*:\s*(?:"(?P<version>[^"]*)"|null)""")


class _Declaration(NamedTuple):
    """One SDK declaration found in a file: where, what it shows, the versions it allows, why it is unclear."""

    platform: str
    product: str
    offset: int
    shown: str
    allowed: Range | None
    why: str = ""


def _locate(text: str, offset: int) -> tuple[int, int, str]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line_text = text[start:end if end >= 0 else len(text)]
    return text.count("\n", 0, offset) + 1, offset - start + 1, line_text


def _to_finding(text: str, declaration: _Declaration) -> Finding:
    first = ANDROID_2_0 if declaration.platform == "Android" else IOS_2_0
    first_text = ".".join(map(str, first))
    verdict = judge(declaration.allowed, first)
    what = f"{declaration.platform} {declaration.product} {declaration.shown}".rstrip()
    if verdict is Verdict.V1:
        rule, message = "sdk-1.0", (f"{what} sends 1.0 payloads (2.0 from {first_text}); "
                                    f"upgrade to {first_text} or later")
    elif verdict is Verdict.V2:
        rule, message = "sdk-2.0", f"{what} sends 2.0 payloads"
    else:
        why = declaration.why or "the version range allows releases before and after the switch to 2.0"
        rule, message = "sdk-version-unresolved", (f"{what}: {why}; make sure it resolves to {first_text} "
                                                   "or later (1.0 before)")
    line, column, line_text = _locate(text, declaration.offset)
    shown = line_text[max(0, column - 101):column + 100]
    return finding(rule, message, line=line, column=column, match=redact(" ".join(shown.split())))


def _gradle_variable(text: str, expression: str) -> str | None:
    match = _VARIABLE.search(expression)
    if not match:
        return None
    name = re.escape(match.group("name"))
    definition = re.search(
        rf"""(?:(?<![\w$])(?:ext\.|extra\[\s*"|set\(\s*["'])?{name}["']?\s*\]?\s*(?:=|,)\s*(["'])(?P<v>[^"'$]+)\1)""",
        text)
    return definition.group("v") if definition else None


def _android(version: str | None, offset: int, text: str) -> _Declaration:
    product = "com.tagcommander.lib:ServerSide"
    if not version:
        return _Declaration("Android", product, offset, "", None, "declared without a version")
    shown = version
    if "$" in version:
        resolved = _gradle_variable(text, version)
        if resolved is None:
            return _Declaration("Android", product, offset, version, None,
                                "the version variable is not set in this file")
        shown, version = f"{resolved} (from `{version}`)", resolved
    allowed = gradle_range(version)
    why = "" if allowed is not None else "the version cannot be read"
    return _Declaration("Android", product, offset, shown, allowed, why)


def _gradle(text: str) -> list[_Declaration]:
    found = []
    for pattern in (_GRADLE_STRING, _GRADLE_MAP):
        for match in pattern.finditer(text):
            if _ANDROID_ARTIFACT.fullmatch(match.group("artifact")):
                version = match.group("version")
                rich = None if version else _GRADLE_RICH.match(text, match.end())
                found.append(_android(rich.group("version") if rich else version, match.start(), text))
    return found


def _catalog(text: str) -> list[_Declaration]:
    versions: dict[str, str] = {}
    table = ""
    libraries: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        heading = _TOML_TABLE.match(line)
        if heading:
            table = heading.group(1)
        elif table == "versions":
            entry = _TOML_VERSION.match(line)
            if entry:
                versions[entry.group("name")] = entry.group("plain") or entry.group("rich") or ""
        elif table == "libraries" and "com.tagcommander.lib" in line:
            libraries.append((offset, line))
        offset += len(line)
    found = []
    for start, line in libraries:
        module = _TOML_MODULE.search(line)
        if module is None:
            continue
        artifact = module.group("module") or module.group("name") or module.group("coordinate")
        if not _ANDROID_ARTIFACT.fullmatch(artifact):
            continue
        at = start + module.start()
        version = module.group("inline")
        reference = _TOML_REF.search(line)
        if version is None and reference is not None:
            ref = reference.group("ref")
            if ref is not None:
                if ref not in versions:
                    found.append(_Declaration("Android", "com.tagcommander.lib:ServerSide", at, f"`{ref}`", None,
                                              "`version.ref` names no entry of [versions]"))
                    continue
                version = versions[ref]
                found.append(_declared_ref(at, version, ref))
                continue
            version = reference.group("version") or reference.group("rich")
        found.append(_android(version, at, text))
    return found


def _declared_ref(offset: int, version: str, ref: str) -> _Declaration:
    allowed = gradle_range(version)
    return _Declaration("Android", "com.tagcommander.lib:ServerSide", offset, f"{version} (from [versions] {ref})",
                        allowed, "" if allowed is not None else "the version cannot be read")


def _pods(text: str) -> list[_Declaration]:
    found = []
    for match in _POD.finditer(text):
        rest = match.group("rest")
        options = {(m.group("old") or m.group("new")): m.group("value") for m in _POD_OPTION.finditer(rest)}
        first_option = min((m.start() for m in _POD_OPTION.finditer(rest)), default=len(rest))
        requirements = [m.group("requirement") for m in _POD_REQUIREMENT.finditer(rest[:first_option])]
        name, at = match.group("name"), match.start("name")
        if "podspec" in options:
            path = _PODSPEC_PATH.search(options["podspec"])
            if path is None:
                found.append(_Declaration("iOS", name, at, "", None, "the podspec URL does not show the version"))
                continue
            version = path.group(4) or ".".join(path.group(1, 2, 3))
            found.append(_Declaration("iOS", name, at, f"{version} (podspec URL)", cocoapods_range([version])))
        elif "tag" in options:
            tag = options["tag"]
            found.append(_Declaration("iOS", name, at, f"{tag} (git tag)", cocoapods_range([tag])))
        elif requirements:
            shown = ", ".join(requirements)
            allowed = cocoapods_range(requirements)
            why = "" if allowed is not None else "the requirement cannot be read"
            found.append(_Declaration("iOS", name, at, shown, allowed, why))
        elif options:
            kind = next(iter(options))
            found.append(_Declaration("iOS", name, at, "", None, f"taken from `:{kind}`, whose version is not shown"))
        else:
            found.append(_Declaration("iOS", name, at, "", None,
                                      "declared without a version (the resolved one is in Podfile.lock)"))
    return found


def _podfile_lock(text: str) -> list[_Declaration]:
    pods = re.search(r"^PODS:\n((?:[ \t].*\n?)*)", text, re.M)
    if pods is None:
        return []
    found = []
    for match in _LOCK_POD.finditer(text, pods.start(1), pods.end(1)):
        version = match.group("version")
        allowed = cocoapods_range([version]) if parse(version) else None
        found.append(_Declaration("iOS", match.group("name"), match.start("name"), version, allowed))
    return found


def _arguments(text: str, open_paren: int) -> str:
    """The text between the parenthesis at ``open_paren`` and the one closing it (strings skipped)."""
    depth = 0
    position = open_paren
    for token in re.finditer(r'"(?:\\.|[^"\\])*"|[()]', text[open_paren:]):
        position = open_paren + token.end()
        if token.group() == "(":
            depth += 1
        elif token.group() == ")":
            depth -= 1
            if depth == 0:
                break
    return text[open_paren:position]


def _package_swift(text: str) -> list[_Declaration]:
    found = []
    for match in _SPM_PACKAGE.finditer(text):
        arguments = _arguments(text, match.end() - 1)
        url = _SPM_URL.search(arguments)
        if url is None or not _IOS_REPOSITORY.search(url.group("url")):
            continue
        at = match.end() - 1 + url.start()
        for kind, pattern in _SPM_REQUIREMENTS:
            requirement = pattern.search(arguments)
            if requirement is None:
                continue
            low = parse(requirement.group("a"))
            found.append(_spm(kind, requirement, low, at))
            break
        else:
            found.append(_Declaration("iOS", "TCServerSide", at, "", None,
                                      "pinned to a branch or revision (the resolved one is in Package.resolved)"))
    return found


def _spm(kind: str, requirement: re.Match[str], low: tuple[int, ...] | None, at: int) -> _Declaration:
    text = requirement.group("a")
    if low is None:
        return _Declaration("iOS", "TCServerSide", at, text, None, "the version cannot be read")
    if kind == "exact":
        return _Declaration("iOS", "TCServerSide", at, f"exactly {text}", Range(low, low, True))
    if kind == "minor":
        next_minor = (low[0], (low[1] if len(low) > 1 else 0) + 1)
        return _Declaration("iOS", "TCServerSide", at, f"{text} up to the next minor", Range(low, next_minor))
    if kind == "major":
        return _Declaration("iOS", "TCServerSide", at, f"from {text} up to the next major", Range(low, (low[0] + 1,)))
    upper = parse(requirement.group("b"))
    operator = "..<" if kind == "open" else "..."
    return _Declaration("iOS", "TCServerSide", at, f"{text}{operator}{requirement.group('b')}",
                        Range(low, upper, kind == "closed") if upper is not None else None)


def _package_resolved(text: str) -> list[_Declaration]:
    found = []
    for match in _RESOLVED_URL.finditer(text):
        if not _IOS_REPOSITORY.search(match.group("url")):
            continue
        end = text.find("}", match.end())
        pin = _RESOLVED_VERSION.search(text, match.end(), end if end >= 0 else len(text))
        if pin is None or pin.group("version") is None:
            found.append(_Declaration("iOS", "TCServerSide", match.start(), "", None,
                                      "pinned to a branch or revision"))
            continue
        version = pin.group("version")
        found.append(_Declaration("iOS", "TCServerSide", match.start(), f"{version} (resolved)",
                                  cocoapods_range([version]) if parse(version) else None))
    return found


_SCANNERS = {
    SdkFile.GRADLE: _gradle,
    SdkFile.CATALOG: _catalog,
    SdkFile.PODFILE: _pods,
    SdkFile.PODSPEC: _pods,
    SdkFile.PODFILE_LOCK: _podfile_lock,
    SdkFile.PACKAGE_SWIFT: _package_swift,
    SdkFile.PACKAGE_RESOLVED: _package_resolved,
}


def scan_sdk(text: str, kind: SdkFile) -> list[Finding]:
    """The SDK declarations of a build file of ``kind``, each judged 1.0, 2.0 or unresolved."""
    blanked = blank_comments(text, _STYLES[kind])
    return [_to_finding(blanked, declaration) for declaration in _SCANNERS[kind](blanked)]
