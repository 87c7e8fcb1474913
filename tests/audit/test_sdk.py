"""Mobile SDK versions in Gradle, version catalogs, Podfiles, lock files and Swift packages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrate1to2.audit import audit_paths
from migrate1to2.audit.sdk import SdkFile, scan_sdk, vendored_aar
from migrate1to2.audit.versions import (
    ANDROID_2_0,
    IOS_2_0,
    Range,
    Verdict,
    cocoapods_range,
    gradle_range,
    judge,
)
from tests.audit.helpers import FIXTURES, findings_in

SDK = FIXTURES / "sdk"

Expected = list[tuple[str, int, int | None, str | None]]


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("android/groovy/app/build.gradle", [("sdk-1.0", 12, 20, "1.0")], id="groovy-variable-in-ext"),
    pytest.param("android/groovy/tracking/build.gradle", [("sdk-1.0", 4, 20, "1.0")], id="groovy-map-dynamic"),
    pytest.param("android/kts/app/build.gradle.kts", [("sdk-2.0", 8, 20, "2.0")], id="kts-5.4.1"),
    pytest.param("android/kts/legacy/build.gradle.kts",
                 [("sdk-version-unresolved", 4, 20, None), ("sdk-1.0", 5, 20, "1.0")], id="kts-property-and-range"),
    pytest.param("android/catalog/gradle/libs.versions.toml", [("sdk-1.0", 7, 19, "1.0")], id="catalog-version-ref"),
    pytest.param("android/catalog-v2/gradle/libs.versions.toml", [("sdk-2.0", 5, 19, "2.0")],
                 id="catalog-rich-version"),
    pytest.param("ios/app/Podfile", [("sdk-1.0", 6, 8, "1.0")], id="podfile-pessimistic"),
    pytest.param("ios/app/Podfile.lock", [("sdk-1.0", 3, 5, "1.0")], id="podfile-lock"),
    pytest.param("ios/podspec-url/Podfile", [("sdk-1.0", 4, 8, "1.0")], id="podfile-podspec-url-noidfa"),
    pytest.param("ios/unpinned/Podfile",
                 [("sdk-version-unresolved", 2, 8, None), ("sdk-version-unresolved", 3, 8, None)],
                 id="podfile-unpinned-and-wide"),
    pytest.param("ios/modern/Podfile", [("sdk-2.0", 2, 8, "2.0")], id="podfile-2.0"),
    pytest.param("ios/podspec/ShopTracking.podspec", [("sdk-1.0", 7, 17, "1.0")], id="podspec-dependency"),
    pytest.param("ios/spm/Package.swift", [("sdk-1.0", 8, 18, "1.0")], id="package-swift-up-to-next-minor"),
    pytest.param("ios/spm/Package.resolved", [("sdk-1.0", 6, 7, "1.0")], id="package-resolved-v2"),
    pytest.param("ios/spm-v1/Package.swift", [("sdk-2.0", 7, 40, "2.0")], id="package-swift-exact"),
    pytest.param("ios/spm-v1/Package.resolved", [("sdk-2.0", 6, 9, "2.0")], id="package-resolved-v1"),
])
def test_sdk_declarations(name: str, expected: Expected) -> None:
    assert findings_in(SDK / name) == expected


def test_messages_name_the_version_and_the_fix() -> None:
    (found,) = scan_sdk("implementation 'com.tagcommander.lib:ServerSide:5.3.1'\n", SdkFile.GRADLE)
    assert found.message == ("Android com.tagcommander.lib:ServerSide 5.3.1 sends 1.0 payloads (2.0 from 5.4.0); "
                             "upgrade to 5.4.0 or later")


@pytest.mark.parametrize(("text", "kind", "expected"), [
    pytest.param("implementation 'com.tagcommander.lib:core:5.1.2'\n", SdkFile.GRADLE, [], id="other-artifact"),
    pytest.param("// implementation 'com.tagcommander.lib:ServerSide:5.3.1'\n", SdkFile.GRADLE, [],
                 id="gradle-comment"),
    pytest.param("implementation 'com.tagcommander.lib:ServerSide'\n", SdkFile.GRADLE,
                 [("sdk-version-unresolved", 1, 16)], id="gradle-no-version"),
    pytest.param("implementation 'com.tagcommander.lib:ServerSide:5.+'\n", SdkFile.GRADLE,
                 [("sdk-version-unresolved", 1, 16)], id="gradle-dynamic-across-2.0"),
    pytest.param('val tc = "5.4.0"\nimplementation("com.tagcommander.lib:ServerSide:${tc}")\n', SdkFile.GRADLE,
                 [("sdk-2.0", 2, 16)], id="kts-variable-braces"),
    pytest.param('implementation("com.tagcommander.lib:ServerSide") { version { strictly("5.3.1") } }\n',
                 SdkFile.GRADLE, [("sdk-1.0", 1, 16)], id="kts-rich-version-strictly"),
    pytest.param("implementation('com.tagcommander.lib:ServerSide') {\n    version {\n        require '[5.4,6)'\n"
                 "    }\n}\n", SdkFile.GRADLE, [("sdk-2.0", 1, 16)], id="groovy-rich-version-require"),
    pytest.param("  pod 'TCServerSide', '5.3.0'\n", SdkFile.PODFILE, [("sdk-2.0", 1, 8)], id="pod-exact-2.0"),
    pytest.param("  pod 'TCServerSide', :git => 'https://github.com/CommandersAct/iOSV5.git', :tag => '5.2.1'\n",
                 SdkFile.PODFILE, [("sdk-1.0", 1, 8)], id="pod-git-tag"),
    pytest.param("  pod 'TCServerSide', :git => 'https://github.com/CommandersAct/iOSV5.git', :branch => 'main'\n",
                 SdkFile.PODFILE, [("sdk-version-unresolved", 1, 8)], id="pod-git-branch"),
    pytest.param("  pod 'TCCore', '5.2.0'\n", SdkFile.PODFILE, [], id="other-pod"),
    pytest.param('.package(url: "https://github.com/CommandersAct/iOSV5", "5.0.0"..<"5.3.0")', SdkFile.PACKAGE_SWIFT,
                 [("sdk-1.0", 1, 10)], id="spm-half-open-range"),
    pytest.param('.package(url: "https://github.com/CommandersAct/iOSV5", branch: "main")', SdkFile.PACKAGE_SWIFT,
                 [("sdk-version-unresolved", 1, 10)], id="spm-branch"),
    pytest.param('.package(url: "https://github.com/CommandersAct/iOSV5", from: "5.2.0")', SdkFile.PACKAGE_SWIFT,
                 [("sdk-version-unresolved", 1, 10)], id="spm-from-across-2.0"),
])
def test_declaration_forms(text: str, kind: SdkFile, expected: list[tuple[str, int, int]]) -> None:
    assert [(f.rule, f.line, f.column) for f in scan_sdk(text, kind)] == expected


@pytest.mark.parametrize(("allowed", "first", "verdict"), [
    pytest.param(gradle_range("5.3.1"), ANDROID_2_0, Verdict.V1, id="android-5.3.1"),
    pytest.param(gradle_range("5.4.0"), ANDROID_2_0, Verdict.V2, id="android-5.4.0"),
    pytest.param(gradle_range("5.4"), ANDROID_2_0, Verdict.V2, id="android-5.4-short"),
    pytest.param(gradle_range("5.3.+"), ANDROID_2_0, Verdict.V1, id="android-5.3.+"),
    pytest.param(gradle_range("5.+"), ANDROID_2_0, Verdict.UNKNOWN, id="android-5.+"),
    pytest.param(gradle_range("[5.0,5.4)"), ANDROID_2_0, Verdict.V1, id="android-range-open"),
    pytest.param(gradle_range("[5.0,5.4]"), ANDROID_2_0, Verdict.UNKNOWN, id="android-range-closed"),
    pytest.param(gradle_range("5.4.1!!"), ANDROID_2_0, Verdict.V2, id="android-strictly"),
    pytest.param(gradle_range("latest.release"), ANDROID_2_0, Verdict.UNKNOWN, id="android-latest"),
    pytest.param(cocoapods_range(["5.2.9"]), IOS_2_0, Verdict.V1, id="ios-5.2.9"),
    pytest.param(cocoapods_range(["~> 5.2.0"]), IOS_2_0, Verdict.V1, id="ios-pessimistic-patch"),
    pytest.param(cocoapods_range(["~> 5.2"]), IOS_2_0, Verdict.UNKNOWN, id="ios-pessimistic-minor"),
    pytest.param(cocoapods_range(["~> 5.3"]), IOS_2_0, Verdict.V2, id="ios-pessimistic-5.3"),
    pytest.param(cocoapods_range([">= 5.0", "< 5.3"]), IOS_2_0, Verdict.V1, id="ios-two-requirements"),
    pytest.param(cocoapods_range(["<= 5.3.0"]), IOS_2_0, Verdict.UNKNOWN, id="ios-at-most-5.3.0"),
    pytest.param(Range(None, None), IOS_2_0, Verdict.UNKNOWN, id="unbounded"),
])
def test_version_verdicts(allowed: Range | None, first: tuple[int, ...], verdict: Verdict) -> None:
    assert judge(allowed, first) is verdict


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("android/buildsrc", [("buildSrc/src/main/kotlin/Dependencies.kt", "sdk-1.0", 9, 32)],
                 id="buildsrc-constant-set-in-versions-kt"),
    pytest.param("android/buildsrc-v2", [("buildSrc/src/main/java/Dependencies.kt", "sdk-2.0", 14, 32)],
                 id="buildsrc-constant-same-file"),
    pytest.param("android/properties", [("app/build.gradle", "sdk-1.0", 5, 20)], id="gradle-properties"),
    pytest.param("android/properties-v2", [("app/build.gradle.kts", "sdk-2.0", 4, 20)],
                 id="gradle-properties-by-project"),
    pytest.param("android/properties-conflict", [("app/build.gradle", "sdk-version-unresolved", 2, 20)],
                 id="gradle-properties-set-twice"),
    pytest.param("android/vendored", [("app/libs/ServerSide-5.3.1.aar", "sdk-1.0", 1, None)], id="vendored-aar"),
    pytest.param("android/consent-libs", [], id="vendored-aar-not-linked"),
    pytest.param("ios/pbxproj-v1", [("Shop.xcodeproj/project.pbxproj", "sdk-1.0", 34, 21)], id="pbxproj-exact-5.2.2"),
    pytest.param("ios/pbxproj-v2", [("Shop.xcodeproj/project.pbxproj", "sdk-2.0", 33, 21)],
                 id="pbxproj-up-to-next-major-5.4.0"),
    pytest.param("ios/consent-only", [], id="consent-only-app-pins-the-package"),
    pytest.param("ios/vendored", [
        ("Frameworks/TCServerSide_noIDFA.xcframework/ios-arm64/TCServerSide_noIDFA.framework/Headers/"
         "ServerSideGenerated.h", "sdk-1.0", 2, 15)], id="vendored-xcframework-once-per-framework"),
    pytest.param("ios/vendored-unknown", [("TCServerSide.xcframework/Info.plist", "sdk-version-unresolved", 1, None)],
                 id="vendored-xcframework-without-version"),
    pytest.param("flutter/v1", [("pubspec.lock", "sdk-1.0", 11, 3), ("pubspec.yaml", "sdk-1.0", 13, 3)],
                 id="flutter-0.0.1-vendored-ios-5.2.1"),
    pytest.param("flutter/v2", [("pubspec.lock", "sdk-2.0", 2, 3), ("pubspec.yaml", "sdk-2.0", 7, 3)],
                 id="flutter-1.1.0-idfa"),
    pytest.param("flutter/caret", [("pubspec.yaml", "sdk-version-unresolved", 5, 3)], id="flutter-caret-1.0.0"),
    pytest.param("react-native/app", [("package-lock.json", "sdk-2.0", 7, 19), ("package.json", "sdk-2.0", 7, 6)],
                 id="react-native-bridge"),
    pytest.param("react-native/consent", [], id="react-native-consent-only"),
])
def test_project_declarations(name: str, expected: list[tuple[str, str, int, int | None]]) -> None:
    root = SDK / name
    report = audit_paths([str(root)], limit=0)
    prefix = str(root).replace("\\", "/") + "/"
    assert [(f.path.removeprefix(prefix), f.rule, f.line, f.column) for f in report.findings] == expected


def test_a_constant_set_in_another_file_names_where() -> None:
    (found,) = audit_paths([str(SDK / "android/buildsrc")]).findings
    assert found.message == (
        "Android com.tagcommander.lib:ServerSide 5.1.1 (from `${Versions.tcServerSide}`, set in "
        f"{SDK.as_posix()}/android/buildsrc/buildSrc/src/main/kotlin/Versions.kt:6) sends 1.0 payloads "
        "(2.0 from 5.4.0); upgrade to 5.4.0 or later")


def test_the_consent_only_app_is_not_reported() -> None:
    report = audit_paths([str(SDK / "ios/consent-only")])
    assert (report.findings, report.notes, report.errors, report.files) == ([], [], [], 2)


def test_a_pin_is_judged_when_the_project_links_the_server_side_product(tmp_path: Path) -> None:
    """The look-alike's opposite: the same pin in a project whose target links TCServerSide is reported."""
    shutil.copytree(SDK / "ios/consent-only", tmp_path / "app")
    pbxproj = tmp_path / "app/News.xcodeproj/project.pbxproj"
    pbxproj.write_text(pbxproj.read_text().replace("TCConsent", "TCServerSide"))
    report = audit_paths([str(tmp_path / "app")])
    assert sorted((f.path.rsplit("/", 1)[-1], f.rule) for f in report.findings) == [
        ("Package.resolved", "sdk-1.0"), ("project.pbxproj", "sdk-version-unresolved")]
    resolved = next(f for f in report.findings if f.path.endswith("Package.resolved"))
    assert resolved.message.startswith("iOS iOSV5 package 5.2.2 (resolved; ships TCServerSide 5.2.1) sends 1.0")


