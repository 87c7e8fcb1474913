"""Hypothesis strategies: JSON values, 1.0 and 2.0 payloads, and JSON texts written in every legal way.

Each strategy is a function with knobs, so tests say what they need.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

RESERVED = ("event_name", "properties", "context")
#: Keys that tend to break naive code: empty, unicode, prototype-like, JSON-path-like, control chars.
TRICKY_KEYS = ["", " ", "__proto__", "constructor", "prototype", "toString", "é", "日本語", "🎧", "a b", "a.b",
               "$", "$.x", "[0]", "\\", '"', "\u2028", "\x00", "\x1f", "\ud7ff", "event_id", "page", "device",
               "app", "user", "items", "integrations", "test_code", "eventId", "event"]


def keys(*, exclude: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Object keys: tricky names and arbitrary text, minus ``exclude``."""
    return st.one_of(st.sampled_from(TRICKY_KEYS), st.text(max_size=10)).filter(lambda key: key not in exclude)


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.text(max_size=20),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.integers(min_value=-(10**60), max_value=10**60),  # far beyond 64 bits
        st.floats(allow_nan=False, allow_infinity=False),
    )


def json_values(*, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (dicts, lists, scalars)."""
    return st.recursive(
        scalars(),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(keys(), children, max_size=4)),
        max_leaves=max_leaves,
    )


@st.composite
def deep_values(draw: st.DrawFn, *, max_depth: int = 300) -> Any:
    """A value nested ``depth`` levels deep (lists and objects alternating)."""
    depth = draw(st.integers(min_value=1, max_value=max_depth))
    value: Any = draw(scalars())
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def members(*, exclude: tuple[str, ...] = RESERVED, max_size: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """An object's members: mostly small values, now and then a deeply nested one."""
    values = st.one_of(json_values(max_leaves=6), scalars(), deep_values(max_depth=30))
    return st.dictionaries(keys(exclude=exclude), values, max_size=max_size)


@st.composite
def v1_payloads(draw: st.DrawFn, *, with_properties: bool = True) -> dict[str, Any]:
    """A 1.0 payload: ``properties`` (an object without reserved keys) plus root meta-data.

    With ``with_properties=False`` the container may be missing (then at least one meta key is there).
    """
    event: dict[str, Any] = {}
    if draw(st.booleans()):
        event["event_name"] = draw(st.one_of(st.text(max_size=15), json_values(max_leaves=3)))
    meta = draw(members())
    include = with_properties or draw(st.booleans()) or not meta
    properties = draw(members()) if include else None
    # Root keys in an arbitrary order, properties anywhere among them.
    items = list(meta.items())
    if properties is not None:
        items.insert(draw(st.integers(0, len(items))), ("properties", properties))
    if "event_name" in event and draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), ("event_name", event.pop("event_name")))
    event.update(items)
    return event


@st.composite
def v2_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A 2.0 payload: event data at the root, meta-data in ``context`` (an object without reserved keys)."""
    event: dict[str, Any] = {}
    if draw(st.booleans()):
        event["event_name"] = draw(st.text(max_size=15))
    items = list(draw(members()).items())
    items.insert(draw(st.integers(0, len(items))), ("context", draw(members())))
    event.update(items)
    return event


@st.composite
def v1_collisions(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A 1.0 payload with a reserved key inside ``properties``, and the path the error must name."""
    event = draw(v1_payloads())
    key = draw(st.sampled_from(RESERVED))
    event["properties"][key] = draw(json_values(max_leaves=3))
    return event, f"$.properties.{key}"


