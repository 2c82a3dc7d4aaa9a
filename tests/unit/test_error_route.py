"""The UI has one error route (screens/errors.py): nothing in screens/ catches failures (workers and `run_action`
raise into Worker.StateChanged), and every worker says what it does, which is what a failure says could not be
done."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SCREENS = Path(__file__).resolve().parents[2] / "screens"


def test_only_the_error_route_catches_everything():
    catching = []
    for path in sorted(SCREENS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and (
                    node.type is None or (isinstance(node.type, ast.Name) and node.type.id in ("Exception",
                                                                                             "BaseException"))):
                catching.append(f"{path.name}:{node.lineno}")
    assert catching == [], catching  # failures take the one route (workers, run_action), never a catch here


def test_every_worker_says_what_it_does():
    missing = []
    for path in sorted(SCREENS.glob("*.py")):
        text = path.read_text()
        for match in re.finditer(r"@work\((.*?)\)\n", text, flags=re.S):
            if "description=" not in match.group(1):
                missing.append(f"{path.name}:{text[:match.start()].count(chr(10)) + 1}")
        for match in re.finditer(r"run_worker\((.*?)\)\n", text, flags=re.S):
            if "description=" not in match.group(1):
                missing.append(f"{path.name}:{text[:match.start()].count(chr(10)) + 1}")
    assert not missing, f"workers without a description (a failure would not say what failed): {missing}"


def test_the_failure_format_has_every_part():
    from screens.errors import Failure
    text = Failure("list the vaults", "AuthorizationFailed", "The client does not have authorization.",
                   "The signed-in account is not allowed to do this at this scope.", "Ask an Owner.").text()
    assert text.splitlines() == [
        "Could not list the vaults. The signed-in account is not allowed to do this at this scope.",
        "Azure said (AuthorizationFailed): The client does not have authorization.",
        "Fix: Ask an Owner."]
