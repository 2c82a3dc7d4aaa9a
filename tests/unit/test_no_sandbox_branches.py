"""Screens do not branch on "is this the sandbox": what differs between the sandbox and Azure comes from one place,
screens/place.py (before a session: what the app offers and says) and the session's cloud profile (its display
name), as data. Counted in the code (comments and docstrings aside), so a new `if …sandbox` fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SCREENS = Path(__file__).resolve().parents[2] / "screens"
THE_ONE_PLACE = "place.py"
"""Where the two places are defined (as data: it has no such branch either, but it may name the sandbox)."""
CAPABILITIES = {"offers_sandbox", "holds_sandbox_setups"}
"""What a place offers, by name: asking it is not asking "is this the sandbox"."""
SANDBOXISH = re.compile(r"(^|_)sandbox($|_)|is_sandbox", re.I)  # SANDBOX, the place constant, too


def _names_the_sandbox(node: ast.AST) -> bool:
    """An expression that asks whether this is the sandbox: reads a sandbox flag, or compares with "sandbox"."""
    for sub in ast.walk(node):
        name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
        if name and name not in CAPABILITIES and SANDBOXISH.search(name):
            return True
        if isinstance(sub, ast.Compare) and _compares_with_sandbox(sub):
            return True
    return False


def _compares_with_sandbox(node: ast.Compare) -> bool:
    sides = [node.left, *node.comparators]
    if not any(isinstance(s, ast.Constant) and s.value == "sandbox" for s in sides):
        return False
    # `action == "sandbox"` (check_action) asks which key was pressed, not where the app runs.
    return not any(isinstance(s, ast.Name) and s.id == "action" for s in sides)


def sandbox_branches(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        tests: list[ast.AST] = []
        if isinstance(node, (ast.If, ast.IfExp, ast.While, ast.Assert)):
            tests.append(node.test)
        elif isinstance(node, ast.comprehension):
            tests.extend(node.ifs)
        elif isinstance(node, ast.Compare) and _compares_with_sandbox(node):
            tests.append(node)  # e.g. `made_here = cloud == "sandbox"`, then a branch on it
        found += [f"{filename}:{t.lineno}" for t in tests if _names_the_sandbox(t)]
    return sorted(set(found))


def test_no_screen_branches_on_the_sandbox():
    found = []
    for path in sorted(SCREENS.glob("*.py")):
        if path.name != THE_ONE_PLACE:
            found += sandbox_branches(path.read_text(), path.name)
    assert found == [], f"branches on the sandbox outside screens/{THE_ONE_PLACE}: {found}"


def test_the_one_place_is_data():
    assert sandbox_branches((SCREENS / THE_ONE_PLACE).read_text(), THE_ONE_PLACE) == []


def test_the_count_sees_the_branches_it_forbids():
    """The scan itself: each of these shapes (all seen in screens/ before) counts once."""
    shapes = [
        "if self.services.sandbox:\n    pass\n",
        "x = 'sandbox' if self.services.sandbox else 'Azure'\n",
        "where = 'the sandbox' if session.profile.is_sandbox else session.profile.name\n",
        "made_on_sandbox = chosen.cloud == 'sandbox'\n",
        "where = ' --sandbox' if cloud == 'sandbox' else ''\n",
        "if not self.services.sandbox and self.services.session is None:\n    pass\n",
    ]
    assert [len(sandbox_branches(s, "shape.py")) for s in shapes] == [1] * len(shapes)
    allowed = ["if self.services.place.offers_sandbox:\n    pass\n", "if action == 'sandbox':\n    pass\n",
               "note.say(self.services.place.connecting)\n"]
    assert [sandbox_branches(s, "ok.py") for s in allowed] == [[], [], []]
