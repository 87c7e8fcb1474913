"""Shared test setup: hypothesis profiles and fixture locations.

Profiles: ``ci`` (the default, more examples) and ``dev`` (quick); pick one with
``HYPOTHESIS_PROFILE=dev``.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings

from migrate1to2.cli import main
from tests.helpers import Cli, Run

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

settings.register_profile(
    "ci", max_examples=100, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]) -> Cli:
    """Run ``main(argv)`` in-process with ``stdin`` bytes; return the exit code, stdout bytes and stderr text."""

    def run(*argv: str | Path, stdin: bytes = b"") -> Run:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main([str(arg) for arg in argv])
        captured = capsysbinary.readouterr()
        return Run(code, captured.out, captured.err.decode("utf-8"))

    return run


def unavailable(reason: str) -> NoReturn:
    """A test whose real part (an emulator, a tool) cannot be had here: it fails in CI (``CI=true``, as
    ``.ci/run`` runs), so nothing is silently skipped there, and is skipped with the reason elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: a missing dependency fails the run)", pytrace=False)
    pytest.skip(reason)
