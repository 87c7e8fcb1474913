"""What the vendor's packages ship: recorded from their public release history. Pure data.

- The Swift package ``CommandersAct/iOSV5``: its tags are package versions, not SDK versions.
  Each tag's ``Package.swift`` names the TCServerSide binary it downloads
  (``.binaryTarget(name: "TCServerSide", url: ".../TCServerSide/<major>/<minor>/<patch>/TCServerSide.zip")``);
  :data:`IOS_PACKAGE_TAGS` is that path, read at every tag of https://github.com/CommandersAct/iOSV5
  (tags 5.1.0 to 5.4.13, 2022-11-16 to 2025-03-10). Tags 5.1.0 and 5.1.1 point at the 5.1.3
  binary; tag 5.2.2 ships 5.2.1; tags 5.3.3 and 5.4.0 ship 5.3.2; 5.4.1 is the first tag to ship
  5.4.x.
- The Flutter plugin ``tc_serverside_plugin`` (https://github.com/CommandersAct/tcserverside-flutter-plugin):
  its ``android/build.gradle`` (``api 'com.tagcommander.lib:ServerSide:...'``) and its
  ``ios/tc_serverside_plugin.podspec`` (``s.dependency 'TCServerSide_noIDFA', '...'``; the
  ``-idfa`` tags depend on ``TCServerSide``) at each tag; before 1.0.0 the iOS SDK was vendored as
  an xcframework (its ``Headers/ServerSideGenerated.h`` says ``Version : 5.2.1`` at 0.0.1,
  2023-03-08, and ``5.3.0`` at 0.1.1, 2023-03-24). Up to 1.0.2 the Android SDK is ``5.+``: the
  newest 5.x when the app is built (1.0 before 5.4.0, 2023-03-22); from 1.0.3 it is pinned.
- The React Native bridge ``tcserverside-react-native`` (``@commandersact/tcserverside-react-native``
  from 1.2.1; https://github.com/CommandersAct/tcserverside-react-native): ``android/build.gradle``
  and ``tcserverside-react-native.podspec`` at each tag. Its first release (1.0.0, 2023-10-26)
  already bundled Android ServerSide 5.5.1 and iOS TCServerSide_noIDFA 5.4.1: every release
  sends 2.0.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FLUTTER_PLUGIN", "IOS_PACKAGE_TAGS", "REACT_NATIVE_PLUGIN", "PluginRelease", "shipped_by_tag"]

Version = tuple[int, ...]

#: iOSV5 package tag -> the TCServerSide version that tag's Package.swift downloads.
IOS_PACKAGE_TAGS: dict[Version, Version] = {
    (5, 1, 0): (5, 1, 3), (5, 1, 1): (5, 1, 3),
    (5, 2, 0): (5, 2, 0), (5, 2, 1): (5, 2, 0), (5, 2, 2): (5, 2, 1),
    (5, 3, 0): (5, 3, 0), (5, 3, 1): (5, 3, 1), (5, 3, 2): (5, 3, 2), (5, 3, 3): (5, 3, 2),
    (5, 4, 0): (5, 3, 2), (5, 4, 1): (5, 4, 0), (5, 4, 2): (5, 4, 1),
    (5, 4, 3): (5, 4, 2), (5, 4, 4): (5, 4, 2), (5, 4, 5): (5, 4, 2),
    (5, 4, 6): (5, 4, 3), (5, 4, 7): (5, 4, 3), (5, 4, 8): (5, 4, 3), (5, 4, 9): (5, 4, 3),
    (5, 4, 10): (5, 4, 3), (5, 4, 11): (5, 4, 3),
    (5, 4, 12): (5, 4, 4), (5, 4, 13): (5, 4, 4),
}
#: The newest tag recorded: later tags are assumed to ship at least what it ships.
LAST_IOS_TAG = max(IOS_PACKAGE_TAGS)


def _pad(version: Version) -> Version:
    return version + (0,) * (3 - len(version)) if len(version) < 3 else version


def shipped_by_tag(tag: Version) -> Version | None:
    """The TCServerSide version the iOSV5 tag ships, or ``None`` for a tag that is not in the history
    (a tag after the newest recorded one ships at least what that one ships: see :data:`LAST_IOS_TAG`)."""
    return IOS_PACKAGE_TAGS.get(_pad(tag))


class PluginRelease(NamedTuple):
    """What one release of a plugin bundles: the Android ServerSide requirement and the iOS SDK
    (pod or vendored framework) with its version, as written in the release."""

    android: str | None
    ios: str | None
    ios_version: str | None


#: tc_serverside_plugin release -> what it bundles.
FLUTTER_PLUGIN: dict[Version, PluginRelease] = {
    (0, 0, 1): PluginRelease("5.+", "TCServerSide_noIDFA (vendored)", "5.2.1"),
    (0, 1, 1): PluginRelease("5.+", "TCServerSide_noIDFA (vendored)", "5.3.0"),
    (1, 0, 0): PluginRelease("5.+", "TCServerSide_noIDFA", "5.3.0"),
    (1, 0, 1): PluginRelease("5.+", "TCServerSide_noIDFA", "5.3.0"),
    (1, 0, 2): PluginRelease("5.+", "TCServerSide_noIDFA", "5.3.0"),
    (1, 0, 3): PluginRelease("5.4.2", "TCServerSide_noIDFA", "5.3.0"),
    (1, 0, 4): PluginRelease("5.4.2", "TCServerSide_noIDFA", "5.3.2"),
    (1, 0, 5): PluginRelease("5.5.1", "TCServerSide_noIDFA", "5.4.1"),
    (1, 1, 0): PluginRelease("5.5.1", "TCServerSide_noIDFA", "5.4.3"),
    (1, 1, 1): PluginRelease("5.5.5", "TCServerSide_noIDFA", "5.4.3"),
    (1, 1, 2): PluginRelease("5.5.5", "TCServerSide_noIDFA", "5.4.3"),
    (1, 1, 3): PluginRelease("5.5.6", "TCServerSide_noIDFA", "5.4.3"),
    (1, 2, 0): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.4"),
    (1, 2, 2): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.5"),
    (1, 2, 3): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.5"),
    (1, 2, 4): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.5"),
}
#: The first tc_serverside_plugin release whose every bundled SDK sends 2.0.
FLUTTER_PLUGIN_2_0 = (1, 0, 3)

#: tcserverside-react-native release -> what it bundles.
REACT_NATIVE_PLUGIN: dict[Version, PluginRelease] = {
    (1, 0, 0): PluginRelease("5.5.1", "TCServerSide_noIDFA", "5.4.1"),
    (1, 1, 0): PluginRelease("5.5.1", "TCServerSide_noIDFA", "5.4.1"),
    (1, 1, 1): PluginRelease("5.5.1", "TCServerSide_noIDFA", "5.4.1"),
    (1, 2, 1): PluginRelease("5.5.1", "TCServerSide_noIDFA", "5.4.3"),
    (1, 2, 2): PluginRelease("5.5.5", "TCServerSide_noIDFA", "5.4.3"),
    (1, 2, 3): PluginRelease("5.5.6", "TCServerSide_noIDFA", "5.4.3"),
    (1, 2, 4): PluginRelease("5.5.7", "TCServerSide_noIDFA", "5.4.3"),
    (1, 2, 5): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.4"),
    (1, 2, 6): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.5"),
    (1, 2, 7): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.5"),
    (1, 3, 1): PluginRelease("5.5.8", "TCServerSide_noIDFA", "5.4.5"),
}
