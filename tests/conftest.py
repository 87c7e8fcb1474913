"""Shared test setup: hypothesis profiles and fixture locations.

Profiles: ``ci`` (the default, more examples) and ``dev`` (quick); pick one with
``HYPOTHESIS_PROFILE=dev``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
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
    """A test whose real part (an emulator the test set-up installs and starts) could not be had: a failure,
    never a skip, so that no run (CI or the README's test command) passes without having run it."""
    pytest.fail(f"{reason} (the test set-up installs and starts it; see tests/emulators.py)", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def journals_in_a_temporary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The journals of rejects objects (``$XDG_CACHE_HOME/migrate1to2/journals``) go to a temporary folder,
    never into the real home: set before any fixture builds the environment the command line runs with."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache
