"""Mobile SDK versions in Gradle, version catalogs, Podfiles, lock files and Swift packages."""

from __future__ import annotations

import pytest

from migrate1to2.audit.sdk import SdkFile, scan_sdk
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