@pytest.mark.parametrize(("requirement", "rule", "shown"), [
    pytest.param('exact: "5.2.2"', "sdk-1.0", "exactly 5.2.2 (ships TCServerSide 5.2.1)", id="tag-5.2.2"),
    pytest.param('exact: "5.4.0"', "sdk-2.0", "exactly 5.4.0 (ships TCServerSide 5.3.2)", id="tag-5.4.0"),
    pytest.param('exact: "5.3.0"', "sdk-2.0", "exactly 5.3.0 (ships TCServerSide 5.3.0)", id="tag-5.3.0"),
    pytest.param('exact: "5.1.0"', "sdk-1.0", "exactly 5.1.0 (ships TCServerSide 5.1.3)", id="tag-5.1.0"),
    pytest.param('exact: "5.4.18"', "sdk-2.0", "exactly 5.4.18 (ships TCServerSide 5.4.4 or later)",
                 id="tag-after-the-recorded-history"),
    pytest.param('exact: "5.2.9"', "sdk-version-unresolved", "exactly 5.2.9", id="no-such-tag"),
    pytest.param('.upToNextMinor(from: "5.3.3")', "sdk-2.0",
                 "5.3.3 up to the next minor (ships TCServerSide 5.3.2)", id="minor-5.3.3"),
    pytest.param('"5.2.0"..<"5.4.0"', "sdk-version-unresolved",
                 "5.2.0..<5.4.0 (its tags ship TCServerSide 5.2.0 to 5.3.2)", id="range-across-the-switch"),
])
def test_ios_package_tags_are_judged_by_the_sdk_they_ship(requirement: str, rule: str, shown: str) -> None:
    (found,) = scan_sdk(f'.package(url: "https://github.com/CommandersAct/iOSV5.git", {requirement})',
                        SdkFile.PACKAGE_SWIFT)
    assert (found.rule, found.message.startswith(f"iOS iOSV5 package {shown}")) == (rule, True), found.message


