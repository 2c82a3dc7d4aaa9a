"""Exports of a setup: an az script, Bicep or Terraform (wizard/export_cmd.py is the command).

Each format is a module with `render(source) -> {file name: text}`; none ever holds the secret's value.
"""

from __future__ import annotations

FORMATS = ("az", "bicep", "terraform")
