"""gradgrader.tui's modules: each imports on its own (no import cycle through the app),
and the names callers import from ``gradgrader.tui.app`` are still there."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = ("widgets", "dialogs", "commands", "screens", "editing", "heatmap", "views", "similarity", "app")


@pytest.mark.parametrize("name", MODULES)
def test_each_module_imports_first_and_alone(name: str) -> None:
    code = f"import gradgrader.tui.{name}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_screens_never_import_the_app_at_run_time() -> None:
    code = ("import sys, gradgrader.tui.screens, gradgrader.tui.commands, gradgrader.tui.editing; "
            "print('gradgrader.tui.app' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_app_module_keeps_the_names_tests_import() -> None:
    from gradgrader.tui import app

    for name in ("DetailScreen", "EditDialog", "HelpScreen", "OverviewScreen", "PickDialog", "ReviewApp",
                 "ReviewCommands", "TableScreen"):
        assert hasattr(app, name), name
