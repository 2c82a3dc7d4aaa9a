"""wizard/ (engine, CLI, state) knows nothing of the UI: it imports neither screens nor Textual (import-linter's
contract, checked here to be in place) and names no screen module, screen class or widget id of screens/ in its
code. Which screens a setup shows, their titles and a target kind's screens live in screens/ (screens/order.py);
wizard/ keeps only the screen ids a state file may be saved at."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
SCREEN_MODULES = sorted(p.stem for p in (ROOT / "screens").glob("*.py") if p.stem != "__init__")


def _widget_ids() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "screens").glob("*.py"):
        ids.update(re.findall(r"""\bid=["']([\w-]+)["']""", path.read_text()))
    return ids


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module's code: docstrings (prose for people) aside."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for stmt in body:  # a module's, class's or function's docstring, and attribute docstrings
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    docstrings.add(id(stmt.value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def _naming_screens(text: str, widget_ids: set[str]) -> list[str]:
    modules = "|".join(map(re.escape, SCREEN_MODULES))
    found = re.findall(rf"\b(?:{modules}):[A-Z]\w*", text)  # "target_aks:AksScreen": a screen class to import
    found += re.findall(rf"\bscreens[./](?:{modules})\b", text)  # "screens.signin", "screens/vault.py"
    # A query for a screen's widget ("#method RadioButton"); not a URL's fragment ("$metadata#nodes").
    found += [f"#{w}" for w in re.findall(r"(?:^|[\s>,(])#([\w-]+)", text) if w in widget_ids]
    return found


def test_wizard_names_no_screen_module_class_or_widget():
    widget_ids = _widget_ids()
    found = []
    for path in sorted((ROOT / "wizard").rglob("*.py")):
        for line, text in _code_strings(path):
            found += [f"{path.relative_to(ROOT)}:{line}: {hit}" for hit in _naming_screens(text, widget_ids)]
    assert found == [], found


def test_the_scan_sees_what_it_forbids():
    ids = {"nav-next", "method"}
    assert _naming_screens("target_aks:AksScreen", ids) == ["target_aks:AksScreen"]
    assert _naming_screens("screens.signin", ids) == ["screens.signin"]
    assert _naming_screens("query #method RadioButton", ids) == ["#method"]
    assert _naming_screens("https://arm/$metadata#method", ids) == []
    assert _naming_screens("signin", ids) == []  # a saved screen id is the state file's, not the UI's


def test_the_import_contract_forbids_wizard_to_import_screens_or_textual():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["source_modules"] == ["wizard"])
    assert contract["type"] == "forbidden"
    assert {"screens", "textual"} <= set(contract["forbidden_modules"])
    assert not contract.get("allow_indirect_imports", False)
    # The one exception: `mi-wizard` with no command opens the UI (a function-level import in wizard/launch.py).
    assert contract.get("ignore_imports", []) == ["wizard.launch -> screens.app"]
