"""Every public function, class and method of the four packages has a docstring."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _public_without_docstring(path: Path) -> list[str]:
    missing = []

    def visit(nodes, prefix=""):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not node.name.startswith("_") and ast.get_docstring(node) is None:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{node.name}.")

    visit(ast.parse(path.read_text()).body)
    return missing


def test_public_api_is_documented():
    missing = [m for pkg in ("phy", "semantic", "bridges", "sims") for f in sorted((ROOT / pkg).rglob("*.py"))
               for m in _public_without_docstring(f)]  # fmt: skip
    assert missing == [], "\n".join(missing)
