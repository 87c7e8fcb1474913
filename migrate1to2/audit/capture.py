"""Request bodies sent to the collect endpoint, read from HAR captures and Postman collections. Pure.

Only requests whose URL is the collect endpoint (:func:`.endpoints.is_collect_url`)
count. Each body is located at the line and column where its JSON string starts
in the file. Postman ``{{variables}}`` are replaced by the collection's values
where it defines them; an unknown placeholder standing where a JSON value goes is
read as the string ``"{{name}}"``, which no check judges. A Postman URL whose host
is a variable the collection does not define (it is in an environment file), such
as ``{{collect_host}}/events?tc_s=1`` (or ``https://{{host}}/...``), is a collect
request when its path is ``/events``, ``/events/batch`` or ``/cdp/events`` and
either the variable's name says so (it holds ``collect``, ``commander``,
``serverside``, or ``tc`` / ``cdp`` as a word: ``tc_host``) or the URL has the
``tc_s`` site parameter.

Source keys in the URL (``token=``), in an ``Authorization: Bearer`` header or in
Postman's bearer auth are reported, masked; so are the collection's variables whose
name says token, key or secret and whose value looks like a key, in a collection
that sends to the collect endpoint. The values of the collection's variables that
look like keys (a letter and a digit, 8 characters or more) or whose name says
token, key or secret are :attr:`Capture.secrets`: a report must mask them wherever
a body that holds them is quoted.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec
from msgspec import Raw

from ..errors import InvalidJSONError
from ..jsontext import diagnose
from .endpoints import is_collect_url
from .masking import is_placeholder, mask
from .model import Finding
from .rules import finding

__all__ = ["Body", "Capture", "read_har", "read_postman"]

_MEMBERS = msgspec.json.Decoder(dict[str, Raw])
_ITEMS = msgspec.json.Decoder(list[Raw])
_ANY = msgspec.json.Decoder()
_TOKEN = re.compile(r"[?&]token=(?P<key>[^&#\s]+)")
_VARIABLE_HOST = re.compile(r"\s*(?:https?://)?\{\{\s*(?P<name>[^{}]+?)\s*\}\}/(?:cdp/)?events(?:/batch)?(?:[?#]|$)")
_COLLECT_NAME = re.compile(r"(?i)collect|commander|serverside|(?:^|[\W_])(?:tc|cdp)(?:[\W_]|$)")
_SECRET_NAME = re.compile(r"(?i)token|secret|key")
_KEY_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~+/-]{11,}=*")
_BEARER = re.compile(r"^\s*Bearer\s+(?P<key>\S+)", re.I)
_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_BODY_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|\{\{[^{}]*\}\}')
_BOM = b"\xef\xbb\xbf"


class Body(NamedTuple):
    """A request body: the JSON text, and where its string starts in the capture file."""

    line: int
    column: int
    data: bytes


class Capture(NamedTuple):
    """What a capture holds: the collect request bodies, source-key findings, or why it cannot be read;
    and values that must never be shown (see the module docstring)."""

    bodies: list[Body]
    findings: list[Finding]
    error: InvalidJSONError | None = None
    secrets: tuple[str, ...] = ()


class _Locator:
    """Lines and columns of byte offsets in a file.

    Columns are counted from the previous position asked for when it is on the same line
    (offsets mostly come in order), so a capture written on one line is read once, not
    once per request.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts = [0] + [m.end() for m in re.finditer(b"\n", data)]
        self._last = (0, 0, 1)  # line index, offset, column

    def _width(self, start: int, end: int) -> int:
        return len(self.data[start:end].decode("utf-8", "replace"))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        last_line, last_offset, last_column = self._last
        if line != last_line or abs(offset - last_offset) > offset - self.starts[line]:
            column = self._width(self.starts[line], offset) + 1
        elif offset >= last_offset:
            column = last_column + self._width(last_offset, offset)
        else:
            column = last_column - self._width(offset, last_offset)
        self._last = (line, offset, column)
        return line + 1, column

    def find(self, raw: Raw, start: int) -> int:
        found = self.data.find(bytes(raw), start)
        return found if found >= 0 else start


