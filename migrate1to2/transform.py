"""The exact 1.0 <-> 2.0 mapping on dicts (rules R1-R4 of the spec). Pure: no I/O.

1.0 -> 2.0: ``event_name`` stays at the root (R1); every member of ``properties``
moves to the root (R2); every other root key moves into ``context`` (R3); the
``properties`` object is gone (R4). 2.0 -> 1.0 is the exact inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import CollisionError, ConversionError, json_path
from .version import Version, detect_version

__all__ = ["RESERVED", "downgrade", "upgrade"]

#: Keys that must never be moved out of a container: moving them would overwrite
#: a key or produce a body whose version can no longer be told.
RESERVED = ("event_name", "properties", "context")


def collision_error(container: str, key: str, target: Version) -> CollisionError:
    """The error for a reserved ``key`` found inside ``container`` (``properties``/``context``)."""
    if key == "event_name":
        why = f"would become or overwrite the root `event_name` in {target.value}"
    elif key == container:
        why = f"would leave a `{key}` key at the {target.value} root, which reads as the wrong version"
    else:
        why = f"would collide with the {target.value} `{key}` object"
    return CollisionError(
        f"`{key}` inside `{container}` {why}; rename or remove it before converting",
        json_path(container, key),
    )


def _copy(value: Any) -> Any:
    """A copy of JSON data sharing no dict or list with ``value``; other values are kept as they are."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _restructure(event: Mapping[str, Any], opened: str, wrapped: str, target: Version) -> dict[str, Any]:
    """Move the members of ``opened`` to the root and the other root keys into ``wrapped``.

    Output key order: ``event_name``, the members of ``opened`` in source order, then ``wrapped``.
    """
    inner: Mapping[str, Any] = event.get(opened, {})
    for key in RESERVED:
        if key in inner:
            raise collision_error(opened, key, target)
    result: dict[str, Any] = {}
    if "event_name" in event:
        result["event_name"] = _copy(event["event_name"])
    for key, value in inner.items():
        result[key] = _copy(value)
    result[wrapped] = {key: _copy(value) for key, value in event.items() if key not in ("event_name", opened)}
    return result


def _convert(event: Mapping[str, Any], source: Version, target: Version, opened: str, wrapped: str) -> dict[str, Any]:
    try:
        if detect_version(event) is source:
            return _restructure(event, opened, wrapped, target)
        return _copy(event)  # type: ignore[no-any-return]
    except RecursionError:
        raise ConversionError("the payload is nested too deeply to copy", "$") from None


def upgrade(event: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a 1.0 payload to 2.0 by rules R1-R4; never mutates ``event``.

    A payload that is already 2.0 (or reads the same in both) comes back as an
    unchanged copy, so ``upgrade`` is idempotent. Raises :class:`ConversionError`
    (with the JSON path of the offending key) for collisions and ambiguous input.
    """
    return _convert(event, Version.V1, Version.V2, "properties", "context")


def downgrade(event: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a 2.0 payload to 1.0, the exact inverse of :func:`upgrade`; never mutates ``event``.

    A payload that is already 1.0 (or reads the same in both) comes back as an unchanged copy.
    """
    return _convert(event, Version.V2, Version.V1, "context", "properties")
