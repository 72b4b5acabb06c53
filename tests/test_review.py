"""The logic behind ``gradgrader review``, without a screen: loading, filters, sorting,
statistics, sanitising, locating sources, overrides and grades.csv, appending results."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import GOOD, student

from gradgrader import review
from gradgrader.errors import SubmissionError
from gradgrader.ingest import discover
from gradgrader.overrides import (
    OVERRIDES,
    apply_overrides,
    grades_csv_with_overrides,
    load_overrides,
    parse_score,
    record_override,
    write_grades_with_overrides,
)
from gradgrader.result import Result
from gradgrader.results import read_results
from gradgrader.review import Filter

ROOT = Path(__file__).resolve().parent.parent


def res(
    sid: str,
    score: float = 10.0,
    status: str = "graded",
    mistakes: tuple[str, ...] = (),
    failed: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    checks = [
        {
            "id": f"{fn}.value",
            "function": fn,
            "passed": fn not in failed,
            "score": 0.0 if fn in failed else 1.0,
            "max_score": 1.0,
            "message": f"{fn} message",
            "mistakes": [],
        }
        for fn in ("softmax", "softmax_loss")
    ]
    return {
        "submission": sid,
        "path": f"class/{sid}/softmax.py",
        "assignment": "softmax",
        "status": status,
        "score": score,
        "max_score": 10.0,
        "checks": checks if status == "graded" else [],
        "mistakes": list(mistakes),
        "elapsed_s": 0.1,
        **extra,
    }


ROWS = [  # as results.jsonl holds them
    res("ann"),
    res("ben", 7.25, mistakes=("sign-flipped",), failed=("softmax_loss",)),
    res("cat", 0.0, status="error", message="softmax.py has a syntax error on line 3"),
    res("dan", 8.0, mistakes=("sign-flipped", "wrong-regularization"), failed=("softmax_loss",)),
    res("eve", 9.0, mistakes=("transposed",), failed=("softmax_loss",)),
]
CLASS = [Result.from_json(r) for r in ROWS]  # as review loads them


def write_class(out: Path, results: list[dict[str, Any]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in results), encoding="utf-8"
    )


# --- sanitising ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("plain text\n\tindented", "plain text\n\tindented"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("title\x1b]0;pwned\x07after", "titleafter"),
        ("osc with st\x1b]8;;http://x\x1b\\link", "osc with stlink"),
        ("\x1bPdcs payload\x1b\\done", "done"),
        ("8-bit csi \x9b2J gone", "8-bit csi  gone"),
        ("progress 10%\rprogress 20%", "progress 10%\nprogress 20%"),
        ("bell\x07 and nul\x00", "bell\ufffd and nul\ufffd"),
        ("bidi \u202eevil\u202c", "bidi \ufffdevil\ufffd"),
    ],
)
def test_clean_removes_terminal_escapes_and_controls(raw: str, safe: str) -> None:
    assert review.clean(raw) == safe
    assert "\x1b" not in review.clean(raw)


# --- loading ------------------------------------------------------------------------------------


def test_load_applies_overrides_and_sorts_by_id(tmp_path: Path) -> None:
    write_class(tmp_path, list(reversed(ROWS)))
    record_override(
        tmp_path, "ben", 9.0, "sign slip only", who="ta", when="2025-01-01T00:00:00+00:00"
    )
    loaded = review.load(tmp_path)
    assert [r.submission for r in loaded] == ["ann", "ben", "cat", "dan", "eve"]
    ben = loaded[1]
    assert ben.score == 9.0 and ben.override is not None and ben.override.to_json() == {
        "score": 9.0,
        "original_score": 7.25,
        "comment": "sign slip only",
        "by": "ta",
        "at": "2025-01-01T00:00:00+00:00",
    }


def test_preview_reads_the_first_results_as_load_does(tmp_path: Path) -> None:
    regraded = dict(ROWS[1], score=10.0, mistakes=[])
    write_class(tmp_path, [*ROWS, regraded])
    with (tmp_path / "results.jsonl").open("a") as f:
        f.write('{"submission": "zzz", "torn')  # a killed run's last line
    total, first = review.preview(tmp_path, first=3)
    assert total == 5
    assert first == review.load(tmp_path)[:3]
    assert first[1].score == 10.0  # the last line of a submission wins


def test_load_run_without_run_json_is_empty(tmp_path: Path) -> None:
    assert review.load_run(tmp_path) == {} and review.load_run(None) == {}


# --- filters and sorting ------------------------------------------------------------------------


def ids(results: list[Result]) -> list[str]:
    return [r.submission for r in results]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (Filter(), ["ann", "ben", "cat", "dan", "eve"]),
        (Filter(failing_only=True), ["ben", "cat", "dan", "eve"]),
        (Filter(mistake="sign-flipped"), ["ben", "dan"]),
        (Filter(status="error"), ["cat"]),
        (Filter(status="graded", mistake="transposed"), ["eve"]),
        (Filter(text="SYNTAX"), ["cat"]),
        (Filter(text="sign regul"), ["dan"]),  # every word must match
        (Filter(text="softmax_loss.value"), ["ben", "dan", "eve"]),  # failing check ids
        (Filter(failing_only=True, text="ann"), []),
    ],
)
def test_filters_combine(flt: Filter, expected: list[str]) -> None:
    assert ids(review.filter_results(CLASS, flt)) == expected


def test_search_finds_the_ta_comment() -> None:
    commented = apply_overrides(ROWS, {"ann": review_override("ann", None, "late penalty waived")})
    assert ids(review.filter_results(commented, Filter(text="waived"))) == ["ann"]


def review_override(sid: str, score: float | None, comment: str):
    from gradgrader.overrides import Override

    return Override(sid, score, comment, "ta", "2025-01-01T00:00:00+00:00")


def test_an_override_does_not_hide_a_failure() -> None:
    (ben,) = apply_overrides([ROWS[1]], {"ben": review_override("ben", 10.0, "")})
    assert ben.score == 10.0 and ben.override is not None and ben.override.original_score == 7.25
    assert review.is_failing(ben)


def test_filter_describes_itself() -> None:
    assert Filter().describe() == "all" and not Filter().active
    assert (
        Filter(True, "sign-flipped", "graded", " x ").describe()
        == 'failing · mistake=sign-flipped · status=graded · search "x"'
    )


@pytest.mark.parametrize(
    ("key", "reverse", "expected"),
    [
        ("submission", False, ["ann", "ben", "cat", "dan", "eve"]),
        ("submission", True, ["eve", "dan", "cat", "ben", "ann"]),
        ("score", False, ["cat", "ben", "dan", "eve", "ann"]),
        ("status", True, ["ann", "ben", "dan", "eve", "cat"]),  # ties keep id order
        ("mistakes", False, ["ann", "cat", "ben", "eve", "dan"]),
    ],
)
def test_sort(key: str, reverse: bool, expected: list[str]) -> None:
    assert ids(review.sort_results(CLASS, key, reverse)) == expected


def test_sort_by_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        review.sort_results(CLASS, "elapsed")


def test_step_failing_wraps_and_skips_passing() -> None:
    assert review.step_failing(CLASS, 0, 1) == 1
    assert review.step_failing(CLASS, 4, 1) == 1  # wraps past ann
    assert review.step_failing(CLASS, 1, -1) == 4
    assert review.step_failing(CLASS, -1, 1) == 1  # from before the first row
    assert review.step_failing([CLASS[0], CLASS[1]], 1, 1) is None  # no *other* failing one


# --- statistics ---------------------------------------------------------------------------------


def test_class_stats() -> None:
    stats = review.class_stats(CLASS, bins=5)
    assert (stats.total, stats.graded, stats.errors, stats.full, stats.failing) == (5, 4, 1, 1, 4)
    assert stats.mean == pytest.approx((10 + 7.25 + 8 + 9) / 4)
    assert stats.median == pytest.approx(8.5)
    assert stats.histogram == (0, 0, 0, 1, 3) and stats.edges == (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)
    assert stats.mistakes == (("sign-flipped", 2), ("transposed", 1), ("wrong-regularization", 1))


def test_histogram_puts_full_marks_in_the_last_bin_and_clamps() -> None:
    counts, _ = review.histogram([0.0, 10.0, 11.0, -1.0, 4.99], 10.0, bins=2)
    assert counts == (3, 2)


def test_stats_of_nothing() -> None:
    stats = review.class_stats([])
    assert stats.total == 0 and stats.mean is None and stats.median is None


# --- one submission ---------------------------------------------------------------------------

SOURCE = """import numpy as np

