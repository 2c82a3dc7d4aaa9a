"""The wizard's Button: Textual's, with only the CSS of the styles the wizard uses.

Textual's Button carries about 7 KB of CSS (flat buttons, the success variant, ANSI colour mode) that the wizard
never shows; parsing and matching it was about a tenth of the first screen's time from compose to paint
(benchmarks/ui_first_screen.py). This subclass keeps the Button's behaviour and messages (`Button.Pressed`,
`on_button_pressed`, queries by `Button` all still match) and takes the rules of the default style, with the
default, primary, warning and error variants, verbatim from Textual 8's Button. The snapshot tests show the
buttons unchanged.
"""

from __future__ import annotations

from textual.widgets import Button as TextualButton


class Button(TextualButton, inherit_css=False):
    DEFAULT_CSS = """
    Button {
        width: auto;
        min-width: 16;
        height: auto;
        line-pad: 1;
        text-align: center;
        content-align: center middle;
        pointer: pointer;

        &.-style-default {
            text-style: bold;
            color: $button-foreground;
            background: $surface;
            border: none;
            border-top: tall $surface-lighten-1;
            border-bottom: tall $surface-darken-1;

            &.-textual-compact {
                border: none !important;
            }
            &:disabled {
                text-opacity: 0.6;
                pointer: not-allowed;
            }
            &:focus {
                text-style: $button-focus-text-style;
                background-tint: $foreground 5%;
            }
            &:hover {
                border-top: tall $surface;
                background: $surface-darken-1;
            }
            &.-active {
                background: $surface;
                border-bottom: tall $surface-lighten-1;
                border-top: tall $surface-darken-1;
                tint: $background 30%;
            }

            &.-primary {
                color: $button-color-foreground;
                background: $primary;
                border-top: tall $primary-lighten-3;
                border-bottom: tall $primary-darken-3;
                &:hover {
                    background: $primary-darken-2;
                    border-top: tall $primary;
                }
                &.-active {
                    background: $primary;
                    border-bottom: tall $primary-lighten-3;
                    border-top: tall $primary-darken-3;
                }
            }
            &.-warning {
                color: $button-color-foreground;
                background: $warning;
                border-top: tall $warning-lighten-2;
                border-bottom: tall $warning-darken-3;
                &:hover {
                    background: $warning-darken-2;
                    border-top: tall $warning;
                }
                &.-active {
                    background: $warning;
                    border-bottom: tall $warning-lighten-2;
                    border-top: tall $warning-darken-2;
                }
            }
            &.-error {
                color: $button-color-foreground;
                background: $error;
                border-top: tall $error-lighten-2;
                border-bottom: tall $error-darken-3;
                &:hover {
                    background: $error-darken-1;
                    border-top: tall $error;
                }
                &.-active {
                    background: $error;
                    border-bottom: tall $error-lighten-2;
                    border-top: tall $error-darken-2;
                }
            }
        }
    }
    """