def _pbx(requirement: str) -> str:
    return ('5E3F4A6B7C8D9E0F1A2B3C4D /* XCRemoteSwiftPackageReference "iOSV5" */ = {\n'
            '\tisa = XCRemoteSwiftPackageReference;\n\trepositoryURL = "https://github.com/CommandersAct/iOSV5.git";\n'
            f'\trequirement = {{\n{requirement}\n\t}};\n}};\n')


@pytest.mark.parametrize(("requirement", "rule"), [
    pytest.param("kind = exactVersion; version = 5.3.0;", "sdk-2.0", id="exact"),
    pytest.param("kind = upToNextMinorVersion; minimumVersion = 5.2.0;", "sdk-1.0", id="up-to-next-minor"),
    pytest.param("kind = upToNextMajorVersion; minimumVersion = 5.2.0;", "sdk-version-unresolved",
                 id="up-to-next-major-across"),
    pytest.param("kind = versionRange; maximumVersion = 5.3.0; minimumVersion = 5.1.0;", "sdk-1.0", id="range"),
    pytest.param("kind = branch; branch = master;", "sdk-version-unresolved", id="branch"),
    pytest.param("kind = revision; revision = 0f1e2d3c;", "sdk-version-unresolved", id="revision"),
])
def test_pbxproj_requirement_kinds(requirement: str, rule: str) -> None:
    assert [f.rule for f in scan_sdk(_pbx(requirement), SdkFile.PBXPROJ)] == [rule]


