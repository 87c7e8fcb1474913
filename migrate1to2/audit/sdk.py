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
from .releases import (
    FLUTTER_PLUGIN,
    FLUTTER_PLUGIN_2_0,
    IOS_PACKAGE_TAGS,
    LAST_IOS_TAG,
    REACT_NATIVE_PLUGIN,
    PluginRelease,
)
from .rules import finding
from .versions import ANDROID_2_0, IOS_2_0, Range, Verdict, cocoapods_range, gradle_range, judge, parse

__all__ = ["SERVER_SIDE_PRODUCTS", "BuildScan", "Pending", "SdkFile", "judged", "resolved_android", "scan_build",
           "scan_sdk", "vendored_aar"]


class SdkFile(str, Enum):
    """The kinds of build files that declare SDK versions."""

    GRADLE = "gradle"
    CATALOG = "catalog"
    PODFILE = "podfile"
    PODSPEC = "podspec"
    PODFILE_LOCK = "podfile-lock"
    PACKAGE_SWIFT = "package-swift"
    PACKAGE_RESOLVED = "package-resolved"
    PBXPROJ = "pbxproj"
    GRADLE_PROPERTIES = "gradle-properties"
    PUBSPEC = "pubspec"
    PUBSPEC_LOCK = "pubspec-lock"
    NPM = "npm"
    NPM_LOCK = "npm-lock"
    FRAMEWORK_HEADER = "framework-header"


