"""Fixtures of the audit tests: running the command line in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from migrate1to2.cli import main


class Run(NamedTuple):
    code: int
    out: str
    err: str


Cli = Callable[..., Run]


@pytest.fixture
def audit_cli(capsysbinary: pytest.CaptureFixture[bytes]) -> Cli:
    """Run ``migrate1to2 audit ARGS`` in-process: exit code, stdout and stderr (text)."""

    def run(*argv: str | Path) -> Run:
        code = main(["audit", *(str(arg) for arg in argv)])
        captured = capsysbinary.readouterr()
        return Run(code, captured.out.decode("utf-8"), captured.err.decode("utf-8"))

    return run
