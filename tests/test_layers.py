"""Imports go one way: front ends (`qa.cli`, `qa.web`) -> the core (`qa`) -> the write side (`index`)."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def importers_of(package: str, among: list) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in among
                  if any(m == package or m.startswith(package + ".") for m in imported_modules(p)))


def test_the_write_side_imports_nothing_of_the_read_side():
    assert importers_of("qa", sorted((ROOT / "index").rglob("*.py"))) == []


def test_only_the_cli_reaches_the_web_front_ends_from_the_core():
    core = [p for p in (ROOT / "qa").rglob("*.py") if "web" not in p.relative_to(ROOT / "qa").parts]
    assert importers_of("qa.web", core) == ["qa/cli.py"]
    assert importers_of("qa.cli", sorted((ROOT / "qa" / "web").rglob("*.py"))) == []


def test_the_core_and_the_cli_load_without_the_web_stack():
    code = ("import sys, qa, qa.cli, qa.service; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'gradio', 'fastapi', 'uvicorn', 'starlette'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
