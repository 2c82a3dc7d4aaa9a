"""What keeps the first screen light (benchmarks/ui_first_screen.py) also keeps every other screen styled: the
styles past the first screen (screens.tcss) come with each screen that needs them, the wizard's buttons carry only
their own CSS, and no screen draws Textual's Footer (the key bar draws the same line)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from textual.screen import Screen

SCREENS = Path(__file__).resolve().parents[2] / "screens"


def _screen_classes() -> list[type[Screen]]:
    import importlib
    found: dict[str, type[Screen]] = {}
    for path in sorted(SCREENS.glob("*.py")):
        module = importlib.import_module(f"screens.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:
                found[cls.__qualname__] = cls
    return list(found.values())


def test_every_screen_but_the_first_loads_the_styles_past_it():
    classes = _screen_classes()
    assert len(classes) > 10  # the scan found the screens
    missing = [cls.__name__ for cls in classes
               if cls.__name__ != "WelcomeScreen" and "screens.tcss" not in str(cls.CSS_PATH or "")]
    assert missing == [], f"screens that would show unstyled when opened first (no CSS_PATH screens.tcss): {missing}"


def test_the_first_screen_needs_none_of_the_later_styles():
    from screens.welcome import WelcomeScreen
    assert WelcomeScreen.CSS_PATH is None  # wizard.tcss (the app's) has all it uses


def test_no_screen_uses_textual_button_or_footer_directly():
    direct = []
    for path in sorted(SCREENS.glob("*.py")):
        if path.name == "button.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "textual.widgets":
                direct += [f"{path.name}: {alias.name}" for alias in node.names if alias.name in ("Button", "Footer")]
    assert direct == [], direct  # screens.button.Button (its CSS only) and screens.key_bar.KeyBar instead


def test_the_wizard_button_keeps_textual_button_behaviour():
    from textual.widgets import Button as TextualButton

    from screens.button import Button
    assert issubclass(Button, TextualButton) and Button.Pressed is TextualButton.Pressed
    assert "Button" in Button._css_type_names  # `Button` selectors in the wizard's CSS still match it
    sources = [css for _, css, _, _ in Button()._get_default_css()]
    assert sources == [Button.DEFAULT_CSS]  # Textual's 7 KB of Button CSS is not parsed


def test_the_wizard_button_rules_are_textual_s_own():
    """Its CSS is a subset of the installed Textual's Button CSS, rule for rule: a Textual release that restyles
    its buttons fails here rather than leaving the wizard's looking different from every other Textual app's."""
    from textual.app import App
    from textual.css.stylesheet import Stylesheet
    from textual.widgets import Button as TextualButton

    from screens.button import Button
    variables = App().get_css_variables()

    def rules(css: str, where: str) -> dict[str, str]:
        sheet = Stylesheet(variables=variables)
        sheet.add_source(css, read_from=(where, ""), is_default_css=True, scope="Button")
        sheet.parse()
        return {rule.selectors: rule.styles.css for rule in sheet.rules}
    ours, textual = rules(Button.DEFAULT_CSS, "screens.button"), rules(TextualButton.DEFAULT_CSS, "textual")
    assert len(ours) >= 10  # the default style and its primary, warning and error variants, with their states
    assert {selector: css for selector, css in ours.items() if textual.get(selector) != css} == {}
