"""Source keys are credentials: how they are recognised, masked, and kept out of every output. Pure."""

from __future__ import annotations

import re

__all__ = ["hide", "is_placeholder", "mask", "redact"]

_PLACEHOLDER_WORDS = re.compile(r"(?i)your|xxxx|example|placeholder|changeme|redacted|dummy|secret_?key|<|\{")


def mask(key: str) -> str:
    """``abcd…(32)``: the first four characters and the length, never the key."""
    return f"{key[:4]}…({len(key)})"


def is_placeholder(key: str) -> bool:
    """True for values that stand for a key rather than being one (``YOUR_SOURCE_KEY``, ``xxxx...``)."""
    if re.fullmatch(r"[A-Z0-9_]+", key) and "_" in key:
        return True
    return bool(_PLACEHOLDER_WORDS.search(key))


# Anything that may be a key, found generously: masking a harmless value costs nothing,
# printing a key costs a rotation.
_SECRETS = (
    re.compile(r"(?i)(?<![\w-])(token=)([^\s&\"'`<>\\;,)}]{6,})"),
    re.compile(r"(?i)(\bBearer\s+)([A-Za-z0-9._~+/-]{6,}=*)"),
    re.compile(r"""(?i)(["']?(?:token|source_?key|api_?key)["']?\s*(?::|=>|=|,)\s*["'])([^"'\s]{6,})"""),
)


def redact(text: str) -> str:
    """``text`` with every value that may be a source key masked (see :func:`mask`)."""
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + (m.group(2) if "…" in m.group(2) else mask(m.group(2))), text)
    return text


def hide(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every one of ``secrets`` masked, also where it is cut short by an ellipsis (``Zq8Rw3…``)."""
    for secret in secrets:
        if len(secret) < 6:
            continue
        start = text.find(secret[:6])
        while start >= 0:
            length = 6
            while length < len(secret) and text[start + length:start + length + 1] == secret[length]:
                length += 1
            if length == len(secret) or text.startswith("…", start + length):
                text = text[:start] + mask(secret) + text[start + length:]
            start = text.find(secret[:6], start + 1)
    return text
