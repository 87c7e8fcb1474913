"""What build files tell once every file is read: a version set in another file, the products an app links,
vendored SDK binaries. Pure: the walk hands each build file's :class:`.sdk.BuildScan` in, and takes the
findings out at the end.

- A Gradle declaration whose version is a variable set in another file (``buildSrc``'s
  ``Versions.kt`` / ``Dependencies.kt`` constants, ``gradle.properties``, a root ``build.gradle``'s
  ``ext``) is judged by the value set there, named in the message with the file and line; a name
  set to different versions in several files, or set nowhere, stays unresolved.
- A ``Package.resolved`` pin of the vendor's ``iOSV5`` package is judged unless the Xcode project
  (``project.pbxproj``: ``XCSwiftPackageProductDependency`` entries) or ``Package.swift`` of the
  same project (the folder holding the ``.xcodeproj`` / ``.xcworkspace``, or the ``Package.swift``)
  links only products of that package that send nothing server-side (``TCConsent``, ``TCCore``,
  ...): then it is not reported (nothing is sent server-side). With no such file, the pin is
  judged as if ``TCServerSide`` were linked.
- A vendored ``.aar`` of the SDK (in a module's ``libs/``) is reported unless that module's build
  script (``build.gradle`` / ``build.gradle.kts`` next to ``libs/``) links no such file: no
  ``fileTree(...)`` taking ``.aar`` files (or every file) and no mention of the file (``files('libs/X.aar')``,
  ``name: 'X', ext: 'aar'``). A consent-only app may carry the whole SDK in ``libs/`` and link
  only what it names.
- A vendored ``TCServerSide*.xcframework`` is judged from its ``ServerSideGenerated.h`` header
  (``// Version : 5.2.1``), once per framework; with no such header its version is unresolved
  (the ``Info.plist`` version, ``1.0`` in the vendor's frameworks, is not the SDK's).

Scope: a version variable is looked up in every file one audit reads (a project, or a monorepo).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .model import Finding
from .rules import finding
from .sdk import SERVER_SIDE_PRODUCTS, BuildScan, Pending, judged, resolved_android

__all__ = ["SdkProject", "project_folder", "xcframework_root"]

_FILE_TREE = re.compile(r"fileTree\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)")
_XCFRAMEWORK = re.compile(r"^(?P<root>(?:.*/)?(?P<name>TCServerSide\w*)\.xcframework)/")


def project_folder(path: str) -> str:
    """The folder of the project a build file belongs to: the one holding its ``.xcodeproj`` or
    ``.xcworkspace`` (``Package.resolved`` lives inside them), else the file's own folder."""
    parts = path.split("/")[:-1]
    for index, part in enumerate(parts):
        if part.endswith((".xcodeproj", ".xcworkspace")):
            return "/".join(parts[:index])
    return "/".join(parts)


def xcframework_root(display: str) -> tuple[str, str] | None:
    """``(the xcframework's path, its name)`` for a file inside a vendored ``TCServerSide*.xcframework``."""
    match = _XCFRAMEWORK.match(display)
    return (match.group("root"), match.group("name")) if match else None


class _Waiting(NamedTuple):
    path: str
    pending: Pending


class SdkProject:
    """Collects build files' scans; :meth:`finish` judges what waited for the whole project."""

    def __init__(self) -> None:
        self.definitions: dict[str, list[tuple[str, str, int]]] = {}
        self.variables: list[_Waiting] = []
        self.pins: list[_Waiting] = []
        self.links: dict[tuple[str, str], set[str]] = {}
        self.frameworks: dict[str, tuple[str, str]] = {}
        self.headers: dict[str, Finding] = {}
        self.scripts: dict[str, str] = {}
        self.aars: list[tuple[str, Finding]] = []

    def script(self, path: str, text: str) -> None:
        """A module's Gradle build script (``build.gradle``, ``build.gradle.kts``), comments blanked."""
        self.scripts[path.rsplit("/", 1)[0] if "/" in path else ""] = text

    def aar(self, path: str, found: Finding) -> None:
        """A vendored SDK ``.aar`` (its finding), judged once every build script is read."""
        self.aars.append((path, found))

    def add(self, path: str, scan: BuildScan) -> None:
        """Take in the scan of the build file ``path``."""
        for name, values in scan.definitions.items():
            self.definitions.setdefault(name, []).extend((value, path, line) for value, line in values)
        for package, products in scan.links.items():
            self.links.setdefault((project_folder(path), package), set()).update(products)
        for pending in scan.pending:
            (self.variables if pending.declaration.variable else self.pins).append(_Waiting(path, pending))

    def framework(self, root: str, name: str, plist: str) -> None:
        """A vendored xcframework's ``Info.plist`` was seen."""
        self.frameworks.setdefault(root, (name, plist))

    def header(self, root: str, found: Finding) -> bool:
        """A vendored framework's version header: False when the framework's version is already known."""
        if root in self.headers:
            return False
        self.headers[root] = found
        return True

    def finish(self) -> list[Finding]:
        """The findings (located in their files) of what waited for every file."""
        found = [self._variable(waiting) for waiting in self.variables]
        for path, pending in self.pins:
            linked = self.links.get((project_folder(path), "iosv5"))
            if linked and not linked & SERVER_SIDE_PRODUCTS:
                continue  # the project links only TCConsent, TCCore, ...: nothing is sent server-side
            found.append(judged(pending.declaration, pending.line, pending.column, pending.match).at(
                path, pending.line, pending.column))
        for path, aar in self.aars:
            if self._linked(path):
                found.append(aar)
        for root, (name, plist) in sorted(self.frameworks.items()):
            if root not in self.headers:
                found.append(finding(
                    "sdk-version-unresolved",
                    f"iOS {name} vendored as {root.rsplit('/', 1)[-1]}: its version is not shown (no "
                    "`ServerSideGenerated.h` header with `Version :`; the Info.plist version is not the SDK's); "
                    "replace it with the package or pod of TCServerSide 5.3.0 or later",
                    path=plist, line=1, match=f"{name}.xcframework"))
        return found

    def _linked(self, path: str) -> bool:
        """Whether the module holding ``libs/<name>.aar`` links it (True when its build script was not read)."""
        parts = path.split("/")
        module = "/".join(parts[:-2]) if len(parts) >= 2 and parts[-2] == "libs" else None
        text = self.scripts.get(module) if module is not None else None
        if text is None:
            return True
        base = parts[-1].removesuffix(".aar")
        if any(".aar" in call.group() or "include" not in call.group() for call in _FILE_TREE.finditer(text)):
            return True
        return f"{base}.aar" in text or re.search(rf"""name\s*[:=]\s*["']{re.escape(base)}["']""", text) is not None

    def _variable(self, waiting: _Waiting) -> Finding:
        path, pending = waiting
        declaration = pending.declaration
        values = self.definitions.get(declaration.variable, [])
        distinct = sorted({value for value, _, _ in values})
        if len(distinct) == 1:
            value, where, line = values[0]
            shown = f"{value} (from `{declaration.shown}`, set in {where}:{line})"
            resolved = resolved_android(declaration.offset, shown, value)
        elif distinct:
            places = "; ".join(f"{value} in {where}:{line}" for value, where, line in values[:4])
            resolved = declaration._replace(why=f"`{declaration.variable}` is set to different versions ({places})")
        else:
            resolved = declaration._replace(why=f"`{declaration.variable}` is set in no file audited (audit the "
                                                "whole project, with buildSrc and gradle.properties)")
        return judged(resolved, pending.line, pending.column, pending.match).at(path, pending.line, pending.column)