def test_pbxproj_other_packages_are_not_reported() -> None:
    text = _pbx("kind = exactVersion; version = 5.2.0;").replace("CommandersAct/iOSV5", "onevcat/Kingfisher")
    assert scan_sdk(text, SdkFile.PBXPROJ) == []


def test_package_swift_linking_only_consent_is_not_reported() -> None:
    text = ('.package(url: "https://github.com/CommandersAct/iOSV5", exact: "5.2.2"),\n'
            '.target(name: "App", dependencies: [.product(name: "TCConsent", package: "iOSV5")])\n')
    assert scan_sdk(text, SdkFile.PACKAGE_SWIFT) == []
    linked = text.replace('"TCConsent"', '"TCServerSide_noIDFA"')
    assert [f.rule for f in scan_sdk(linked, SdkFile.PACKAGE_SWIFT)] == ["sdk-1.0"]


@pytest.mark.parametrize(("text", "kind", "rule"), [
    pytest.param("  tc_serverside_plugin: 1.0.4\n", SdkFile.PUBSPEC, "sdk-2.0", id="pub-exact-2.0"),
    pytest.param("  tc_serverside_plugin: '>=1.0.3 <2.0.0'\n", SdkFile.PUBSPEC, "sdk-2.0", id="pub-range-2.0"),
    pytest.param("  tc_serverside_plugin: 1.0.2\n", SdkFile.PUBSPEC, "sdk-version-unresolved", id="pub-5.+"),
    pytest.param("  tc_serverside_plugin:\n    git:\n      url: https://github.com/CommandersAct/"
                 "tcserverside-flutter-plugin.git\n      ref: master\n", SdkFile.PUBSPEC, "sdk-version-unresolved",
                 id="pub-git-branch"),
    pytest.param("  tc_consent_plugin: 1.0.0\n", SdkFile.PUBSPEC, None, id="pub-consent-plugin"),
    pytest.param('"tcserverside-react-native@git+https://github.com/commandersact/tcserverside-react-native#1.1.0":\n'
                 '  version "1.1.0"\n', SdkFile.NPM_LOCK, "sdk-2.0", id="yarn-lock"),
    pytest.param('{"dependencies": {"tcserverside-react-native": {"version": "1.0.0"}}}', SdkFile.NPM_LOCK,
                 "sdk-2.0", id="package-lock-v1"),
    pytest.param('{"dependencies": {"tccore-react-native": "1.1.0"}}', SdkFile.NPM, None, id="npm-core-only"),
])
def test_plugin_declarations(text: str, kind: SdkFile, rule: str | None) -> None:
    assert [f.rule for f in scan_sdk(text, kind)] == ([rule] if rule else [])