def _members(raw: Raw | bytes | None) -> dict[str, Raw]:
    if raw is None:
        return {}
    try:
        return _MEMBERS.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return {}


def _items(raw: Raw | None) -> list[Raw]:
    if raw is None:
        return []
    try:
        return _ITEMS.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return []


def _value(raw: Raw | None) -> Any:
    if raw is None:
        return None
    try:
        return _ANY.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None


def _string(raw: Raw | None) -> str | None:
    value = _value(raw)
    return value if isinstance(value, str) else None


def _key_finding(locator: _Locator, offset: int, key: str, how: str,
                 where: str = "in a captured request") -> Finding | None:
    if is_placeholder(key) or "{{" in key:
        return None
    line, column = locator.position(offset)
    return finding("source-key", f"source key {where} ({how}): {mask(key)}; rotate it and keep "
                                 "captures with keys out of the repository", line=line, column=column,
                   match=mask(key))


def _looks_like_key(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _is_secret(name: str, value: str) -> bool:
    """Whether a collection variable's value must be masked wherever it is shown."""
    return len(value) >= 8 and (_SECRET_NAME.search(name) is not None or _looks_like_key(value))


def _variable_collect_url(url: str) -> bool:
    """``{{collect_host}}/events?...``: the host is a variable defined elsewhere (see the module docstring)."""
    match = _VARIABLE_HOST.match(url)
    return match is not None and (_COLLECT_NAME.search(match.group("name")) is not None or "tc_s=" in url)


def _root(data: bytes) -> dict[str, Raw] | None:
    try:
        return _MEMBERS.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def _invalid(data: bytes) -> Capture:
    try:
        error = diagnose(data)
    except RecursionError:
        return Capture([], [], InvalidJSONError("nested too deeply to be read", 0, 1, 1))
    if not isinstance(error, InvalidJSONError):
        error = InvalidJSONError(str(error), 0, 1, 1)
    return Capture([], [], error)


def _entries(locator: _Locator, raws: list[Raw], start: int) -> Iterator[tuple[int, Raw]]:
    """Each element with its offset, found in order after ``start``."""
    for raw in raws:
        start = locator.find(raw, start)
        yield start, raw
        start += len(bytes(raw))


def read_har(data: bytes) -> Capture:
    """The bodies of the requests a HAR capture sent to the collect endpoint."""
    data = data.removeprefix(_BOM)
    root = _root(data)
    if root is None:
        return _invalid(data)
    locator = _Locator(data)
    log = _members(root.get("log"))
    bodies: list[Body] = []
    findings: list[Finding] = []
    for offset, entry in _entries(locator, _items(log.get("entries")), 0):
        request_raw = _members(entry).get("request")
        request = _members(request_raw)
        url = _string(request.get("url"))
        if url is None or not is_collect_url(url):
            continue
        here = locator.find(request_raw, offset) if request_raw is not None else offset
        url_at = locator.find(request["url"], here)
        for match in _TOKEN.finditer(url):
            found = _key_finding(locator, url_at, match.group("key"), "`token=` in the collect URL")
            findings.extend([found] if found else [])
        for header in _items(request.get("headers")):
            fields = _members(header)
            name, value = _string(fields.get("name")), _string(fields.get("value"))
            bearer = _BEARER.match(value or "")
            if name and name.lower() == "authorization" and bearer:
                at = locator.find(fields["value"], locator.find(header, here))
                found = _key_finding(locator, at, bearer.group("key"), "`Authorization: Bearer` header")
                findings.extend([found] if found else [])
        post = _members(request.get("postData"))
        text = _string(post.get("text"))
        if text is not None and text.strip():
            line, column = locator.position(locator.find(post["text"], here))
            bodies.append(Body(line, column, text.encode("utf-8")))
    return Capture(bodies, findings)


def _substitute(text: str, variables: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group()), text)


def _body(raw: str, variables: dict[str, str]) -> str:
    """A raw Postman body with its variables replaced (see the module docstring)."""
    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token.startswith('"'):
            return _VARIABLE.sub(lambda m: json.dumps(variables[m.group(1)])[1:-1] if m.group(1) in variables
                                 else m.group(), token)
        name = token[2:-2].strip()
        return variables[name] if name in variables else json.dumps(token)
    return _BODY_TOKENS.sub(replace, raw)


