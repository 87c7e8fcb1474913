"""Which format a payload is in: the detection rule of the spec, on dicts."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from .errors import AmbiguousVersionError, NotAnObjectError, json_path

__all__ = ["Version", "detect_version", "json_type"]


class Version(str, Enum):
    """The format of a payload. ``EITHER`` reads the same in both (only ``event_name``)."""

    V1 = "1.0"
    V2 = "2.0"
    EITHER = "either"

    def __str__(self) -> str:
        return self.value


def json_type(value: object) -> str:
    """How a value is named in messages: ``an object``, ``an array``, ``a string``, ``null``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def container_error(name: str, kind: str) -> AmbiguousVersionError:
    """The error for a root ``properties``/``context`` that is not an object."""
    return AmbiguousVersionError(
        f"`{name}` is {kind}, not an object, so the payload is neither 1.0 nor 2.0; "
        "fix or remove it before converting",
        json_path(name),
    )


def both_containers_error() -> AmbiguousVersionError:
    """The error for a root holding both ``properties`` (1.0) and ``context`` (2.0)."""
    return AmbiguousVersionError(
        "both `properties` (1.0) and `context` (2.0) at the root: the version cannot be told "
        "and moving either would overwrite the other; merge or remove one before converting",
        json_path("context"),
    )


def not_an_object_error(kind: str) -> NotAnObjectError:
    """The error for a payload whose top-level value is not a JSON object."""
    return NotAnObjectError(f"a payload must be a JSON object, got {kind}", "$")


def detect_version(event: Mapping[str, Any]) -> Version:
    """Tell the format of ``event``.

    - ``properties`` is an object and there is no ``context``: 1.0
    - ``context`` is an object and there is no ``properties``: 2.0
    - neither: 1.0 if any root key other than ``event_name`` exists, else ``EITHER``
    - both, or a container that is not an object: :class:`AmbiguousVersionError`
    """
    if not isinstance(event, Mapping):
        raise not_an_object_error(json_type(event))
    has_properties = "properties" in event
    has_context = "context" in event
    if has_properties and has_context:
        raise both_containers_error()
    if has_properties:
        if not isinstance(event["properties"], Mapping):
            raise container_error("properties", json_type(event["properties"]))
        return Version.V1
    if has_context:
        if not isinstance(event["context"], Mapping):
            raise container_error("context", json_type(event["context"]))
        return Version.V2
    if any(key != "event_name" for key in event):
        return Version.V1
    return Version.EITHER