@pytest.mark.parametrize(("name", "rule"), [
    pytest.param("ServerSide-5.3.1.aar", "sdk-1.0", id="version-in-name"),
    pytest.param("TCServerSide-5.4.0-release.aar", "sdk-2.0", id="tc-prefix-release"),
    pytest.param("serverside-release.aar", "sdk-version-unresolved", id="no-version"),
    pytest.param("consent-5.1.0.aar", None, id="consent-aar"),
])
def test_vendored_aar_names(name: str, rule: str | None) -> None:
    found = vendored_aar(name)
    assert (found.rule if found else None) == rule


@pytest.mark.parametrize(("text", "kind"), [
    pytest.param("  tc_serverside_plugin:\n    path: ../\n", SdkFile.PUBSPEC, id="pub-path"),
    pytest.param('{"dependencies": {"tcserverside-react-native": "../"}}', SdkFile.NPM, id="npm-relative"),
    pytest.param('{"dependencies": {"tcserverside-react-native": "file:../bridge"}}', SdkFile.NPM, id="npm-file"),
    pytest.param('{"packages": {"node_modules/tcserverside-react-native": {"resolved": "..", "link": true},\n'
                 '"node_modules/other": {"version": "0.8.4"}}}', SdkFile.NPM_LOCK, id="npm-lock-link"),
])
def test_a_plugin_s_own_example_app_is_not_a_declaration(text: str, kind: SdkFile) -> None:
    """The plugin's example app depends on the checkout itself: its build files say what it bundles."""
    assert scan_sdk(text, kind) == []