_STYLES = {
    SdkFile.GRADLE: CommentStyle.C,
    SdkFile.CATALOG: CommentStyle.HASH,
    SdkFile.PODFILE: CommentStyle.HASH,
    SdkFile.PODSPEC: CommentStyle.HASH,
    SdkFile.PODFILE_LOCK: CommentStyle.NONE,
    SdkFile.PACKAGE_SWIFT: CommentStyle.C,
    SdkFile.PACKAGE_RESOLVED: CommentStyle.NONE,
    SdkFile.PBXPROJ: CommentStyle.C,
    SdkFile.GRADLE_PROPERTIES: CommentStyle.HASH,
    SdkFile.PUBSPEC: CommentStyle.HASH,
    SdkFile.PUBSPEC_LOCK: CommentStyle.HASH,
    SdkFile.NPM: CommentStyle.NONE,
    SdkFile.NPM_LOCK: CommentStyle.NONE,
    SdkFile.FRAMEWORK_HEADER: CommentStyle.NONE,
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
    """One SDK declaration found in a file: where, what it shows, the versions it allows, why it is unclear.

    ``variable``: the Gradle variable its version comes from, when no file read so far sets it (the
    project resolves it once every file is read). ``package``: for the vendor's Swift package, its
    reference in the file, to tell whether a target links a server-side product of it (``products``).
    ``verdict`` is given for plugins, which bundle SDKs of both platforms; ``fix`` then says what to do.
    """

    platform: str
    product: str
    offset: int
    shown: str
    allowed: Range | None
    why: str = ""
    variable: str = ""
    package: str = ""
    verdict: Verdict | None = None
    fix: str = ""


def _locate(text: str, offset: int) -> tuple[int, int, str]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line_text = text[start:end if end >= 0 else len(text)]
    return text.count("\n", 0, offset) + 1, offset - start + 1, line_text


def judged(declaration: _Declaration, line: int, column: int | None, match: str) -> Finding:
    """The finding for ``declaration``, written at ``line``:``column`` (``match``: the text it is about)."""
    first = ANDROID_2_0 if declaration.platform == "Android" else IOS_2_0
    first_text = ".".join(map(str, first))
    verdict = declaration.verdict or judge(declaration.allowed, first)
    what = f"{declaration.platform} {declaration.product} {declaration.shown}".rstrip()
    if verdict is Verdict.V1:
        rule, message = "sdk-1.0", f"{what} sends 1.0 payloads; {declaration.fix}" if declaration.fix else (
            f"{what} sends 1.0 payloads (2.0 from {first_text}); upgrade to {first_text} or later")
    elif verdict is Verdict.V2:
        rule, message = "sdk-2.0", f"{what} sends 2.0 payloads"
    else:
        why = declaration.why or "the version range allows releases before and after the switch to 2.0"
        rule, message = "sdk-version-unresolved", f"{what}: {why}; " + (
            declaration.fix or f"make sure it resolves to {first_text} or later (1.0 before)")
    return finding(rule, message, line=line, column=column, match=match)


def _variable_name(expression: str) -> str | None:
    match = _VARIABLE.search(expression)
    return match.group("name") if match else None


def _gradle_variable(text: str, expression: str) -> str | None:
    name = _variable_name(expression)
    if name is None:
        return None
    values = _definitions(text, SdkFile.GRADLE).get(name)
    return values[0][0] if values and len({value for value, _ in values}) == 1 else None


#: A version set in a Gradle script, a buildSrc constant or an ``ext`` map: ``val tc = "5.3.1"``,
#: ``const val tagCommanderServerSide = "5.1.1"``, ``ext.tcVersion = '5.3.1'``, ``set("tc", "5.3.1")``,
#: ``extra["tc"] = "5.3.1"``, ``tc: '5.3.1'`` (a Groovy map), ``"tc" to "5.3.1"`` (a Kotlin map).
_DEFINITION = re.compile(
    r"""(?<![\w$.])(?:ext\.|extra\.)?(?P<a>\w+)\s*(?::\s*String\s*)?=\s*(["'])(?P<av>\d[^"'$\s]*)\2"""
    r"""|(?:set\(\s*|extra\[\s*)(["'])(?P<b>\w+)\4\s*(?:\]\s*=|,)\s*(["'])(?P<bv>\d[^"'$\s]*)\6"""
    r"""|(?<![\w$])(?P<c>\w+)\s*:\s*(["'])(?P<cv>\d[^"'$\s]*)\9"""
    r"""|(["'])(?P<d>\w+)\10\s+to\s+(["'])(?P<dv>\d[^"'$\s]*)\12""")
_PROPERTY = re.compile(r"^[ \t]*(?P<a>[\w.-]+)[ \t]*[=:][ \t]*(?P<av>\d\S*)[ \t]*$", re.M)


def _definitions(text: str, kind: SdkFile) -> dict[str, list[tuple[str, int]]]:
    """Version-like values set in ``text`` by name: ``name -> [(value, offset), ...]``."""
    found: dict[str, list[tuple[str, int]]] = {}
    pattern = _PROPERTY if kind is SdkFile.GRADLE_PROPERTIES else _DEFINITION
    for match in pattern.finditer(text):
        groups = match.groupdict()
        for group in "abcd":
            name = groups.get(group)
            if name:
                found.setdefault(name.rsplit(".", 1)[-1], []).append((match.group(group + "v"), match.start(group)))
                break
    return found


def _android(version: str | None, offset: int, text: str) -> _Declaration:
    product = "com.tagcommander.lib:ServerSide"
    if not version:
        return _Declaration("Android", product, offset, "", None, "declared without a version")
    shown = version
    if "$" in version:
        resolved = _gradle_variable(text, version)
        if resolved is None:
            return _Declaration("Android", product, offset, version, None,
                                "the version variable is not set in this file", variable=_variable_name(version) or "")
        shown, version = f"{resolved} (from `{version}`)", resolved
    return resolved_android(offset, shown, version)


def resolved_android(offset: int, shown: str, version: str) -> _Declaration:
    """An Android declaration of ``version`` (``shown`` says where it comes from)."""
    allowed = gradle_range(version)
    why = "" if allowed is not None else "the version cannot be read"
    return _Declaration("Android", "com.tagcommander.lib:ServerSide", offset, shown, allowed, why)


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


#: The vendor's Swift package products that send events server-side (the others: TCCore, TCConsent, ...).
SERVER_SIDE_PRODUCTS = frozenset({"TCServerSide", "TCServerSide_noIDFA"})
_SPM_PRODUCT = re.compile(r"""\.product\(\s*name\s*:\s*"(?P<product>[^"]+)"\s*,\s*"""
                          r"""package\s*:\s*"(?P<package>[^"]+)"\s*\)""")
_SPM_NAME = re.compile(r"""\bname\s*:\s*"(?P<name>[^"]+)\"""")
_SPM_STRING_DEPENDENCY = re.compile(r""""(?P<product>TCServerSide(?:_noIDFA)?)\"""")


def _identity(url: str) -> str:
    """SwiftPM's identity of a package URL: its last path component, lowercased, without ``.git``."""
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git").lower()


def _is_ios_package(url: str) -> bool:
    return _identity(url) == "iosv5"


def _package_swift(text: str) -> list[_Declaration]:
    found = []
    for match in _SPM_PACKAGE.finditer(text):
        arguments = _arguments(text, match.end() - 1)
        url = _SPM_URL.search(arguments)
        if url is None or not _IOS_REPOSITORY.search(url.group("url")):
            continue
        at = match.end() - 1 + url.start()
        name = _SPM_NAME.search(arguments[:url.start()])
        package = name.group("name").lower() if name else _identity(url.group("url"))
        for kind, pattern in _SPM_REQUIREMENTS:
            requirement = pattern.search(arguments)
            if requirement is None:
                continue
            found.append(_spm(kind, requirement, at, url.group("url"))._replace(package=package))
            break
        else:
            found.append(_Declaration("iOS", "TCServerSide", at, "", None,
                                      "pinned to a branch or revision (the resolved one is in Package.resolved)",
                                      package=package))
    return found


def package_swift_links(text: str) -> dict[str, set[str]]:
    """The products of each package that the targets of a ``Package.swift`` depend on (package identity or
    name, lowercased -> product names); a plain ``"TCServerSide"`` dependency counts for every package."""
    links: dict[str, set[str]] = {}
    for match in _SPM_PRODUCT.finditer(text):
        links.setdefault(match.group("package").lower(), set()).add(match.group("product"))
    for match in _SPM_STRING_DEPENDENCY.finditer(text):
        if not text[max(0, match.start() - 40):match.start()].rstrip().endswith(("name:", "package:")):
            links.setdefault("*", set()).add(match.group("product"))
    return links


def _spm(kind: str, requirement: re.Match[str], at: int, url: str) -> _Declaration:
    text = requirement.group("a")
    low = parse(text)
    if low is None:
        return _Declaration("iOS", "TCServerSide", at, text, None, "the version cannot be read")
    if kind == "exact":
        return _tags(at, url, f"exactly {text}", Range(low, low, True))
    if kind == "minor":
        next_minor = (low[0], (low[1] if len(low) > 1 else 0) + 1)
        return _tags(at, url, f"{text} up to the next minor", Range(low, next_minor))
    if kind == "major":
        return _tags(at, url, f"from {text} up to the next major", Range(low, (low[0] + 1,)))
    upper = parse(requirement.group("b"))
    operator = "..<" if kind == "open" else "..."
    shown = f"{text}{operator}{requirement.group('b')}"
    if upper is None:
        return _Declaration("iOS", "TCServerSide", at, shown, None, "the version cannot be read")
    return _tags(at, url, shown, Range(low, upper, kind == "closed"))


def _within(tag: tuple[int, ...], allowed: Range) -> bool:
    padded = _pad3(tag)
    if allowed.low is not None and padded < _pad3(allowed.low):
        return False
    if allowed.high is None:
        return True
    high = _pad3(allowed.high)
    return padded <= high if allowed.high_inclusive else padded < high


def _pad3(version: tuple[int, ...]) -> tuple[int, ...]:
    return version + (0,) * (3 - len(version)) if len(version) < 3 else version


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


_FIX_IOS = ("upgrade the package to 5.3.0 or later (TCServerSide sends 2.0 from 5.3.0, first shipped by the "
            "package's tag 5.3.0)")


def _tags(at: int, url: str, shown: str, tags: Range) -> _Declaration:
    """A requirement on the ``iOSV5`` package's tags, judged by the TCServerSide versions those tags ship
    (:data:`.releases.IOS_PACKAGE_TAGS`); for another repository the tags are taken as SDK versions."""
    if not _is_ios_package(url):
        return _Declaration("iOS", "TCServerSide", at, shown, tags)
    shipped = sorted({sdk for tag, sdk in IOS_PACKAGE_TAGS.items() if _within(tag, tags)})
    later = tags.high is None or _pad3(tags.high) > LAST_IOS_TAG
    product = "iOSV5 package"
    if not shipped and not later:
        return _Declaration("iOS", product, at, shown, None,
                            f"no tag of the package is in that range (tags {_dotted(min(IOS_PACKAGE_TAGS))} to "
                            f"{_dotted(LAST_IOS_TAG)} recorded)", fix=_FIX_IOS)
    if later:
        top = IOS_PACKAGE_TAGS[LAST_IOS_TAG]
        shipped.append(top)
        if not any(_within(tag, tags) for tag in IOS_PACKAGE_TAGS):
            what = f"ships TCServerSide {_dotted(top)} or later"
        else:
            what = f"its tags ship TCServerSide {_dotted(shipped[0])} to {_dotted(top)} or later"
        allowed = Range(shipped[0], None)
    elif len(shipped) == 1:
        what = f"ships TCServerSide {_dotted(shipped[0])}"
        allowed = Range(shipped[0], shipped[0], True)
    else:
        what = f"its tags ship TCServerSide {_dotted(shipped[0])} to {_dotted(shipped[-1])}"
        allowed = Range(shipped[0], shipped[-1], True)
    shown = f"{shown[:-1]}; {what})" if shown.endswith(")") else f"{shown} ({what})"
    return _Declaration("iOS", product, at, shown, allowed, fix=_FIX_IOS)


def _package_resolved(text: str) -> list[_Declaration]:
    found = []
    for match in _RESOLVED_URL.finditer(text):
        url = match.group("url")
        if not _IOS_REPOSITORY.search(url):
            continue
        end = text.find("}", match.end())
        pin = _RESOLVED_VERSION.search(text, match.end(), end if end >= 0 else len(text))
        package = _identity(url)
        if pin is None or pin.group("version") is None:
            found.append(_Declaration("iOS", "TCServerSide", match.start(), "", None,
                                      "pinned to a branch or revision", package=package))
            continue
        version = pin.group("version")
        tag = parse(version)
        if tag is None:
            found.append(_Declaration("iOS", "TCServerSide", match.start(), f"{version} (resolved)", None,
                                      "the version cannot be read", package=package))
            continue
        found.append(_tags(match.start(), url, f"{version} (resolved)", Range(tag, tag, True))._replace(
            package=package))
    return found


_PBX_REFERENCE = re.compile(r"(?P<id>[0-9A-Fa-f]{24})(?:\s*/\*[^*]*\*/)?\s*=\s*\{\s*isa\s*=\s*"
                            r"XCRemoteSwiftPackageReference;(?P<body>(?:[^{}]|\{[^{}]*\})*)\}")
_PBX_URL = re.compile(r"""repositoryURL\s*=\s*"?(?P<url>[^";\s]+)"?\s*;""")
_PBX_REQUIREMENT = re.compile(r"requirement\s*=\s*\{(?P<body>[^{}]*)\}")
_PBX_FIELD = re.compile(r"""(?P<key>\w+)\s*=\s*"?(?P<value>[^";]*)"?\s*;""")
_PBX_PRODUCT = re.compile(r"isa\s*=\s*XCSwiftPackageProductDependency;(?P<body>[^{}]*)\}")
_PBX_PACKAGE = re.compile(r"package\s*=\s*(?P<id>[0-9A-Fa-f]{24})")
_PBX_PRODUCT_NAME = re.compile(r"""productName\s*=\s*"?(?P<name>[^";]+)"?\s*;""")


def _pbxproj(text: str) -> list[_Declaration]:
    """``XCRemoteSwiftPackageReference`` entries of an Xcode project for the vendor's package."""
    found = []
    for match in _PBX_REFERENCE.finditer(text):
        url = _PBX_URL.search(match.group("body"))
        if url is None or not _IOS_REPOSITORY.search(url.group("url")):
            continue
        at = match.start("body") + url.start("url")
        requirement = _PBX_REQUIREMENT.search(match.group("body"))
        fields = {m.group("key"): m.group("value").strip() for m in
                  _PBX_FIELD.finditer(requirement.group("body") if requirement else "")}
        found.append(_pbx_requirement(fields, at, url.group("url"))._replace(package=match.group("id")))
    return found


def _pbx_requirement(fields: dict[str, str], at: int, url: str) -> _Declaration:
    kind = fields.get("kind", "")
    low = parse(fields.get("minimumVersion") or fields.get("version") or "")
    if kind == "exactVersion" and low is not None:
        return _tags(at, url, f"exactly {fields['version']}", Range(low, low, True))
    if kind == "upToNextMajorVersion" and low is not None:
        return _tags(at, url, f"from {fields['minimumVersion']} up to the next major", Range(low, (low[0] + 1,)))
    if kind == "upToNextMinorVersion" and low is not None:
        next_minor = (low[0], (low[1] if len(low) > 1 else 0) + 1)
        return _tags(at, url, f"{fields['minimumVersion']} up to the next minor", Range(low, next_minor))
    high = parse(fields.get("maximumVersion", ""))
    if kind == "versionRange" and low is not None and high is not None:
        return _tags(at, url, f"{fields['minimumVersion']}..<{fields['maximumVersion']}", Range(low, high))
    if kind in ("branch", "revision"):
        return _Declaration("iOS", "TCServerSide", at, "", None,
                            f"pinned to a {kind} (the resolved version is in Package.resolved)")
    return _Declaration("iOS", "TCServerSide", at, "", None, "the requirement cannot be read")


def pbxproj_links(text: str) -> dict[str, set[str]]:
    """The Swift package products the targets of an Xcode project link: package reference id -> names."""
    links: dict[str, set[str]] = {}
    for match in _PBX_PRODUCT.finditer(text):
        package = _PBX_PACKAGE.search(match.group("body"))
        name = _PBX_PRODUCT_NAME.search(match.group("body"))
        if package is not None and name is not None:
            links.setdefault(package.group("id"), set()).add(name.group("name").strip())
    return links


_PUB_DEPENDENCY = re.compile(r"^(?P<indent>[ \t]+)(?P<name>tc_serverside_plugin)[ \t]*:[ \t]*(?P<inline>[^\n#]*)$",
                             re.M)
_PUB_FIELD = re.compile(r"""^[ \t]+(?P<key>ref|version)[ \t]*:[ \t]*["']?(?P<value>[^"'\s#]+)""", re.M)
_PUB_LOCK = re.compile(r"^  (?P<name>tc_serverside_plugin):[ \t]*\n(?P<body>(?:    .*\n?)*)", re.M)


def _pub_range(text: str) -> Range | None:
    """A pub version constraint (``1.0.2``, ``^1.0.0``, ``>=1.0.0 <2.0.0``, ``any``) as a range."""
    text = text.strip().strip("'\"")
    if text in ("", "any"):
        return Range(None, None)
    if text.startswith("^"):
        low = parse(text[1:])
        if low is None:
            return None
        major = _pad3(low)
        return Range(low, (major[0] + 1,) if major[0] else (0, major[1] + 1))
    return cocoapods_range(re.findall(r"(?:[<>]=?|=)?\s*[\w.+-]+", text))


def _flutter(offset: int, shown: str, allowed: Range | None, why: str = "") -> _Declaration:
    """A ``tc_serverside_plugin`` dependency, judged by what its releases bundle (:data:`.releases.FLUTTER_PLUGIN`)."""
    product = "tc_serverside_plugin"
    fix = "use tc_serverside_plugin 1.0.3 or later (from 1.0.3 it pins SDKs that send 2.0)"
    if allowed is None:
        return _Declaration("Flutter", product, offset, shown, None, why or "the version cannot be read", fix=fix)
    releases = [(version, release) for version, release in FLUTTER_PLUGIN.items() if _within(version, allowed)]
    if "-idfa" in shown:  # the `-idfa` tags depend on TCServerSide, the others on TCServerSide_noIDFA
        releases = [(version, release._replace(ios=(release.ios or "").replace("_noIDFA", "")))
                    for version, release in releases]
    if allowed.low is not None and _pad3(allowed.low) >= FLUTTER_PLUGIN_2_0:
        return _Declaration("Flutter", product, offset, f"{shown}{_bundles(releases)}", allowed, verdict=Verdict.V2)
    ios = parse(releases[0][1].ios_version or "") if len(releases) == 1 else None
    if ios is not None and _pad3(ios) < _pad3(IOS_2_0):  # 0.0.1 vendored an iOS SDK that sends 1.0
        return _Declaration("Flutter", product, offset, f"{shown}{_bundles(releases)}", allowed, verdict=Verdict.V1,
                            fix=fix)
    reason = why or ("its Android SDK is `5.+` up to 1.0.2: 1.0 when resolved before ServerSide 5.4.0 "
                     "(2023-03-22) or from a cache")
    return _Declaration("Flutter", product, offset, f"{shown}{_bundles(releases)}", allowed, reason,
                        verdict=Verdict.UNKNOWN, fix=fix)


def _bundles(releases: list[tuple[tuple[int, ...], PluginRelease]]) -> str:
    """`` (bundles Android ServerSide ..., iOS ...)`` for one release; a range's first and last otherwise."""
    if not releases:
        return ""
    first, last = releases[0][1], releases[-1][1]
    if len(releases) == 1:
        return f" (bundles Android ServerSide {first.android}, iOS {first.ios} {first.ios_version})"
    return (f" (releases {_dotted(releases[0][0])} to {_dotted(releases[-1][0])} bundle Android ServerSide "
            f"{first.android} to {last.android}, iOS TCServerSide {first.ios_version} to {last.ios_version})")


def _pubspec(text: str) -> list[_Declaration]:
    found = []
    for match in _PUB_DEPENDENCY.finditer(text):
        at = match.start("name")
        inline = match.group("inline").strip()
        if inline:
            found.append(_flutter(at, inline, _pub_range(inline)))
            continue
        indent = len(match.group("indent"))
        block = []
        for line in text[match.end() + 1:].splitlines():
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            block.append(line)
        body = "\n".join(block)
        fields = {m.group("key"): m.group("value") for m in _PUB_FIELD.finditer(body)}
        if "ref" in fields:
            ref = fields["ref"]
            version = parse(ref)
            if version is None:
                found.append(_flutter(at, f"git ref `{ref}`", None, "pinned to a branch or commit (the resolved "
                                                                     "release is in pubspec.lock)"))
            else:
                found.append(_flutter(at, f"{ref} (git tag)", Range(version, version, True)))
        elif "version" in fields:
            found.append(_flutter(at, fields["version"], _pub_range(fields["version"])))
        elif re.search(r"^[ \t]+path[ \t]*:", body, re.M):
            continue  # a local checkout of the plugin (its example app): its build files are audited themselves
        elif "git:" in body:
            found.append(_flutter(at, "", None, "taken from git without a ref (the newest commit)"))
        else:
            found.append(_flutter(at, "", None, "declared without a version (the resolved one is in pubspec.lock)"))
    return found


def _pubspec_lock(text: str) -> list[_Declaration]:
    found = []
    for match in _PUB_LOCK.finditer(text):
        if re.search(r"^    source:[ \t]*path", match.group("body"), re.M):
            continue  # a local checkout of the plugin (its example app)
        version = re.search(r"""^    version:[ \t]*["']?(?P<v>[^"'\s]+)""", match.group("body"), re.M)
        at = match.start("name")
        parsed = parse(version.group("v")) if version else None
        if version is None or parsed is None:
            found.append(_flutter(at, "", None, "the locked version cannot be read"))
        else:
            found.append(_flutter(at, f"{version.group('v')} (locked)", Range(parsed, parsed, True)))
    return found


_NPM_PACKAGE = re.compile(r"""["'](?:node_modules/)?(?P<name>(?:@commandersact/)?tcserverside-react-native)"""
                          r"""(?:@(?P<spec>[^"']*))?["']\s*:[ \t]*(?P<value>"[^"]*"|\{|\r?\n)""", re.I)
_NPM_VERSION = re.compile(r""""version"\s*:\s*"(?P<v>[^"]*)"|^\s+version\s+"(?P<y>[^"]*)\"""", re.M)


def _npm_lock(text: str) -> list[_Declaration]:
    """A lock file's entries for the bridge (not the root project's own dependency list, which names the
    same package with its requirement: ``package.json`` says that)."""
    return _npm(text, lock=True)


def _npm(text: str, *, lock: bool = False) -> list[_Declaration]:
    """``tcserverside-react-native`` in ``package.json``, ``package-lock.json`` or ``yarn.lock``: every release
    bundles SDKs that send 2.0 (:data:`.releases.REACT_NATIVE_PLUGIN`)."""
    found = []
    for match in _NPM_PACKAGE.finditer(text):
        value = match.group("value")
        if lock and value.startswith('"'):
            continue  # the root project's requirement, repeated in the lock (`"packages": {"": ...}`)
        if value == "{" or not value.strip():  # a lock entry: {"version": ...} (npm), or `  version "..."` (yarn)
            end = text.find("}" if value == "{" else "\n\n", match.end())
            entry = text[match.end():end if end >= 0 else len(text)]
            if _NPM_LINK.search(entry):
                continue  # the bridge's own checkout (its example app): its build files are audited themselves
            inner = _NPM_VERSION.search(entry)
            spec = (inner.group("v") or inner.group("y")) if inner else ""
        else:
            spec = value.strip('"')
        if spec.startswith((".", "/", "file:", "link:")):
            continue  # a local checkout of the bridge, audited through its own build files
        tag = spec.rsplit("#", 1)[-1] if "#" in spec else spec.lstrip("^~=v")
        version = parse(tag)
        release = REACT_NATIVE_PLUGIN.get(_pad3(version)) if version else None
        bundles = (f" (bundles Android ServerSide {release.android}, iOS {release.ios} {release.ios_version})"
                   if release else " (every release, from 1.0.0 of 2023-10-26, bundles Android ServerSide 5.5.1 "
                                   "or later and iOS TCServerSide_noIDFA 5.4.1 or later)")
        found.append(_Declaration("React Native", match.group("name"), match.start("name"), f"{spec}{bundles}",
                                  None, verdict=Verdict.V2))
    return found


_NPM_LINK = re.compile(r'"link"\s*:\s*true|"resolved"\s*:\s*"\.')
_HEADER_VERSION = re.compile(r"^//\s*Version\s*:\s*(?P<v>\d+(?:\.\d+)+)", re.M)


def _framework_header(text: str) -> list[_Declaration]:
    """A vendored TCServerSide framework's ``ServerSideGenerated.h``, whose header comment has the version."""
    match = _HEADER_VERSION.search(text)
    if match is None:
        return []
    version = match.group("v")
    return [_Declaration("iOS", "TCServerSide (vendored framework)", match.start("v"), version,
                         cocoapods_range([version]))]


_AAR = re.compile(r"(?i)^(?:tc[-_]?|tagcommander[-_]?)?server[-_]?side(?:[-_](?:release|debug))?"
                  r"(?:[-_]v?(?P<v>\d+(?:\.\d+)+))?(?:[-_](?:release|debug))?\.aar$")


def vendored_aar(name: str) -> Finding | None:
    """The finding for an Android SDK binary vendored as ``name`` (``ServerSide-5.3.1.aar``), or ``None``."""
    match = _AAR.match(name)
    if match is None:
        return None
    version = match.group("v")
    if version is None:
        declaration = _Declaration("Android", "ServerSide (vendored .aar)", 0, "", None,
                                   "its file name does not show its version")
    else:
        declaration = resolved_android(0, version, version)._replace(product="ServerSide (vendored .aar)")
    return judged(declaration, 1, None, name)


_SCANNERS = {
    SdkFile.GRADLE: _gradle,
    SdkFile.CATALOG: _catalog,
    SdkFile.PODFILE: _pods,
    SdkFile.PODSPEC: _pods,
    SdkFile.PODFILE_LOCK: _podfile_lock,
    SdkFile.PACKAGE_SWIFT: _package_swift,
    SdkFile.PACKAGE_RESOLVED: _package_resolved,
    SdkFile.PBXPROJ: _pbxproj,
    SdkFile.GRADLE_PROPERTIES: lambda text: [],
    SdkFile.PUBSPEC: _pubspec,
    SdkFile.PUBSPEC_LOCK: _pubspec_lock,
    SdkFile.NPM: _npm,
    SdkFile.NPM_LOCK: _npm_lock,
    SdkFile.FRAMEWORK_HEADER: _framework_header,
}


class Pending(NamedTuple):
    """A declaration judged once every file is read: its version comes from a variable set in another file,
    or it pins the vendor's Swift package, whose linked products another file (the Xcode project) tells."""

    declaration: _Declaration
    line: int
    column: int
    match: str


class BuildScan(NamedTuple):
    """What one build file says: findings judged from it alone, declarations that wait for the rest of the
    project, the version-like values it sets (name -> ``[(value, line)]``), and the vendor package's
    products that its targets link (package identity -> product names). A requirement on the package
    whose file says its targets link none of :data:`SERVER_SIDE_PRODUCTS` is not reported."""

    findings: list[Finding]
    pending: list[Pending]
    definitions: dict[str, list[tuple[str, int]]]
    links: dict[str, set[str]]


_DEFINING = (SdkFile.GRADLE, SdkFile.GRADLE_PROPERTIES)


def scan_build(text: str, kind: SdkFile) -> BuildScan:
    """Scan a build file of ``kind`` (see :class:`BuildScan`); :func:`scan_sdk` for one file on its own."""
    blanked = blank_comments(text, _STYLES[kind])
    declarations = _SCANNERS[kind](blanked)
    links: dict[str, set[str]] = {}
    by_reference: dict[str, set[str]] = {}
    if kind is SdkFile.PBXPROJ:
        by_reference = pbxproj_links(blanked)
    elif kind is SdkFile.PACKAGE_SWIFT:
        by_reference = package_swift_links(blanked)
    found: list[Finding] = []
    pending: list[Pending] = []
    for declaration in declarations:
        line, column, line_text = _locate(blanked, declaration.offset)
        match = redact(" ".join(line_text[max(0, column - 101):column + 100].split()))
        if declaration.variable or kind is SdkFile.PACKAGE_RESOLVED:
            pending.append(Pending(declaration, line, column, match))
            continue
        if declaration.package and kind in (SdkFile.PBXPROJ, SdkFile.PACKAGE_SWIFT):
            products = by_reference.get(declaration.package, set()) | by_reference.get("*", set())
            if products:
                links.setdefault("iosv5", set()).update(products)
            if products and not products & SERVER_SIDE_PRODUCTS:
                continue  # only TCConsent, TCCore, ...: nothing is sent server-side
        found.append(judged(declaration, line, column, match))
    definitions = _definitions(blanked, kind) if kind in _DEFINING else {}
    located = {name: [(value, blanked.count("\n", 0, offset) + 1) for value, offset in values]
               for name, values in definitions.items()}
    return BuildScan(found, pending, located, links)


def scan_sdk(text: str, kind: SdkFile) -> list[Finding]:
    """The SDK declarations of a build file of ``kind`` on its own, each judged 1.0, 2.0 or unresolved
    (a version variable it does not set is unresolved; a package pin is judged as if server-side)."""
    scan = scan_build(text, kind)
    found = scan.findings + [judged(p.declaration, p.line, p.column, p.match) for p in scan.pending]
    return sorted(found, key=lambda f: (f.line, f.column or 0))
