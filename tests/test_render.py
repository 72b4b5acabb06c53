"""gradgrader/render.py: the terminal view of a result (result_view) and of a class
(class_summary, summary_table)."""

from __future__ import annotations

from conftest import (
    ADVICE,
    SOFTMAX_SAMPLES,
    STARTER,
    _result,
    _stub_check,
    _text,
    result_with_advice,
    text_of,
)
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.render import result_view


def test_printed_warnings_of_a_failing_file_are_shown_with_its_own_file_name() -> None:
    # (log-of-softmax, used here before, now gets full marks: its warnings come from the
    # advice case 'wide', and a full-marks file's printing is only counted.)
    result = CliRunner().invoke(app, ["check", str(SOFTMAX_SAMPLES / "unstable-softmax" / "softmax.py"), "-a", "softmax"])
    assert "your file printed 8 lines" in result.stdout
    assert "softmax.py:" in result.stdout and "RuntimeWarning: divide by zero" in result.stdout
    assert "/stage/" not in result.stdout and "gradgrader-" not in result.stdout


def test_check_shows_advice_that_costs_nothing() -> None:
    result = CliRunner().invoke(app, ["check", str(SOFTMAX_SAMPLES / "log-of-softmax" / "softmax.py"), "-a", "softmax"])
    assert result.exit_code == 0 and "score 10/10" in result.stdout  # full marks: exit 0
    text = " ".join(result.stdout.split())
    assert "advice (not scored): softmax_loss's loss has 1 NaN/inf entry on case 'wide'" in text
    assert "log-softmax" in text


def test_the_class_summary_says_its_mean_is_over_graded_submissions() -> None:
    from gradgrader.render import class_summary, summary_table

    results = [
        {"submission": "a", "status": "graded", "score": 4.0, "max_score": 10.0, "mistakes": []},
        {"submission": "b", "status": "error", "score": 0.0, "max_score": 10.0, "mistakes": [],
         "message": "softmax.py fails when it is imported: raised FileNotFoundError: [Errno 2] No such file or directory: 'data.npy'"},
    ]
    assert "mean 4.00, median 4.00 of 10 (graded submissions)" in class_summary(results).plain
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(summary_table(results))
    text = console.export_text()
    assert "(no known mistake)" in text and "FileNotFoundError: …" not in text and " …" in text


def test_the_header_of_a_notebook_result_names_the_notebook() -> None:
    from rich.console import Console

    from gradgrader.render import result_view

    result = {"submission": "hw1", "path": "/home/ta/.cache/gradgrader/notebooks/hw1-1a2b/softmax.py",
              "notebook": "class/hw1/softmax.ipynb", "assignment": "softmax", "status": "error",
              "score": 0.0, "max_score": 10.0, "message": "cannot be read"}
    console = Console(width=200, record=True)
    console.print(result_view(result))
    text = console.export_text()
    assert "class/hw1/softmax.ipynb" in text and ".cache" not in text


def test_check_collapses_a_stub_function_to_one_line():
    text = _text(result_view(STARTER))
    assert "softmax_loss: not implemented yet — 0/4 (4 checks)" in text
    assert "softmax: not implemented yet — 0/1 (2 checks)" in text
    assert text.count("not implemented yet") == 2, text  # not one block per check
    assert text.count("Next step:") == 1 and text.count("Office hours on Tuesday.") == 1, text
    assert "softmax_loss.gradient" not in text


def test_a_stub_next_to_a_real_failure_keeps_the_real_failure_in_full():
    real = dict(_stub_check("softmax", "value", 1.0), message="softmax differs from the reference",
                mistakes=["sign-flipped"], diagnosis={"mistake": "sign-flipped", "title": "Wrong sign"})
    text = _text(result_view(_result([_stub_check("softmax_loss", "loss", 1.0), real])))
    assert "softmax_loss: not implemented yet — 0/1 (1 check)" in text
    assert "softmax.value" in text and "softmax differs from the reference" in text
    assert "softmax: not implemented" not in text


def test_check_output_shows_advice_even_when_passed_checks_are_hidden():
    text = text_of(result_view(result_with_advice().to_json(), show_passed=False))
    assert "advice (not scored): " + ADVICE in text
    assert "score 1.25/1.25" in text