def _postman_items(locator: _Locator, raws: list[Raw], start: int) -> Iterator[tuple[int, dict[str, Raw]]]:
    for offset, raw in _entries(locator, raws, start):
        item = _members(raw)
        if "item" in item:
            yield from _postman_items(locator, _items(item["item"]), offset)
        elif "request" in item:
            yield offset, item


def _postman_url(request: dict[str, Raw], variables: dict[str, str]) -> tuple[str, Raw | None]:
    """The request URL (variables replaced) and the raw string it was written as."""
    url_raw = request.get("url")
    value = _value(url_raw)
    if isinstance(value, dict):
        url_raw = _members(url_raw).get("raw")
        value = _value(url_raw)
    return (_substitute(value, variables) if isinstance(value, str) else ""), url_raw


def read_postman(data: bytes) -> Capture:
    """The bodies of the requests a Postman collection sends to the collect endpoint."""
    data = data.removeprefix(_BOM)
    root = _root(data)
    if root is None:
        return _invalid(data)
    locator = _Locator(data)
    variables: dict[str, str] = {}
    declared: list[tuple[int, str, str, Raw]] = []  # where, name, value, the value as written
    block = root.get("variable")
    block_at = locator.find(block, 0) if block is not None else 0
    for offset, raw in _entries(locator, _items(block), block_at):
        fields = _members(raw)
        key, value = _string(fields.get("key")), _value(fields.get("value"))
        if key is not None and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            variables[key] = str(value)
            if isinstance(value, str):
                declared.append((offset, key, value, fields["value"]))
    bodies: list[Body] = []
    findings: list[Finding] = []
    sends = False
    for offset, item in _postman_items(locator, _items(root.get("item")), 0):
        request = _members(item["request"])
        url, url_raw = _postman_url(request, variables)
        if not (is_collect_url(url) or _variable_collect_url(url)):
            continue
        sends = True
        here = locator.find(item["request"], offset)
        written = _string(url_raw) or ""
        for match in _TOKEN.finditer(written):
            at = locator.find(url_raw, here) if url_raw is not None else here
            found = _key_finding(locator, at, match.group("key"), "`token=` in the collect URL")
            findings.extend([found] if found else [])
        findings.extend(_postman_keys(locator, request, here))
        body = _members(request.get("body"))
        text = _string(body.get("raw"))
        if text is not None and text.strip():
            line, column = locator.position(locator.find(body["raw"], here))
            bodies.append(Body(line, column, _body(text, variables).encode("utf-8")))
    for offset, name, value, value_raw in declared if sends else []:
        if _SECRET_NAME.search(name) and _KEY_VALUE.fullmatch(value) and _looks_like_key(value):
            found = _key_finding(locator, locator.find(value_raw, offset), value, f"variable `{name}`",
                                 where="in a Postman collection")
            findings.extend([found] if found else [])
    secrets = sorted({value for name, value in variables.items() if _is_secret(name, value)}, key=len, reverse=True)
    return Capture(bodies, findings, secrets=tuple(secrets))


def _postman_keys(locator: _Locator, request: dict[str, Raw], here: int) -> list[Finding]:
    found: list[Finding | None] = []
    for header in _items(request.get("header")):
        fields = _members(header)
        name, value = _string(fields.get("key")), _string(fields.get("value"))
        bearer = _BEARER.match(value or "")
        if name and name.lower() == "authorization" and bearer:
            at = locator.find(fields["value"], locator.find(header, here))
            found.append(_key_finding(locator, at, bearer.group("key"), "`Authorization: Bearer` header"))
    auth = _members(request.get("auth"))
    for entry in _items(auth.get("bearer")):
        fields = _members(entry)
        value = _string(fields.get("value"))
        if _string(fields.get("key")) == "token" and value:
            at = locator.find(fields["value"], locator.find(entry, here))
            found.append(_key_finding(locator, at, value, "bearer auth"))
    return [f for f in found if f is not None]
