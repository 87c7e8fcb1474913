"""The exact mapping on JSON text: values are copied byte for byte.

Only the two levels that move (the root and the container being opened) are
decoded, into ``msgspec.Raw`` values that point at the original bytes; every
value is written back as those same bytes. Numbers keep their text (``16.00``,
``1E+2``, ``-0``, ``1e400``, integers of any size), strings keep their escapes;
only key placement and the whitespace between tokens change.

The fast path proves, from lengths alone, that the decoded members account for
every byte of the object: no whitespace, no duplicate key (a duplicate would be
missing from the decoded dict) and keys in canonical form. When the proof fails
the text is minified (``msgspec.json.format``, which keeps every token's text)
and tried again; if it still fails, a tokenizer reads the members one by one,
refusing duplicates and keeping each key's original spelling.

The JSON scanner and the diagnosis of invalid text are in :mod:`migrate1to2.jsontext`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import chain
from typing import NamedTuple

import msgspec
from msgspec import Raw

from .accelerator import COMPILED
from .accelerator import convert_chunk as _compiled
from .accelerator import convert_text as _text
from .errors import DuplicateKeyError, InvalidJSONError, json_path
from .jsontext import JSON_WS, check_utf8, diagnose, kind, too_deep
from .jsontext import members as scan_members
from .transform import RESERVED, collision_error
from .version import Version, both_containers_error, container_error

#: COMPILED: whether the mapping runs compiled (see :mod:`migrate1to2.accelerator`).
__all__ = ["COMPILED", "JsonResult", "convert_json", "downgrade_json", "upgrade_json"]

_MEMBERS = msgspec.json.Decoder(dict[str, Raw])
_ANY = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()
_encode = _ENCODER.encode
_format = msgspec.json.format

# What the members of one object level are: decoded keys to raw values, and, when
# some key is not written in canonical form, its original bytes.
Members = dict[str, Raw]
RawKeys = dict[str, bytes]


class JsonResult(NamedTuple):
    """What :func:`convert_json` made of one JSON text."""

    output: bytes
    #: False when the payload was already in the target version (or reads the same
    #: in both) and ``output`` is the input, unchanged.
    converted: bool


def _accounts_for(text: bytes | Raw, members: Members) -> bool:
    """True when re-encoding ``members`` (decoded from the object ``text``) gives back ``text`` exactly.

    That proves there is no whitespace at this level, every key is in canonical form
    and no key is duplicated (the decoded dict would be missing a member's bytes).
    """
    return _encode(members) == memoryview(text)


def _scan_members(text: bytes, container: tuple[str, ...]) -> tuple[Members, RawKeys]:
    """Read the members of a minified, valid JSON object one by one.

    Refuses a duplicate key (its path is ``container`` + key) and returns the
    original bytes of each key whose canonical form differs.
    """
    members: Members = {}
    raw_keys: RawKeys = {}
    for key_start, key_end, pos, stop in scan_members(text, 0):
        key_raw = text[key_start:key_end]
        key: str = _ANY.decode(key_raw)
        if key in members:
            raise DuplicateKeyError(
                f"duplicate key `{key}`: converting would silently keep only one of its values; "
                "remove or rename one of them before converting",
                json_path(*container, key),
            )
        members[key] = Raw(text[pos:stop])
        if _encode(key) != key_raw:
            raw_keys[key] = key_raw
    return members, raw_keys


def _members(text: bytes | Raw, container: tuple[str, ...]) -> tuple[Members, RawKeys | None]:
    """The members of the JSON object ``text`` (already validated), proved complete."""
    members: Members = _MEMBERS.decode(text)
    if _accounts_for(text, members):
        return members, None
    text = _format(text, indent=-1)
    members = _MEMBERS.decode(text)
    if _accounts_for(text, members):
        return members, None
    return _scan_members(text, container)


def _object(items: Iterable[tuple[bytes, bytes | Raw]]) -> bytes:
    return b"{" + b",".join(key + b":" + value for key, value in items) + b"}"


def _detect(root: Members) -> Version:
    """The spec's detection rule on the decoded root (containers still raw)."""
    properties = root.get("properties")
    context = root.get("context")
    if properties is not None:
        if context is not None:
            raise both_containers_error()
        if kind(properties) != "an object":
            raise container_error("properties", kind(properties))
        return Version.V1
    if context is not None:
        if kind(context) != "an object":
            raise container_error("context", kind(context))
        return Version.V2
    if len(root) > 1 or (root and "event_name" not in root):
        return Version.V1
    return Version.EITHER


def containers(target: Version) -> tuple[str, str]:
    """The container a conversion to ``target`` opens, and the one it wraps the meta-data in."""
    return ("properties", "context") if target is Version.V2 else ("context", "properties")


_CONTROL = re.compile("[\x00-\x1f]")
FastConverter = Callable[[bytes], "tuple[bytes, int, int] | None"]


def fast_converter(target: Version) -> FastConverter:
    """The common case of a conversion to ``target``, for many NDJSON records at once.

    Takes whole lines (UTF-8 already checked) and returns the converted lines, newline-terminated,
    with the number of records and of newlines; ``None`` means "not only the common case here:
    convert line by line with :func:`convert_json`". The common case: every line holds a record in the source version,
    with its container, without the other one, and with no reserved key in the container.

    Both levels of every record are decoded into raw values (one call for all roots, one for
    all containers) and the output is encoded in one call. Lengths then prove it exact: a
    record with whitespace at either level, a duplicate key (missing from the decoded dicts) or
    a key spelled longer than its canonical form is longer than its decoded members account
    for, never shorter, so the output has the length the input predicts only when no record
    has any of them. The one respelling of the same length, the letter case of a ``\\u00XX``
    escape, can only occur in a key holding a control character; such records are left to
    :func:`convert_json`.
    """
    opened, wrapped = containers(target)
    # Per record, an exact input of n bytes gives n + growth bytes (plus a newline): the container's
    # name changes, and an empty object on either side shifts a comma.
    growth = len(wrapped) - len(opened)
    decode_lines, encode_lines = _MEMBERS.decode_lines, _ENCODER.encode_lines
    control, join = _CONTROL.search, "".join
    not_ours = (msgspec.DecodeError, msgspec.ValidationError, KeyError, RecursionError)

    def convert(chunk: bytes) -> tuple[bytes, int, int] | None:
        newlines = chunk.count(b"\n")
        if b"\n\n" in chunk or chunk.startswith(b"\n"):
            texts = len([line for line in chunk.split(b"\n") if line])
        else:
            texts = newlines + (not chunk.endswith(b"\n"))
        if not texts:
            return None
        try:
            roots: list[Members] = decode_lines(chunk)
            if len(roots) != texts:
                return None  # a line of whitespace only
            boxes = [root.pop(opened) for root in roots]
            inners: list[Members] = decode_lines(b"\n".join(boxes))
        except not_ours:
            return None
        if len(inners) != texts:
            return None
        outs: list[dict[str, Raw | Members]] = []
        append = outs.append
        shifts = 0
        for root, inner in zip(roots, inners, strict=True):
            if wrapped in root or "event_name" in inner or "properties" in inner or "context" in inner:
                return None
            name = root.pop("event_name", None)
            if not root:
                shifts += 1
            if not inner:
                shifts -= 1
            append({**inner, wrapped: root} if name is None else {"event_name": name, **inner, wrapped: root})
        result = encode_lines(outs)
        if len(result) != len(chunk) - newlines + texts * (growth + 1) + shifts:
            return None
        if (b"\\u000" in chunk or b"\\u001" in chunk) and control(join(chain.from_iterable(chain(outs, roots)))):
            return None  # some key holds a control character (whose escape may be spelled otherwise)
        return result, texts, newlines

    return convert


_FAST = {Version.V2: fast_converter(Version.V2), Version.V1: fast_converter(Version.V1)}



def fast_chunk(chunk: bytes, target: Version, *, utf8_checked: bool = False) -> tuple[bytes, int, int] | None:
    """:func:`fast_converter` for ``target``, on bytes not yet checked to be UTF-8 (unless ``utf8_checked``).

    Where the C accelerator (``migrate1to2/_speedups.c``) is compiled, it does the same in one
    pass, validating every byte as it goes, about ten times faster.
    """
    if _compiled is not None:
        return _compiled(chunk, target is Version.V2)
    if b"\r" in chunk:
        return None
    if not utf8_checked and not chunk.isascii():
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return _FAST[target](chunk)


def fast_convert(text: bytes, target: Version, *, utf8_checked: bool = False) -> bytes | None:
    """The common case for one record (see :func:`fast_converter`), or ``None``."""
    if b"\n" in text:
        return None
    if _text is not None and type(text) is bytes:
        record = _text(text, target is Version.V2)
        return record if record is not text else None
    done = fast_chunk(text, target, utf8_checked=utf8_checked)
    return done[0][:-1] if done is not None else None


def convert_json(data: bytes | str, target: Version, *, utf8_checked: bool = False) -> JsonResult:
    """Convert one JSON text to ``target`` (``Version.V2`` or ``Version.V1``) exactly.

    ``utf8_checked=True`` skips the UTF-8 check when the caller has already made it.
    """
    try:
        return _convert_json(data, target, utf8_checked=utf8_checked)
    except RecursionError:
        raise too_deep() from None


def _convert_json(data: bytes | str, target: Version, *, utf8_checked: bool) -> JsonResult:
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as error:
            reason = "the text holds an unpaired surrogate character"
            raise InvalidJSONError(reason, error.start, 1, error.start + 1) from None
    elif _text is not None and type(data) is bytes:  # the C code checks UTF-8 as it goes
        done = _text(data, target is Version.V2)
        if done is not None:
            return JsonResult(done, done is not data)  # unchanged: the input itself
        if not utf8_checked:
            check_utf8(data)
    elif not utf8_checked:
        check_utf8(data)
    fast = fast_convert(data, target)
    if fast is not None:
        return JsonResult(fast, True)
    opened, wrapped = containers(target)
    text = data.strip(JSON_WS)
    try:
        root, root_keys = _members(text, ())
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise diagnose(data) from None
    source = Version.V1 if target is Version.V2 else Version.V2
    if _detect(root) is not source:
        return JsonResult(text, False)
    inner_raw = root.get(opened)
    if inner_raw is None:
        inner: Members = {}
        inner_keys: RawKeys | None = None
    else:
        inner, inner_keys = _members(inner_raw, (opened,))
    for key in RESERVED:
        if key in inner:
            raise collision_error(opened, key, target)
    rest = root.copy()
    rest.pop("event_name", None)
    rest.pop(opened, None)
    if root_keys is None and inner_keys is None:
        out: dict[str, Raw | Members] = {}
        if "event_name" in root:
            out["event_name"] = root["event_name"]
        out.update(inner)
        out[wrapped] = rest
        return JsonResult(_encode(out), True)
    # Some key is not in canonical form: build the output keeping each key's original spelling.
    head = {"event_name": root["event_name"]} if "event_name" in root else {}
    items = _spelled(head, root_keys) + _spelled(inner, inner_keys)
    items.append((_encode(wrapped), _object(_spelled(rest, root_keys))))
    return JsonResult(_object(items), True)


def _spelled(members: Members, raw_keys: RawKeys | None) -> list[tuple[bytes, bytes | Raw]]:
    raw_keys = raw_keys or {}
    return [(raw_keys.get(key) or _encode(key), value) for key, value in members.items()]


def upgrade_json(data: bytes | str) -> bytes:
    """Convert one 1.0 JSON text to 2.0, copying every value byte for byte.

    A text already in 2.0 (or reading the same in both) comes back unchanged.
    Raises :class:`InvalidJSONError` for text that is not JSON or not UTF-8 and
    :class:`ConversionError` for payloads that cannot be converted exactly.
    """
    if _text is not None and type(data) is bytes:  # one call for the common case: pipelines call this per message
        done = _text(data, True)
        if done is not None:
            return done
    return convert_json(data, Version.V2).output


def downgrade_json(data: bytes | str) -> bytes:
    """Convert one 2.0 JSON text to 1.0, the exact inverse of :func:`upgrade_json`."""
    if _text is not None and type(data) is bytes:
        done = _text(data, False)
        if done is not None:
            return done
    return convert_json(data, Version.V1).output










