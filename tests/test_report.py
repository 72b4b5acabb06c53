"""gradgrader.report: the feedback model every front end formats."""

from __future__ import annotations

from typing import Any

from gradgrader.report import not_implemented, points, report
from gradgrader.result import AppliedOverride, CheckRecord, Result


def check(fn: str, cid: str, passed: bool, mistake: str = "", **kw: Any) -> CheckRecord:
    diagnosis = {"mistake": mistake, "title": f"title of {mistake}", "explanation": f"why {mistake}",
                 "next_step": f"fix {mistake}"} if mistake else kw.pop("diagnosis", None)
    return CheckRecord(f"{fn}.{cid}", fn, passed, 1.0 if passed else 0.0, 1.0, f"{cid} message",
                       (mistake,) if mistake else (), "value", diagnosis, **kw)


def result(*checks: CheckRecord, **kw: Any) -> Result:
    score = sum(c.score for c in checks)
    top = sum(c.max_score for c in checks)
    mistakes = tuple(dict.fromkeys(m for c in checks for m in c.mistakes))
    return Result("alice", "a/f.py", "softmax", kw.pop("status", "graded"), score, top, checks, mistakes, 0.1, **kw)


def stub(fn: str, cid: str, feedback: str = "") -> CheckRecord:
    return check(fn, cid, False, "not-implemented", feedback=feedback)


def test_each_mistake_is_explained_at_its_first_failing_check_only() -> None:
    rep = report(result(check("f", "a", False, "sign-flipped"), check("f", "b", True),
                        check("g", "a", False, "sign-flipped"), check("g", "b", False, "missing-log")))
    firsts = [(i.check.id, i.finding.first) for i in rep.failing if i.finding]
    assert firsts == [("f.a", True), ("g.a", False), ("g.b", True)]


def test_unnamed_failures_are_each_their_own_first() -> None:
    rep = report(result(check("f", "a", False, diagnosis={"next_step": "print it"}),
                        check("f", "b", False, diagnosis={"next_step": "print it"})))
    assert [i.finding.first for i in rep.failing if i.finding] == [True, True]
    assert rep.failing[0].finding is not None and rep.failing[0].finding.next_step == "print it"


def test_a_stub_function_is_one_section_with_its_next_step_once() -> None:
    rep = report(result(stub("f", "a", "office hours"), stub("f", "b", "office hours"), stub("g", "a"),
                        check("h", "a", False, "not-implemented", advice=("copies",))))
    f, g, h = rep.sections
    assert f.stub and g.stub and not h.stub  # advice to show: not a bare stub
    assert f.stub_next_step == "fix not-implemented" and g.stub_next_step == ""
    assert f.staff_notes == ("office hours",)
    assert [s.function for s in rep.stubs] == ["f", "g"]
    # the stub gave the next step: h's not-implemented refers back to it
    assert [(i.check.id, i.finding.first) for i in rep.failing if i.finding] == [("h.a", False)]


def test_not_implemented_reads_records_and_json_alike() -> None:
    assert not_implemented([stub("f", "a")]) and not_implemented([stub("f", "a").to_json()])
    assert not not_implemented([]) and not not_implemented([check("f", "a", True)])


def test_sections_follow_the_check_order_and_sum_their_points() -> None:
    rep = report(result(check("f", "a", True), check("f", "b", False, "x"), check("g", "a", True)))
    assert [(s.function, s.score, s.max_score, s.passed) for s in rep.sections] == [
        ("f", 1.0, 2.0, False), ("g", 1.0, 1.0, True)]


def test_override_note_says_whether_the_score_changed_and_extra_credit() -> None:
    base = result(check("f", "a", False, "x"), check("f", "b", True))
    changed = report(Result.from_json({**base.to_json(), "score": 2.5, "override": AppliedOverride(
        2.5, 1.0, "nice", "ta", "now").to_json()}))
    assert changed.override is not None and changed.override.changed and changed.override.extra_credit
    comment = report(Result.from_json({**base.to_json(), "override": AppliedOverride(
        None, 1.0, "see me", "ta", "now").to_json()}))
    assert comment.override is not None and not comment.override.changed and not comment.override.extra_credit


def test_score_text_and_points() -> None:
    rep = report(result(check("f", "a", True), check("f", "b", False, "x")))
    assert rep.score_text() == "1/2" and rep.score_text(4, " / ") == "1 / 2"
    assert points(7.254) == "7.25" and points(1 / 3, 4) == "0.3333" and points(float("nan")) == "?"
    assert points(-0.0001) == "0" and points("7") == "?"


def test_report_reads_json_too_and_finds_people_and_skipped_cells() -> None:
    obj = result(check("f", "a", True), output="gradgrader: cell 3 failed and was skipped (NameError)\nhi\n").to_json()
    obj["lms"] = {"students": [{"name": "Ann"}, {"name": "Bo"}]}
    rep = report(obj)
    assert rep.people == ("Ann", "Bo")
    assert rep.skipped_cells == ("cell 3 failed and was skipped (NameError)",)
    assert rep.printed[-1] == "hi" and rep.full_marks and not rep.failing


def test_an_error_result_has_no_sections() -> None:
    rep = report(result(status="error", message="SyntaxError"))
    assert not rep.graded and rep.sections == () and rep.failing == ()


def test_the_model_imports_no_renderer() -> None:
    import subprocess
    import sys

    code = ("import sys, gradgrader.report; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'textual', 'typer'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_front_end_explains_a_repeated_mistake_once() -> None:
    from rich.console import Console

    from gradgrader.export.feedback import feedback_markdown
    from gradgrader.render import result_view
    from gradgrader.tui.views import checks_view

    r = result(check("f", "a", False, "sign-flipped"), check("g", "a", False, "sign-flipped"))

    def text(renderable: Any) -> str:
        console = Console(width=200, record=True, highlight=False)
        console.print(renderable)
        return console.export_text()

    for shown in (text(result_view(r)), text(checks_view(r)), feedback_markdown(r)):
        assert shown.count("why sign-flipped") == 1, shown
        assert shown.count("fix sign-flipped") == 1, shown


def test_every_front_end_gives_the_stub_next_step_once_even_after_a_stub() -> None:
    """A placeholder that returns zeros is diagnosed not-implemented too: its check refers
    back to the next step the first stub gave, in every front end alike."""
    from rich.console import Console

    from gradgrader.export.feedback import feedback_markdown
    from gradgrader.render import result_view
    from gradgrader.tui.views import checks_view

    r = result(stub("f", "a"), stub("g", "a"), check("h", "a", False, "not-implemented", advice=("x",)))

    def text(renderable: Any) -> str:
        console = Console(width=200, record=True, highlight=False)
        console.print(renderable)
        return console.export_text()

    for shown in (text(result_view(r)), text(checks_view(r)), feedback_markdown(r)):
        assert shown.count("fix not-implemented") == 1, shown
