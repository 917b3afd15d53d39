"""The exporters run on workers' system Python (>= 3.9) as a standalone program: Python 3.9
syntax, and imports only from the stdlib, their few dependencies and dc_overview.exporters."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import dc_overview.exporters as exporters

PACKAGE = Path(exporters.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
ALLOWED_THIRD_PARTY = {"prometheus_client", "pynvml", "requests", "yaml", "bcrypt"}


def test_modules_found() -> None:
    assert len(MODULES) > 10


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside an annotation (not evaluated at runtime there)."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots for inner in ast.walk(root)}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_python_39_syntax(path: Path) -> None:
    source = path.read_text()
    tree = ast.parse(source, filename=str(path), feature_version=(3, 9))
    has_code = len(tree.body) > 1 or (tree.body and not isinstance(tree.body[0], ast.Expr))
    if has_code:
        assert "from __future__ import annotations" in source, path
    in_annotation = _annotation_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            keywords = {kw.arg for kw in node.keywords}
            assert not keywords & {"strict", "kw_only", "slots"}, (path, node.lineno)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            if id(node) in in_annotation:
                continue
            for side in (node.left, node.right):
                assert not (isinstance(side, ast.Constant) and side.value is None), (
                    f"{path}:{node.lineno}: `X | None` outside an annotation needs Python 3.10"
                )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_stay_inside_the_standalone_set(path: Path) -> None:
    tree = ast.parse(path.read_text())
    package_parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = package_parts[: len(package_parts) - node.level]
                names = [".".join((*target, node.module or ""))]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "dc_overview":
                assert name.startswith("dc_overview.exporters"), f"{path}: imports {name}"
            else:
                assert (
                    top in sys.stdlib_module_names
                    or top in ALLOWED_THIRD_PARTY
                    or top == "__future__"
                ), f"{path}: imports {name}"
