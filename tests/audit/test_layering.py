"""Layering: the detectors are pure, the library does not pull in the command line."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.audit.helpers import ROOT

AUDIT = ROOT / "migrate1to2" / "audit"
#: Modules that only compute: no file system, no process, no printing.
PURE = ["baseline", "capture", "census", "classify", "comments", "detectors", "endpoints", "keys", "kinds", "languages",
        "masking", "model", "payload", "project", "releases", "report", "rules", "sdk", "sink", "source", "syntax",
        "timestamps", "versions", "webcontainer"]
IO_MODULES = {"os", "sys", "io", "pathlib", "shutil", "subprocess", "tempfile", "glob", "builtins"}


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_no_io(name: str) -> None:
    tree = ast.parse((AUDIT / f"{name}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {alias.name.split(".")[0] for alias in node.names} & IO_MODULES, ast.unparse(node)
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in IO_MODULES, ast.unparse(node)
            assert node.module not in ("files", "streams", "walk", "command"), ast.unparse(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("open", "print", "input"), f"{name}.py calls {node.func.id}()"


def test_every_module_is_classified() -> None:
    modules = {path.stem for path in AUDIT.glob("*.py")} - {"__init__"}
    assert modules == set(PURE) | {"walk", "command"}


def test_importing_the_library_does_not_import_typer() -> None:
    code = "import sys, migrate1to2, migrate1to2.audit.command; print('typer' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