@st.composite
def v2_collisions(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A 2.0 payload with a reserved key inside ``context``, and the path the error must name."""
    event = draw(v2_payloads())
    key = draw(st.sampled_from(RESERVED))
    event["context"][key] = draw(json_values(max_leaves=3))
    return event, f"$.context.{key}"


# --- JSON text written in every legal way ------------------------------------------------------

@dataclass(frozen=True)
class Number:
    """A JSON number kept as its exact text (``16.00``, ``1E+2``, ``-0``, ``1e400``)."""

    text: str


def number_texts() -> st.SearchStrategy[Number]:
    return st.from_regex(r"\A-?(0|[1-9][0-9]{0,45})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?\Z").map(Number)


def text_values(*, max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """JSON values whose numbers are :class:`Number` (exact texts) and whose objects may repeat no key."""
    base = st.one_of(st.none(), st.booleans(), st.text(max_size=12), number_texts())
    return st.recursive(
        base,
        lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys(), children, max_size=4)),
        max_leaves=max_leaves,
    )


def render(value: Any, rnd: random.Random, *, spaces: bool, escapes: float = 0.15) -> str:
    """Write ``value`` as JSON text, choosing escapes (``\\u00e9``, ``\\/``, upper or lower hex) and whitespace at random."""
    gap = (lambda: rnd.choice(["", " ", "\n  ", "\t", "\r\n"])) if spaces else (lambda: "")
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Number):
        return value.text
    if isinstance(value, str):
        return render_string(value, rnd, escapes)
    if isinstance(value, list):
        items = (render(item, rnd, spaces=spaces, escapes=escapes) for item in value)
        return "[" + gap() + ("," + gap()).join(items) + gap() + "]"
    inner = ("," + gap()).join(
        render_string(key, rnd, escapes) + gap() + ":" + gap() + render(item, rnd, spaces=spaces, escapes=escapes)
        for key, item in value.items())
    return "{" + gap() + inner + gap() + "}"


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def render_string(text: str, rnd: random.Random, escapes: float = 0.15) -> str:
    """Write a JSON string, escaping each character that may be escaped with probability ``escapes``."""
    out = []
    for char in text:
        code = ord(char)
        escape = rnd.random() < escapes
        if 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")  # never produced by st.text; kept for completeness
        elif char in _SHORT and (char in '"\\' or not escape):
            out.append(_SHORT[char])
        elif code < 0x20 or escape:
            if code > 0xFFFF:
                high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
                hexes = f"\\u{high:04x}\\u{low:04x}"
            else:
                hexes = f"\\u{code:04x}"
            out.append(hexes.upper().replace("\\U", "\\u") if rnd.random() < 0.5 else hexes)
        elif char == "/" and rnd.random() < 0.5:
            out.append("\\/")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def as_text_value(value: Any) -> Any:
    """A plain JSON value (from :func:`json_values`) with ints turned into exact :class:`Number` texts."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return Number(str(value))
    if isinstance(value, float):
        return Number(repr(value))
    if isinstance(value, list):
        return [as_text_value(item) for item in value]
    return {key: as_text_value(item) for key, item in value.items()}


def _render(draw: st.DrawFn, event: Any, spaces: bool | None) -> str:
    # A seeded PRNG picks escapes and whitespace: drawing each choice from hypothesis would cost
    # far too much entropy; the seed is still drawn, so failures reproduce.
    rnd = random.Random(draw(st.integers(0, 2**32)))
    escapes = draw(st.sampled_from([0.0, 0.0, 0.02, 0.3]))
    return render(event, rnd, spaces=draw(st.booleans()) if spaces is None else spaces, escapes=escapes)


@st.composite
def v1_texts(draw: st.DrawFn, *, spaces: bool | None = None, with_properties: bool = True) -> str:
    """A 1.0 payload (no reserved keys in ``properties``) as JSON text with exact numbers and random escapes.

    With ``with_properties=False`` the container may be missing (see :func:`v1_payloads`).
    """
    event = draw(v1_payloads(with_properties=with_properties))
    event = as_text_value(event)
    # Sprinkle exact number texts into the event data and the meta-data.
    for container in ((event["properties"], event) if "properties" in event else (event,)):
        for key in draw(st.lists(keys(exclude=(*RESERVED, *container)), max_size=2, unique=True)):
            container[key] = draw(text_values(max_leaves=4))
    return _render(draw, event, spaces)


@st.composite
def v2_texts(draw: st.DrawFn, *, spaces: bool | None = None) -> str:
    """A 2.0 payload (with ``context``, no reserved keys) as JSON text with exact numbers and random escapes."""
    event = as_text_value(draw(v2_payloads()))
    for container in (event["context"], event):
        for key in draw(st.lists(keys(exclude=(*RESERVED, *container)), max_size=2, unique=True)):
            container[key] = draw(text_values(max_leaves=4))
    return _render(draw, event, spaces)


def damage(raw: bytearray, data: st.DataObject, insertable: bytes) -> None:
    """Cut, insert (one of ``insertable``) or flip one byte of ``raw``, in place, as ``data`` draws."""
    at = data.draw(st.integers(0, len(raw) - 1))
    action = data.draw(st.sampled_from(["cut", "insert", "flip"]))
    if action == "cut":
        del raw[at]
    elif action == "insert":
        raw.insert(at, data.draw(st.sampled_from(insertable)))
    else:
        raw[at] ^= data.draw(st.integers(1, 255))


#: Lines that are not plain records: errors of every kind, blank lines, odd spellings.
ODD_LINES = [b"", b"   ", b"\t\r", b'{"event_name":"x","properties":{"event_name":"y"}}', b'{"a":1,', b"[1]",
             b'"text"', b"12", b'{"event_name":"x","properties":{"a":1,"a":2}}', b'{"a":"\xff"}',
             b'{"a":"\\u001F","properties":{}}', b'{"properties":{"k\\u0001":1}}', b'{"properties":{}} ',
             b' {"properties":{}}', b'{"properties":{},"context":{}}', b'{"properties":[]}', b'{"context":"x"}',
             b'{"context":{"context":1}}', b'{"page":1,"page":2}', b'{"propert\\u0069es":{"a":1}}',
             b"\xef\xbb\xbf{}", b'{"properties":{"a": 1}}', b'{"event_name" : "e"}', b"{}", b'{"event_name":"e"}',
             b'{"properties":{}}', b'{"context":{}}', b'{"event_name":"e","properties":{"a":1}}']


@st.composite
def record_lines(draw: st.DrawFn) -> bytes:
    """One NDJSON line of any kind users' archives hold (without its newline)."""
    kind = draw(st.sampled_from(["v1", "v1", "v1 without properties", "v2", "spaced", "spaced levels", "odd",
                                 "damaged"]))
    if kind == "odd":
        return draw(st.sampled_from(ODD_LINES))
    if kind == "spaced levels":
        return draw(spaced_texts())
    if kind == "v2":
        text = draw(v2_texts(spaces=False))
    elif kind == "v1 without properties":
        text = draw(v1_texts(spaces=False, with_properties=False))
    else:
        text = draw(v1_texts(spaces=kind == "spaced"))
    # Raw newlines only occur between tokens (inside strings they are escaped).
    line = text.replace("\r", " ").replace("\n", " ").encode("utf-8")
    if kind == "damaged" and line:
        raw = bytearray(line)
        damage(raw, draw(st.data()), b',:{}[]"\\ \t\r\xff\xc3\x80\x00e-.0u')
        line = bytes(raw).replace(b"\n", b" ")
    return line


@st.composite
def mixed_chunks(draw: st.DrawFn, *, max_lines: int = 12) -> bytes:
    """Whole NDJSON lines mixing every kind of record, LF and CRLF line ends (the last line may have none)."""
    lines = draw(st.lists(record_lines(), min_size=1, max_size=max_lines))
    ends = draw(st.lists(st.sampled_from([b"\n", b"\n", b"\r\n"]), min_size=len(lines), max_size=len(lines)))
    chunk = b"".join(line + end for line, end in zip(lines, ends, strict=True))
    return chunk if draw(st.booleans()) else chunk.removesuffix(b"\n")


#: Whitespace between tokens, as archives hold it: json.dumps' single spaces, tabs, CRs inside a line.
LINE_GAPS = ["", "", " ", " ", "  ", "\t", " \t", "\r", "\r "]


@st.composite
def spaced_texts(draw: st.DrawFn, *, newlines: bool = False, plain_keys: bool = False) -> bytes:
    """A record (1.0, 2.0, 1.0 without ``properties``, or one reading the same in both) with whitespace
    of every kind between its tokens: at each level or only some (the root's, its container's, inside
    values) and around it. LF too with ``newlines`` (else it is one NDJSON line).

    With ``plain_keys`` the keys of the root and its container need no escape and are written without
    one (the case the C accelerator converts itself); values may hold escapes either way.
    """
    payload = draw(st.one_of(v1_payloads(), v1_payloads(with_properties=False), v2_payloads(),
                             st.fixed_dictionaries({"event_name": st.text(max_size=5)}), st.just({})))
    event = as_text_value(payload)
    rnd = random.Random(draw(st.integers(0, 2**32)))
    escapes = draw(st.sampled_from([0.0, 0.02, 0.3]))
    root_spaced, box_spaced, values_spaced, around = (draw(st.booleans()) for _ in range(4))
    gaps = [*LINE_GAPS, "\n", "\r\n ", "\n\t"] if newlines else LINE_GAPS
    plain = (lambda key: all(char >= " " and char not in '"\\' for char in key)) if plain_keys else (lambda _: True)

    def gap(spaced: bool) -> str:
        return rnd.choice(gaps) if spaced else ""

    def value(item: Any) -> str:
        text = render(item, rnd, spaces=values_spaced, escapes=escapes)  # raw newlines only between tokens
        return text if newlines else re.sub("\r?\n", lambda _: rnd.choice(gaps), text)

    def obj(items: list[tuple[str, Any]], spaced: bool, write: Any) -> str:
        members = [(f'"{key}"' if plain_keys else render_string(key, rnd, escapes)) + gap(spaced) + ":"
                   + gap(spaced) + write(key, item) for key, item in items if plain(key)]
        return "{" + gap(spaced) + ("," + gap(spaced)).join(members) + gap(spaced) + "}"

    def member(key: str, item: Any) -> str:
        if key in ("properties", "context") and isinstance(item, dict):
            return obj(list(item.items()), box_spaced, lambda _, inner: value(inner))
        return value(item)

    text = gap(around) + obj(list(event.items()), root_spaced, member) + gap(around)
    return text.encode("utf-8")
