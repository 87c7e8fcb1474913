"""The package's layers, read from its imports (ast): the pure core imports no I/O, the I/O layer
(``storage``) no command line and no converter, and no module imports another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "migrate1to2"

#: The pure core: the exact mapping on decoded values and on bytes; errors carry JSON paths.
CORE = {"errors", "transform", "version", "jsontext", "rawjson", "accelerator", "envelope"}
#: Standard modules that touch files, processes, terminals or threads.
SYSTEM = {"os", "sys", "io", "pathlib", "shutil", "subprocess", "tempfile", "glob", "fcntl", "signal", "threading",
          "multiprocessing", "concurrent", "select", "socket", "builtins"}
#: What each layer of the package may not import (first part of the module name inside the package).
FORBIDDEN = {
    "core": {"storage", "convert", "audit", "cli", "spark"},
    "storage": {"convert", "audit", "cli", "spark"},
    "convert": {"audit", "cli", "spark"},
    "audit": {"cli", "spark"},
    "cli": {"spark"},
    "spark": {"cli", "audit"},
}


def modules(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def dotted(path: Path, root: Path = PACKAGE) -> tuple[str, ...]:
    """``("convert", "run")`` for migrate1to2/convert/run.py; ``("convert",)`` for its ``__init__``."""
    parts = path.relative_to(root).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def layer(name: tuple[str, ...]) -> str | None:
    if not name:
        return None  # migrate1to2/__init__.py: the public API, importing its pieces lazily
    if len(name) == 1 and name[0] in CORE:
        return "core"
    return name[0] if name[0] in FORBIDDEN else None


def imports(path: Path, root: Path = PACKAGE) -> list[tuple[tuple[str, ...] | None, str, list[str], ast.AST]]:
    """(module inside the package or None, absolute name, the names imported, node) for each import."""
    here = dotted(path, root)
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[tuple[str, ...] | None, str, list[str], ast.AST]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = tuple(alias.name.split("."))
                inside = parts[1:] if parts[0] == "migrate1to2" else None
                found.append((inside, alias.name, [], node))
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                inside = base + tuple(node.module.split(".") if node.module else ())
                found.append((inside, "migrate1to2." + ".".join(inside), names, node))
            else:
                parts = tuple((node.module or "").split("."))
                inside = parts[1:] if parts[0] == "migrate1to2" else None
                found.append((inside, node.module or "", names, node))
    return found


CASES = [pytest.param(path, id=str(path.relative_to(PACKAGE))) for path in modules()]


def check_layers(path: Path, root: Path = PACKAGE) -> None:
    where = layer(dotted(path, root))
    if where is None:
        return
    for inside, name, _, node in imports(path, root):
        if inside:  # a module of the package
            assert inside[0] not in FORBIDDEN[where], f"{where} module imports {ast.unparse(node)}"
            if where == "core":
                assert layer(inside) == "core" or inside == ("_speedups",), f"core module imports {ast.unparse(node)}"
        top = name.split(".")[0]
        if where == "core":
            assert top not in SYSTEM, f"the core does I/O: {ast.unparse(node)}"
        if where != "cli":
            assert top != "typer", f"only the command line imports typer: {ast.unparse(node)}"


def check_private_names(path: Path, root: Path = PACKAGE) -> None:
    for inside, _, names, node in imports(path, root):
        if inside is None:
            continue
        private = [name for name in names if name.startswith("_") and not name.startswith("__")]
        # The C accelerator is a private module of the package; its entry points are its interface.
        private = [name for name in private if name != "_speedups"]
        assert not private, f"{path.relative_to(root)} imports private names: {ast.unparse(node)}"


@pytest.mark.parametrize("path", CASES)
def test_layers(path: Path) -> None:
    check_layers(path)


@pytest.mark.parametrize("path", CASES)
def test_no_module_imports_private_names_of_another(path: Path) -> None:
    check_private_names(path)


def test_the_checks_see_the_layers() -> None:
    """The test reads what it should: every layer has modules, and a known import is found."""
    layers = {layer(dotted(path)) for path in modules()}
    assert {"core", "storage", "convert", "audit", "cli"} <= layers
    run = PACKAGE / "convert" / "run.py"
    assert ("storage", "files") in {inside for inside, *_ in imports(run)}


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    """The checks fail where they should: a core module importing the I/O layer or the system, the I/O
    layer importing the converter, a private name of another module."""
    fake = tmp_path / "migrate1to2"
    (fake / "storage").mkdir(parents=True)
    (fake / "transform.py").write_text("from .storage.files import open_input\n")
    (fake / "version.py").write_text("import os\n")
    (fake / "storage" / "files.py").write_text("from ..convert.run import run_job\n")
    (fake / "storage" / "plan.py").write_text("from ..version import _hidden\n")
    with pytest.raises(AssertionError, match=r"core module imports from \.storage\.files"):
        check_layers(fake / "transform.py", fake)
    with pytest.raises(AssertionError, match="the core does I/O: import os"):
        check_layers(fake / "version.py", fake)
    with pytest.raises(AssertionError, match=r"storage module imports from \.\.convert\.run"):
        check_layers(fake / "storage" / "files.py", fake)
    check_layers(fake / "storage" / "plan.py", fake)
    with pytest.raises(AssertionError, match="private names"):
        check_private_names(fake / "storage" / "plan.py", fake)
