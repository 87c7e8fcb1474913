"""Helpers shared by the test modules: running the CLI in-process and the summary line it prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Run(NamedTuple):
    code: int
    out: bytes
    err: str


Cli = Callable[..., Run]


def summary(records: int, converted: int, unchanged: int, rejected: int, *, already: str = "2.0",
            see: str | None = None) -> str:
    line = (f"migrate1to2: {records} records: {converted} converted, {unchanged} unchanged "
            f"(already {already} or the same in both), {rejected} rejected")
    return line + (f" (see {see})" if see else "") + "\n"



