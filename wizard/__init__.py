"""mi-wizard core: everything but the UI. This package never imports Textual."""

__version__ = "0.1.0"