def test_a_pubspec_lock_path_source_is_not_a_declaration() -> None:
    text = ('packages:\n  tc_serverside_plugin:\n    dependency: "direct main"\n    description:\n      path: ".."\n'
            '      relative: true\n    source: path\n    version: "0.0.1"\n')
    assert scan_sdk(text, SdkFile.PUBSPEC_LOCK) == []


def test_a_lock_file_names_the_bridge_once() -> None:
    """package-lock.json repeats the root's requirement under `"packages": {"": ...}`: the entry counts."""
    text = ('{"packages": {"": {"dependencies": {"@commandersact/tcserverside-react-native": '
            '"git+https://github.com/commandersact/tcserverside-react-native#1.2.1"}},\n'
            '"node_modules/@commandersact/tcserverside-react-native": {"version": "1.2.1"}}}')
    assert [(f.rule, f.line) for f in scan_sdk(text, SdkFile.NPM_LOCK)] == [("sdk-2.0", 2)]


@pytest.mark.parametrize(("script", "linked"), [
    pytest.param("implementation fileTree(dir: 'libs', include: ['*.aar'])", True, id="file-tree-aar"),
    pytest.param('implementation(fileTree(mapOf("dir" to "libs", "include" to listOf("*.aar"))))', True,
                 id="file-tree-kts"),
    pytest.param("implementation fileTree(dir: 'libs')", True, id="file-tree-everything"),
    pytest.param("implementation fileTree(dir: 'libs', include: ['*.jar'])", False, id="file-tree-jar-only"),
    pytest.param("implementation files('libs/TCServerSide.aar')", True, id="files"),
    pytest.param("implementation(name: 'TCServerSide', ext: 'aar')", True, id="flat-dir"),
    pytest.param("implementation files('libs/TCConsent.aar')", False, id="another-aar"),
])
def test_a_vendored_aar_is_reported_when_its_module_links_it(tmp_path: Path, script: str, linked: bool) -> None:
    (tmp_path / "app/libs").mkdir(parents=True)
    (tmp_path / "app/libs/TCServerSide.aar").write_bytes(b"PK\x03\x04\x00binary")
    (tmp_path / "app/build.gradle").write_text(f"dependencies {{\n    {script}\n}}\n")
    assert [f.rule for f in audit_paths([str(tmp_path)]).findings] == (["sdk-version-unresolved"] if linked else [])
