"""Similarity across a class (issue 20): which submissions share code beyond the starter.

The class in ``tests/similarity_class/`` was written by hand for these tests: six
independent, correct solutions of the softmax assignment in different styles
(``ind_*``) and four planted copies of some of them (``copy_*``), each disguised:

* ``copy_renamed``   ind_vectorised with every identifier renamed and the comments edited;
* ``copy_reordered`` ind_loops with the functions in another order, print lines added
                     and the spacing changed;
* ``copy_helper``    ind_onehot with an extra helper function and another docstring;
* ``copy_mixed``     ind_classes with names changed, functions reordered, prints added.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradgrader import similarity as sim
from gradgrader.cli import app

ROOT = Path(__file__).resolve().parent.parent
CLASS = Path(__file__).resolve().parent / "similarity_class"
STARTER = ROOT / "assignments" / "softmax" / "starter.py"
PLANTED = {
    frozenset({"copy_renamed", "ind_vectorised"}),
    frozenset({"copy_reordered", "ind_loops"}),
    frozenset({"copy_helper", "ind_onehot"}),
    frozenset({"copy_mixed", "ind_classes"}),
}

# Two students who handed in the starter untouched, and two who filled in one
# function each, differently, and left the rest of the starter as it was.
STARTER_EDITS = {
    "starter_only_1": ("", ""),
    "starter_only_2": ("", ""),
    "starter_edit_lse": (
        "    Returns:\n        A float. Must be finite for |z| up to 1e4.\n    \"\"\"\n    raise NotImplementedError",
        "    Returns:\n        A float. Must be finite for |z| up to 1e4.\n    \"\"\"\n"
        "    top = np.max(z)\n    return float(top + np.log(np.sum(np.exp(z - top))))",
    ),
    "starter_edit_softmax": (
        "        huge logits (e.g. every entry shifted by +1000).\n    \"\"\"\n    raise NotImplementedError",
        "        huge logits (e.g. every entry shifted by +1000).\n    \"\"\"\n"
        "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n    return E / E.sum(axis=1, keepdims=True)",
    ),
}


def starter_students() -> dict[str, str]:
    text = STARTER.read_text(encoding="utf-8")
    out = {}
    for sid, (old, new) in STARTER_EDITS.items():
        assert old in text
        out[sid] = text.replace(old, new) if old else text
        assert (out[sid] != text) == bool(old)  # the edit really happened
    return out


def the_class() -> dict[str, str]:
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(CLASS.glob("*.py"))}
    sources.update(starter_students())
    return sources


def every_pair(course: sim.Course) -> dict[frozenset[str], sim.Match]:
    """Every pair sharing any fingerprint at all (no reporting threshold)."""
    docs = [sim.fingerprint(sid, src, course=course) for sid, src in the_class().items()]
    return {frozenset({m.a, m.b}): m for m in sim.compare(docs, min_shared=1, min_match=0)}


@pytest.fixture(scope="module")
def course() -> sim.Course:
    return sim.course_code([STARTER.read_text(encoding="utf-8")])


# --- the class ------------------------------------------------------------------------------


def test_every_planted_pair_ranks_above_every_independent_pair(course: sim.Course) -> None:
    pairs = every_pair(course)
    ids = sorted(the_class())
    matched = {frozenset(p): (pairs[frozenset(p)].matched if frozenset(p) in pairs else 0)
               for p in itertools.combinations(ids, 2)}
    planted = {p: v for p, v in matched.items() if p in PLANTED}
    independent = {p: v for p, v in matched.items() if p not in PLANTED}
    assert len(planted) == 4 and len(independent) == len(matched) - 4
    weakest = min(planted, key=lambda p: planted[p])
    strongest = max(independent, key=lambda p: independent[p])
    assert planted[weakest] > independent[strongest], (sorted(weakest), sorted(strongest))
    # and with the shares too: each planted copy covers most of the copied file
    for p in PLANTED:
        assert max(pairs[p].a_share, pairs[p].b_share) > 0.9, sorted(p)


def test_the_report_holds_the_planted_pairs_and_nothing_else(course: sim.Course) -> None:
    docs = [sim.fingerprint(sid, src, course=course) for sid, src in the_class().items()]
    reported = [frozenset({m.a, m.b}) for m in sim.compare(docs)]
    assert set(reported) == PLANTED


def test_the_copy_with_an_extra_helper_is_matched_in_full_on_the_original(course: sim.Course) -> None:
    m = every_pair(course)[frozenset({"copy_helper", "ind_onehot"})]
    original, copy = (m.a_share, m.b_share) if m.a == "ind_onehot" else (m.b_share, m.a_share)
    assert original > 0.95  # all of the original is in the copy
    assert copy < original  # the helper (numerical_gradient) is the copy's own code
    helper_lines = set(range(11, 21))  # def numerical_gradient … W[idx] = old: its own code
    copy_lines = sim.lines_in(m.a_lines if m.a == "copy_helper" else m.b_lines)
    assert not helper_lines & copy_lines


def test_matched_lines_point_at_the_copied_code(course: sim.Course) -> None:
    m = every_pair(course)[frozenset({"copy_reordered", "ind_loops"})]
    lines = sim.lines_in(m.a_lines if m.a == "ind_loops" else m.b_lines)
    source = (CLASS / "ind_loops.py").read_text().splitlines()
    body = {i + 1 for i, line in enumerate(source) if line.strip() and not line.startswith(("import", '"'))}
    assert len(body & lines) / len(body) > 0.9


# --- the starter ----------------------------------------------------------------------------


def test_the_starter_alone_is_never_a_match(course: sim.Course) -> None:
    students = starter_students()
    docs = {sid: sim.fingerprint(sid, src, course=course) for sid, src in students.items()}
    assert not docs["starter_only_1"].fingerprints and docs["starter_only_1"].own == 0
    pairs = every_pair(course)
    starter_lines = set(STARTER.read_text().splitlines())
    for sid in STARTER_EDITS:
        own_lines = {i + 1 for i, line in enumerate(students[sid].splitlines()) if line not in starter_lines}
        for other in the_class():
            m = pairs.get(frozenset({sid, other}))
            if other == sid or m is None:
                continue
            # what matches is only ever the lines the student wrote (a formula others
            # wrote the same way), never the starter's, and it is below what is reported
            assert sim.lines_in(m.a_lines if m.a == sid else m.b_lines) <= own_lines, (sid, other)
            assert m.matched < sim.MIN_MATCH, (sid, other, m.matched)
    assert frozenset({"starter_only_1", "starter_only_2"}) not in pairs
    assert not any("starter_only" in sid for p in pairs for sid in p)


def test_without_the_starter_subtracted_starter_only_students_would_match() -> None:
    # what the subtraction is for: the starter's code is a large match by itself
    pairs = every_pair(sim.NO_COURSE)
    assert pairs[frozenset({"starter_only_1", "starter_only_2"})].matched > sim.MIN_MATCH


def test_course_statements_are_taken_out_wherever_they_are(course: sim.Course) -> None:
    # the contract's def lines, without the starter's type hints, are the course's
    doc = sim.fingerprint("s", "import numpy as np\n\ndef softmax(Z):\n    return Z\n", course=course)
    assert doc.tokens.text == ("return", "V", ";")


# --- normalisation --------------------------------------------------------------------------


def test_renaming_comments_whitespace_docstrings_and_prints_do_not_change_the_tokens() -> None:
    a = 'def f(x, y):\n    """Sum."""\n    s = np.sum(x * y, axis=0)  # total\n    return s\n'
    b = (
        "def g(alpha,beta) :\n    # the sum\n    print('debug', alpha)\n"
        "    total=np.sum( alpha*beta , axis = 0 )\n\n    print(total)\n    return total\n"
    )
    assert sim.normalise(a).text == sim.normalise(b).text


def test_api_names_are_kept_so_different_numpy_calls_differ() -> None:
    assert sim.normalise("y = np.exp(x)").text != sim.normalise("y = np.log(x)").text
    assert sim.normalise("y = f(x, axis=1)").text != sim.normalise("y = f(x, keepdims=1)").text
    # a parameter's name is the student's own choice
    assert sim.normalise("def f(a, b=1): pass").text == sim.normalise("def f(p, q=2): pass").text


def test_a_file_that_does_not_tokenize_keeps_what_came_before() -> None:
    source = (CLASS / "ind_vectorised.py").read_text()
    broken = source + "\ndef broken(:\n    return (\n"
    assert len(sim.normalise(broken).text) >= len(sim.normalise(source).text)


def test_winnowing_keeps_the_minimum_of_every_window() -> None:
    hashes = [(i * 7919) % 101 for i in range(200)]
    kept = sim.winnow(hashes, 6)
    positions = {p for _, p in kept}
    assert all(hashes[p] == h for h, p in kept)
    for s in range(len(hashes) - 5):  # every window holds a kept position with its minimum
        window = range(s, s + 6)
        assert any(p in positions and hashes[p] == min(hashes[s : s + 6]) for p in window)


def test_fingerprints_are_the_same_in_every_process() -> None:
    import subprocess
    import sys

    code = "from gradgrader.similarity import kgram_hashes, normalise; print(kgram_hashes(normalise('x = np.exp(y) + 1\\nz = 2').text, 3))"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed}, cwd=ROOT).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


# --- the index ------------------------------------------------------------------------------


def test_code_in_more_files_than_max_holders_is_common_idiom() -> None:
    source = (CLASS / "ind_vectorised.py").read_text()
    docs = [sim.fingerprint(f"s{i}", source) for i in range(12)]
    assert sim.compare(docs, max_holders=10) == []
    assert len(sim.compare(docs, max_holders=12)) == 66


def test_archive_files_are_compared_with_the_class_not_with_each_other(tmp_path: Path, course: sim.Course) -> None:
    archive = tmp_path / "2025"
    (archive / "bob").mkdir(parents=True)
    (archive / "carol").mkdir()
    shutil.copy(CLASS / "ind_vectorised.py", archive / "bob" / "softmax.py")
    shutil.copy(CLASS / "ind_vectorised.py", archive / "carol" / "softmax.py")
    (archive / "bob" / "__pycache__").mkdir()
    (archive / "bob" / "__pycache__" / "softmax.py").write_text("x = 1\n")
    report = sim.analyse([("alice", CLASS / "copy_renamed.py"), ("dave", CLASS / "ind_loops.py")], [STARTER], archive)
    assert report.files == 2 and report.archive_files == 2
    pairs = {(m.a, m.b) for m in report.matches}
    assert pairs == {("alice", "archive:bob/softmax.py"), ("alice", "archive:carol/softmax.py")}
    assert all(m.archive for m in report.matches)


# --- the CSV and the command ----------------------------------------------------------------


def graded_class(tmp_path: Path, sources: dict[str, str]) -> Path:
    """A results folder as `grade` leaves it, for the files in ``sources``."""
    folder = tmp_path / "class"
    folder.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    lines = []
    for sid, text in sources.items():
        (folder / f"{sid}.py").write_text(text, encoding="utf-8")
        lines.append(json.dumps({
            "submission": sid, "path": str(folder / f"{sid}.py"), "assignment": "softmax",
            "status": "graded", "score": 10.0, "max_score": 10.0, "checks": [], "mistakes": [], "elapsed_s": 0.1,
        }))
    (out / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "run.json").write_text(json.dumps({
        "assignment": "softmax", "assignment_path": str(ROOT / "assignments" / "softmax"),
        "class_folder": str(folder), "submissions": sorted(sources),
    }), encoding="utf-8")
    return out


def test_the_csv_says_a_match_is_not_a_verdict_and_reads_back(tmp_path: Path) -> None:
    out = graded_class(tmp_path, the_class())
    result = CliRunner().invoke(app, ["similarity", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = (out / sim.SIMILARITY).read_text()
    assert text.startswith(f"# {sim.NOTE}\n")
    assert "not a verdict" in result.output
    rows = sim.read_csv(out / sim.SIMILARITY)
    assert {frozenset({m.a, m.b}) for m in rows} == PLANTED
    assert [m.a for m in rows] == [m.a for m in sorted(rows, key=lambda m: -m.matched)]
    first = rows[0]
    assert first.a_lines and first.b_lines and 0 < first.a_share <= 1


def test_names_are_shown_as_text_never_as_markup_or_escapes(tmp_path: Path) -> None:
    sources = {
        "[red]mallory[/red]": (CLASS / "ind_vectorised.py").read_text(),
        "eve\x1b[2J": (CLASS / "copy_renamed.py").read_text(),
    }
    out = graded_class(tmp_path, {"mallory": sources["[red]mallory[/red]"], "eve": sources["eve\x1b[2J"]})
    # the ids as a hostile LMS export could name them: rewrite the recorded ids
    lines = (out / "results.jsonl").read_text().replace('"mallory"', '"[red]mallory[/red]"').replace('"eve"', '"eve\\u001b[2J"')
    (out / "results.jsonl").write_text(lines)
    run = json.loads((out / "run.json").read_text())
    run["submissions"] = sorted(sources)
    (out / "run.json").write_text(json.dumps(run))
    result = CliRunner().invoke(app, ["similarity", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[red]mallory[/red]" in result.output
    assert "\x1b" not in result.output


def test_json_output_is_one_object(tmp_path: Path) -> None:
    out = graded_class(tmp_path, {"a": (CLASS / "ind_loops.py").read_text(), "b": (CLASS / "copy_reordered.py").read_text()})
    result = CliRunner().invoke(app, ["similarity", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["note"] == sim.NOTE
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("a", "b")]


def test_a_folder_without_results_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["similarity", str(tmp_path)])
    assert result.exit_code == 2
    assert "no results.jsonl" in result.output


def test_an_assignment_that_cannot_be_found_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    out = graded_class(tmp_path, {"a": (CLASS / "ind_loops.py").read_text(), "b": (CLASS / "copy_reordered.py").read_text()})
    run = json.loads((out / "run.json").read_text())
    run["assignment_path"] = str(tmp_path / "gone")
    run["assignment"] = "no-such-assignment"
    (out / "run.json").write_text(json.dumps(run))
    result = CliRunner().invoke(app, ["similarity", str(out)])
    assert result.exit_code == 0, result.output
    assert "not subtracted" in result.output


def test_notebooks_are_compared_by_their_code_cells(tmp_path: Path) -> None:
    code = (CLASS / "ind_onehot.py").read_text()
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# my notebook"]},
             {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": code.splitlines(True)}]
    nb = tmp_path / "softmax.ipynb"
    nb.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    report = sim.analyse([("nb", nb), ("copy", CLASS / "copy_helper.py")], [STARTER])
    assert [(m.a, m.b) for m in report.matches] == [("nb", "copy")]


def test_grade_with_similarity_writes_the_report_after_grading(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(CLASS / "ind_loops.py", folder / "ann.py")
    shutil.copy(CLASS / "copy_reordered.py", folder / "ben.py")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["grade", str(folder), "--assignment", "softmax", "--out", str(out), "--jobs", "1", "-q", "--similarity"],
    )
    assert result.exit_code == 0, result.output
    assert [(m.a, m.b) for m in sim.read_csv(out / sim.SIMILARITY)] == [("ann", "ben")]
    assert "not a verdict" in result.output


def test_a_name_that_is_a_spreadsheet_formula_is_neutralised_in_the_csv(tmp_path: Path) -> None:
    m = sim.Match(a="=HYPERLINK(\"x\")", b="+bob", a_path="-a.py", b_path="b.py", shared=3, a_tokens=50, b_tokens=50,
                  a_share=1.0, b_share=0.5, a_lines=((1, 4),), b_lines=((2, 5), (9, 9)))
    sim.write_csv(tmp_path, sim.Report((m,), 2, 0, (), ()))
    text = (tmp_path / sim.SIMILARITY).read_text()
    assert "'=HYPERLINK" in text and ",'+bob," in text
    assert sim.read_csv(tmp_path / sim.SIMILARITY) == [m]


def test_a_helper_module_the_assignment_ships_is_subtracted_too(tmp_path: Path) -> None:
    from gradgrader.assignment import load_assignment

    spec = load_assignment("mit686x-em")
    course = sim.course_files(spec.root, spec.helpers)
    helper = spec.root / "common.py"
    assert helper in course
    # two students paste the course's helper module into their own, different, files
    for sid, own in (("ann", "ind_loops.py"), ("ben", "ind_takealong.py")):
        (tmp_path / f"{sid}.py").write_text(helper.read_text() + "\n\n" + (CLASS / own).read_text())
    subs = [("ann", tmp_path / "ann.py"), ("ben", tmp_path / "ben.py")]
    # (the students' own code is softmax's, so softmax's starter stands for the starter here)
    assert sim.analyse(subs, [STARTER, helper]).matches == ()
    assert len(sim.analyse(subs, [STARTER]).matches) == 1  # without the helper: a match


def test_the_engine_imports_neither_textual_nor_rich() -> None:
    import subprocess
    import sys

    code = "import sys, gradgrader.similarity; print('\\n'.join(sys.modules))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split())
    assert not any(m.split(".")[0] in {"textual", "rich", "typer"} for m in loaded)


def test_the_package_keeps_every_name_of_the_former_module() -> None:
    """similarity.py became a package (issue 18): its callers (the CLI, the review screen,
    the benchmark) still import every name from ``gradgrader.similarity``."""
    former = {
        "COLUMNS", "COURSE_KGRAM", "K", "MAX_HOLDERS", "MIN_MATCH", "MIN_SHARED", "NOTE", "NO_COURSE",
        "PARALLEL_FROM", "SIMILARITY", "W", "Course", "Document", "Match", "Report", "Tokens", "analyse",
        "archive_files", "as_rows", "class_submissions", "compare", "course_code", "course_files",
        "course_of_run", "fingerprint", "format_lines", "kgram_hashes", "lines_in", "normalise",
        "parse_lines", "read_code", "read_csv", "winnow", "write_csv",
    }
    assert set(sim.__all__) == former
    assert all(getattr(sim, name) is not None for name in former)
