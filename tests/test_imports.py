"""The engine stays light: it imports nothing of the terminal UI, and the CLI imports
textual only inside `review` (150 ms on every command otherwise)."""

from __future__ import annotations

import subprocess
import sys

ENGINE = ["gradgrader.spec", "gradgrader.cases", "gradgrader.checks", "gradgrader.diagnose",
          "gradgrader.grading", "gradgrader.results", "gradgrader.rubric", "gradgrader.sandbox"]


def imported_after(modules: list[str]) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_engine_imports_no_front_end() -> None:
    loaded = imported_after(ENGINE)
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)
    assert not any(m.startswith(("gradgrader.cli", "gradgrader.tui", "gradgrader.render", "typer")) for m in loaded)


def test_the_cli_does_not_import_textual_until_review() -> None:
    loaded = imported_after(["gradgrader.cli"])
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)