@staticmethod
def helper(x):
    return x

def softmax_loss(W, X, y, reg):
    def softmax(Z):  # nested: not the top-level one
        return Z
    return 0.0, W

def softmax(Z):
    return Z
"""


def test_function_lines_finds_the_top_level_definition_with_decorators() -> None:
    assert review.function_lines(SOURCE, "helper") == (3, 5)
    assert review.function_lines(SOURCE, "softmax_loss") == (7, 10)
    assert review.function_lines(SOURCE, "softmax") == (12, 13)
    assert review.function_lines(SOURCE, "missing") is None
    assert review.function_lines("def broken(:\n", "broken") is None


def test_highlight_lines_cover_the_failing_functions() -> None:
    assert review.highlight_lines(SOURCE, ["softmax_loss", "nope"]) == set(range(7, 11))
    assert review.failing_functions(CLASS[1]) == ["softmax_loss"]
    assert list(review.checks_by_function(CLASS[1])) == ["softmax", "softmax_loss"]


def test_source_is_found_where_grade_ran_or_in_the_class_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class" / "ben").mkdir(parents=True)
    (tmp_path / "class" / "ben" / "softmax.py").write_text("x = 1\n")
    assert review.read_source(ROWS[1]) == (Path("class/ben/softmax.py"), "x = 1\n")
    monkeypatch.chdir(tmp_path / "class")  # elsewhere: the class folder of run.json
    path, text = review.read_source(ROWS[1], {"class_folder": str(tmp_path / "class")})
    assert path == tmp_path / "class" / "ben" / "softmax.py" and text == "x = 1\n"
    assert review.read_source(ROWS[0], {"class_folder": str(tmp_path / "class")}) == (None, None)


def test_locate_submission_matches_how_it_was_graded(tmp_path: Path) -> None:
    (tmp_path / "class" / "ben" / "lib").mkdir(parents=True)
    (tmp_path / "class" / "ben" / "softmax.py").write_text("x = 1\n")
    (tmp_path / "class" / "dan.py").write_text("x = 2\n")
    run = {"class_folder": str(tmp_path / "class")}
    ben = review.locate_submission(ROWS[1], run, "softmax.py")
    assert (ben.id, ben.path, ben.folder) == (
        "ben",
        tmp_path / "class/ben/softmax.py",
        tmp_path / "class/ben",
    )
    dan = review.locate_submission(ROWS[3], run, "softmax.py")
    assert (dan.id, dan.path, dan.folder) == ("dan", tmp_path / "class/dan.py", None)
    checked = review.locate_submission(
        {"submission": "ben", "path": "x"},
        {"check_path": str(tmp_path / "class/ben")},
        "softmax.py",
    )
    assert checked.folder == tmp_path / "class/ben"
    with pytest.raises(SubmissionError, match="cannot find submission 'eve'"):
        review.locate_submission(ROWS[4], run, "softmax.py")


def test_regrade_refuses_a_weak_sandbox_for_a_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradgrader.errors import SandboxError
    from gradgrader.sandbox import layers

    (tmp_path / "ben").mkdir()
    (tmp_path / "ben" / "softmax.py").write_text("x = 1\n")
    weak = layers.Isolation((layers.Layer("process", True, ""), layers.Layer("rlimits", True, "")))
    monkeypatch.setattr(layers, "probe", lambda: weak)
    run = {"assignment_path": str(ROOT / "assignments/softmax"), "class_folder": str(tmp_path)}
    with pytest.raises(SandboxError, match="refused"):
        review.regrade(ROWS[1], run)


def test_regrade_keeps_lms_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeGrader:
        def __init__(self, *a: Any, **k: Any) -> None: ...
        def __enter__(self) -> FakeGrader:
            return self

        def __exit__(self, *exc: Any) -> None: ...
        def grade(self, submission: Any) -> Any:
            from gradgrader.results import Result

            return Result(
                submission.id, str(submission.path), "softmax", "graded", 10.0, 10.0, (), (), 0.1
            )

    import gradgrader.loading

    monkeypatch.setattr(gradgrader.loading, "Grader", FakeGrader)
    (tmp_path / "softmax.py").write_text("x = 1\n")
    old = dict(ROWS[1], late=True, canvas_id="42", path=str(tmp_path / "softmax.py"), fingerprint="fp",
               grader_failure={"stage": "grading", "error": "boom"}, timeouts=2, advice=["x"])
    new = review.regrade(
        old, {"assignment_path": str(ROOT / "assignments/softmax"), "strict_sandbox": False}
    )
    assert new["score"] == 10.0 and new["late"] is True and new["canvas_id"] == "42"
    assert new["mistakes"] == []  # grading keys come from the new result only
    assert new["fingerprint"] == "fp"  # re-graded under the run's assignment and rubric
    # what described the old grading is not carried over to the new one
    assert not {"grader_failure", "timeouts", "advice"} & set(new)


# --- appending results --------------------------------------------------------------------------


def test_append_result_supersedes_without_editing_and_cuts_a_torn_line(tmp_path: Path) -> None:
    write_class(tmp_path, ROWS)
    with (tmp_path / "results.jsonl").open("a") as f:
        f.write('{"submission": "torn')
    review.append_result(tmp_path, dict(ROWS[1], score=10.0))
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(ROWS) + 1 and json.loads(lines[1])["score"] == 7.25
    assert {r["submission"]: r["score"] for r in read_results(tmp_path)}["ben"] == 10.0


def test_append_result_to_a_file_that_is_only_a_torn_line(tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").write_text('{"submission": "x"')
    review.append_result(tmp_path, ROWS[0])
    assert [r["submission"] for r in read_results(tmp_path)] == ["ann"]


# --- overrides ------------------------------------------------------------------------------------


def test_overrides_latest_line_wins_and_an_empty_one_clears(tmp_path: Path) -> None:
    record_override(tmp_path, "ben", 8.0, "", who="a", when="t1")
    record_override(tmp_path, "ben", 8.0, "sign slip", who="b", when="t2")
    record_override(tmp_path, "dan", 5.0, "", who="a", when="t3")
    record_override(tmp_path, "dan", None, "", who="a", when="t4")
    (tmp_path / OVERRIDES).open("a").write(
        '{"submission": "ann", "score": "ten"}\nnot json\n{"submission": "eve", "sc'
    )
    latest = load_overrides(tmp_path)
    assert list(latest) == ["ben"]
    assert (latest["ben"].score, latest["ben"].comment, latest["ben"].who) == (
        8.0,
        "sign slip",
        "b",
    )
    record_override(tmp_path, "eve", 1.0, "")  # starts on its own line after the torn one
    assert load_overrides(tmp_path)["eve"].score == 1.0
    assert load_overrides(tmp_path / "nowhere") == {}


def test_record_override_names_who_and_when(tmp_path: Path) -> None:
    entry = record_override(tmp_path, "ben", None, "  see me  ")
    assert entry.comment == "see me" and entry.who and entry.when.endswith("+00:00")


@pytest.mark.parametrize(
    ("text", "expected"), [("", None), ("  ", None), ("7.5", 7.5), ("0", 0.0), ("10", 10.0), ("12", 12.0), ("20", 20.0)]
)
def test_parse_score_accepts(text: str, expected: float | None) -> None:
    assert parse_score(text, 10.0) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "not a number"),
        ("-1", "at least 0"),
        ("75", "more than twice the maximum"),
        ("20.5", "extra credit goes up to 20"),
        ("nan", "at least 0"),
        ("inf", "at least 0"),
    ],
)
def test_parse_score_refuses(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_score(text, 10.0)


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_grades_csv_is_unchanged_without_overrides() -> None:
    from gradgrader.results import grades_csv

    assert grades_csv_with_overrides(ROWS, {}) == grades_csv(ROWS)


def test_grades_csv_with_overrides_adds_columns_and_scores(tmp_path: Path) -> None:
    write_class(tmp_path, ROWS)
    record_override(
        tmp_path, "ben", 9.5, "partial credit", who="ta", when="2025-01-01T00:00:00+00:00"
    )
    record_override(
        tmp_path, "eve", None, "talked in office hours", who="tb", when="2025-01-02T00:00:00+00:00"
    )
    path = write_grades_with_overrides(tmp_path)
    rows = {r["submission"]: r for r in parse_csv(path.read_text())}
    assert list(rows["ann"]) == [
        "submission",
        "score",
        "max_score",
        "status",
        "mistakes",
        "override_comment",
        "override_by",
        "override_at",
    ]
    assert (
        rows["ben"]["score"] == "9.5"
        and rows["ben"]["override_comment"] == "partial credit"
        and rows["ben"]["override_by"] == "ta"
    )
    assert (
        rows["eve"]["score"] == "9" and rows["eve"]["override_comment"] == "talked in office hours"
    )
    assert rows["ann"]["override_comment"] == "" and rows["ann"]["score"] == "10"
    assert rows["dan"]["mistakes"] == "sign-flipped wrong-regularization"


# --- keymap ------------------------------------------------------------------------------------


def test_load_keymap(tmp_path: Path) -> None:
    from gradgrader.errors import ConfigError

    assert review.load_keymap(tmp_path / "none.toml") == {}
    (tmp_path / "k.toml").write_text('[keymap]\nnext-failing = "j,n"\n')
    assert review.load_keymap(tmp_path / "k.toml") == {"next-failing": "j,n"}
    (tmp_path / "bad.toml").write_text("[keymap]\nnext-failing = 1\n")
    with pytest.raises(ConfigError, match="binding ids"):
        review.load_keymap(tmp_path / "bad.toml")


# --- rendering without a screen ---------------------------------------------------------------


def test_views_render_student_text_without_escapes() -> None:
    from rich.console import Console

    from gradgrader.tui import views

    r = res(
        "\x1b[2Jmallory",
        3.0,
        mistakes=("sign-flipped",),
        failed=("softmax_loss",),
        output="\x1b]0;owned\x07hi\x1b[31m!",
    )
    r["checks"][1]["diagnosis"] = {
        "mistake": "sign-flipped",
        "title": "wrong sign",
        "explanation": "why",
        "error_map": [[0.0, 1.0], [2.0, "nan"], [1.0]],
    }
    console = Console(width=80, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    typed = Result.from_json(r)
    for renderable in (
        views.checks_view(typed),
        views.output_view(typed.output),
        views.detail_header(typed),
        *views.table_row(typed),
    ):
        console.print(renderable)
    printed = console.file.getvalue()
    assert "owned" not in printed and "\x1b[2J" not in printed and "\x1b]" not in printed
    assert "mallory" in printed and "▀" in printed


def test_heatmap_uses_half_blocks_two_rows_per_line() -> None:
    from rich.console import Console

    from gradgrader.tui.views import Heatmap

    console = Console(width=40, file=io.StringIO(), color_system=None)
    console.print(Heatmap([[0, 1, 2], [2, 1, 0], [1, 1, 1]]))
    lines = console.file.getvalue().splitlines()
    assert lines == ["▀▀▀▀▀▀", "▀▀▀▀▀▀"]


# --- import hygiene -----------------------------------------------------------------------------


def test_the_review_logic_does_not_import_textual() -> None:
    code = (
        "import sys, gradgrader.review, gradgrader.overrides, gradgrader.tui, gradgrader.tui.views; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_the_first_screen_leaves_out_students_no_longer_in_the_class(tmp_path):
    import json as _json

    from gradgrader import review

    out = tmp_path / "out"
    out.mkdir()
    rows = [{"submission": s, "score": 1.0, "max_score": 1.0, "status": "graded", "checks": [], "mistakes": []} for s in ("a", "b", "c")]
    (out / "results.jsonl").write_text("".join(_json.dumps(r) + "\n" for r in rows))
    (out / "run.json").write_text(_json.dumps({"assignment": "softmax", "submissions": ["a", "c"]}))
    count, shown = review.preview(out)
    assert count == 2 and [r.submission for r in shown] == ["a", "c"]
    assert [r.submission for r in review.load(out)] == ["a", "c"]


def test_review_regrades_a_renamed_id_from_its_own_folder(tmp_path):
    from gradgrader.review import locate_submission

    cls = tmp_path / "class"
    student(cls, "alice")
    impostor = student(cls, " alice", "# impostor\n" + GOOD)
    (impostor / "helper.py").write_text("")
    other = next(s for s in discover(cls, "softmax.py", tmp_path / "cache") if s.id != "alice")
    r = {"submission": other.id, "path": str(other.path)}
    found = locate_submission(r, {"class_folder": str(cls)}, "softmax.py")
    assert found.id == other.id and found.folder == impostor and found.path == impostor / "softmax.py"
