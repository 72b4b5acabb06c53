"""gradgrader/results.py: results.jsonl and grades.csv (file IO): ids a spreadsheet would run
as formulas, files the TA can read."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import result_with_advice

from gradgrader.results import CheckRecord, Result, ResultsWriter, grades_csv, read_results


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)"])
def test_grades_csv_neutralises_spreadsheet_formulas_in_ids(name: str) -> None:
    row = {"submission": name, "score": 1.0, "max_score": 2.0, "status": "graded", "mistakes": []}
    import csv
    import io

    cell = list(csv.reader(io.StringIO(grades_csv([row]))))[1][0]
    assert cell == "'" + name


def test_files_written_for_the_ta_are_readable_like_any_new_file(tmp_path: Path) -> None:
    import os
    import stat

    from gradgrader.results import atomic_write

    atomic_write(tmp_path / "grades.csv", "x\n")
    mode = stat.S_IMODE((tmp_path / "grades.csv").stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o666 & ~mask


def test_the_results_writer_never_stops_for_one_students_text(tmp_path: Path) -> None:
    """A lone surrogate (an exception message a child made up), bytes that are not UTF-8
    (a name decoded with surrogateescape) and an extra field JSON cannot hold: every
    line is written, the text made valid UTF-8 (U+FFFD), the unwritable one as an error."""

    def result(sid: str, message: str, extra: dict[str, Any] | None = None) -> Result:
        check = CheckRecord("f.value", "f", False, 0.0, 1.0, message)
        return Result(sid, f"class/{sid}", "gmm", "graded", 0.0, 1.0, (check,), (), 0.1, message=message,
                      output=message, extra=extra or {})

    writer = ResultsWriter(tmp_path, fresh=True)
    writer.write(result("lone", "boom \ud800 here"))
    writer.write(result("bytes-\udcff", "name \udcfe"))
    writer.write(result("pair", "emoji \ud83d\ude00"))  # a pair split in two code points: joined
    writer.write(result("unwritable", "fine", {"blob": b"\xff"}))
    writer.write(result("after", "fine"))
    writer.close()
    raw = (tmp_path / "results.jsonl").read_bytes()
    raw.decode("utf-8")  # strictly valid UTF-8
    got = {r["submission"]: r for r in read_results(tmp_path, everyone=True)}
    assert list(got) == ["lone", "bytes-\ufffd", "pair", "unwritable", "after"]
    assert got["lone"]["message"] == "boom \ufffd here" and got["lone"]["checks"][0]["message"] == "boom \ufffd here"
    assert got["bytes-\ufffd"]["output"] == "name \ufffd"
    assert got["pair"]["message"] == "emoji \U0001F600"
    assert got["unwritable"]["status"] == "error" and got["unwritable"]["grader_failure"]["stage"] == "recording"
    assert got["after"]["status"] == "graded"


def test_a_fresh_writers_kept_results_are_what_reading_the_file_back_gives(tmp_path: Path) -> None:
    """(#17) ``grade`` takes a fresh results.jsonl's results from its writer instead of
    reading the file again: the same Result objects as the file read back gives — mended
    text, NaN and infinities, an unwritable result's error line, a submission written
    twice (its last line), and run.json's list of the class (one left out) — and None
    for a writer of a file it did not start (a --resume)."""
    from gradgrader.result import as_result
    from gradgrader.results import write_run

    def result(sid: str, message: str = "fine", extra: dict[str, Any] | None = None, score: float = 0.0) -> Result:
        check = CheckRecord("f.value", "f", False, score, 1.0, message, ("sign-flipped",), "compare",
                            {"error_map": [[0.1, 2.0]]}, cases=({"case": "small", "passed": False, "error": 1e-300},))
        return Result(sid, f"class/{sid}", "gmm", "graded", score, 1.0, (check,), ("sign-flipped",), 0.1,
                      message=message, output=message, extra=extra or {})

    write_run(tmp_path, {"submissions": ["lone", "nan", "twice", "unwritable"]})
    writer = ResultsWriter(tmp_path, fresh=True)
    for r in (result("lone", "boom \ud800 here"), result("nan", score=math.nan), result("twice", score=0.25),
              result("unwritable", extra={"blob": b"\xff"}), result("left-out"), result("twice", score=0.75)):
        writer.write(r)
    writer.close()
    current = ["lone", "nan", "twice", "unwritable"]
    back = [as_result(r) for r in read_results(tmp_path)]
    kept = writer.results(current)
    assert kept is not None and [r.submission for r in kept] == ["lone", "nan", "unwritable", "twice"]
    assert repr(kept) == repr(back)  # every field (NaN is not equal to itself: compared as written)
    assert kept[1].score != kept[1].score and kept[2].status == "error"
    again = ResultsWriter(tmp_path, fresh=False)
    again.write(result("later"))
    again.close()
    assert again.results(current) is None


def test_grades_csv_has_no_trace_of_advice():
    row = grades_csv([result_with_advice().to_json()]).splitlines()[1]
    assert row == "ada,1.25,1.25,graded,"


def test_dumps_gives_the_mended_line_only_where_mending_changes_something():
    """dumps tries the result as it is first (#17): the same line as mending every value
    first, for a plain result (a check with an error map), one with NaN and infinities,
    and one with a lone surrogate."""
    from gradgrader.result import Result
    from gradgrader.results import _clean, dumps

    def mended(result: Result) -> str:
        return json.dumps(_clean(result.to_json()), ensure_ascii=False, allow_nan=False)

    check = {"id": "f.value", "function": "f", "kind": "compare", "passed": False, "score": 0.5, "max_score": 1.0,
             "message": "differs \"here\"\n ü", "mistakes": ["sign-flipped"],
             "finding": {"mistake": "sign-flipped", "summary": "s", "error_map": [[0.1, 2.0], [1e-300, 5.5]], "error_axes": "a × b"}}
    plain = {"submission": "bob", "path": "bob.py", "assignment": "softmax", "status": "graded", "score": 7.25,
             "max_score": 10, "checks": [check], "mistakes": ["sign-flipped"], "elapsed_s": 0.1, "message": ""}
    results = [
        Result.from_json(plain),
        Result.from_json({**plain, "score": math.nan, "elapsed_s": math.inf}),
        Result.from_json({**plain, "submission": "stu\udcff", "message": "x\ud800y"}),
    ]
    for r in results:
        assert dumps(r) == mended(r)
    assert json.loads(dumps(results[1]))["score"] == "nan"
    assert "\ufffd" in dumps(results[2])


def test_the_results_writer_flushes_each_line_and_fsyncs_at_most_every_half_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line reaches the operating system as it is written (a killed gradgrader
    loses none); the disk is synced when SYNC_EVERY seconds have passed since the last
    sync and when the writer closes — not once per submission (#17). A fake clock: no
    test here waits."""
    import gradgrader.results as results

    synced: list[int] = []
    monkeypatch.setattr(results.os, "fsync", lambda fd: synced.append(fd))
    now = [100.0]
    writer = ResultsWriter(tmp_path, fresh=True, clock=lambda: now[0])

    def one(sid: str) -> Result:
        return Result(sid, f"class/{sid}", "gmm", "graded", 1.0, 1.0, (), (), 0.1)

    for i in range(4):
        writer.write(one(f"s{i}"))
        now[0] += 0.125  # four results in half a second (exact in binary)
        lines = (tmp_path / "results.jsonl").read_bytes().splitlines()
        assert len(lines) == i + 1  # flushed: another reader sees it at once
    assert synced == []
    writer.write(one("s4"))  # 0.5 s since the writer opened
    assert len(synced) == 1
    writer.write(one("s5"))
    writer.write(one("s6"))
    assert len(synced) == 1
    writer.close()
    assert len(synced) == 2  # the last lines are on the disk before the run ends
    writer.close()  # closing twice is harmless
    assert len(synced) == 2
    assert [r["submission"] for r in read_results(tmp_path, everyone=True)] == [f"s{i}" for i in range(7)]
