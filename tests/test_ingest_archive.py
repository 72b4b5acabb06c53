"""Unpacking an untrusted zip: nothing is written outside the extraction folder, no link
is created, and the caps on entries, sizes and compression ratio hold."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from conftest import GOOD, make_zip, write_zip

from gradgrader.errors import SubmissionError
from gradgrader.ingest import ZipLimits, open_class, safe_extract
from gradgrader.ingest.archive import entry_path


def every_file(root: Path) -> list[Path]:
    return [Path(d, f) for d, _, fs in os.walk(root) for f in fs]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a/b.py", "a/b.py"),
        ("./a//b.py", "a/b.py"),
        ("../evil.py", None),
        ("a/../../evil.py", None),
        ("/etc/evil.py", None),
        ("C:\\evil.py", None),
        ("a\\..\\..\\evil.py", None),
        ("a/\x00.py", None),
    ],
)
def test_entry_path_refuses_absolute_and_parent_paths(name, safe):
    got = entry_path(name)
    assert (str(got) if got is not None else None) == safe


def test_zip_slip_entries_are_skipped_and_reported(tmp_path):
    outside = tmp_path / "outside.py"
    archive = make_zip(
        tmp_path / "class.zip",
        {
            "alice/softmax.py": b"x = 1\n",
            "../outside.py": b"evil\n",
            "alice/../../outside.py": b"evil\n",
            str(outside): b"evil\n",  # an absolute name
        },
    )
    dest = tmp_path / "out" / "x"
    done = safe_extract(archive, dest)
    assert not outside.exists()
    assert [p.relative_to(dest).as_posix() for p in done.files] == ["alice/softmax.py"]
    assert {name for name, _ in done.skipped} == {
        "../outside.py",
        "alice/../../outside.py",
        str(outside),
    }
    assert all("outside the extraction folder" in why for _, why in done.skipped)
    assert all(p.resolve().is_relative_to(dest.resolve()) for p in every_file(tmp_path / "out"))


def test_symlink_entries_are_never_created(tmp_path):
    archive = make_zip(
        tmp_path / "c.zip", {"a/softmax.py": b"x = 1\n"}, links={"a/secret.py": "/etc/passwd"}
    )
    done = safe_extract(archive, tmp_path / "x")
    assert (
        not (tmp_path / "x" / "a" / "secret.py").exists()
        and not (tmp_path / "x" / "a" / "secret.py").is_symlink()
    )
    assert done.skipped == [("a/secret.py", "symbolic link: links are never extracted")]


def test_oversized_entry_is_skipped_and_the_rest_extracted(tmp_path):
    archive = make_zip(
        tmp_path / "c.zip", {"big.bin": os.urandom(300_000), "a/softmax.py": b"x = 1\n"}
    )
    done = safe_extract(archive, tmp_path / "x", ZipLimits(max_entry_bytes=200_000))
    assert not (tmp_path / "x" / "big.bin").exists()
    assert (tmp_path / "x" / "a" / "softmax.py").read_bytes() == b"x = 1\n"
    assert done.skipped[0][0] == "big.bin" and "allowed per file" in done.skipped[0][1]


def test_high_compression_ratio_is_refused(tmp_path):
    archive = make_zip(
        tmp_path / "c.zip", {"zeros.txt": bytes(5 << 20), "small-zeros.txt": bytes(10_000)}
    )
    done = safe_extract(archive, tmp_path / "x")
    assert [name for name, _ in done.skipped] == ["zeros.txt"] and "zip bomb" in done.skipped[0][1]
    assert (
        tmp_path / "x" / "small-zeros.txt"
    ).stat().st_size == 10_000  # small files may compress well


def test_caps_on_entry_count_and_total_size_refuse_the_whole_zip(tmp_path):
    many = make_zip(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(30)})
    with pytest.raises(SubmissionError, match="30 entries, more than the 20 allowed"):
        safe_extract(many, tmp_path / "x", ZipLimits(max_entries=20))
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
    big = make_zip(tmp_path / "big.zip", {f"f{i}.bin": os.urandom(100_000) for i in range(5)})
    with pytest.raises(SubmissionError, match="would unpack to"):
        safe_extract(big, tmp_path / "y", ZipLimits(max_total_bytes=300_000))


def test_a_header_that_lies_about_its_size_is_stopped(tmp_path):
    archive = make_zip(tmp_path / "c.zip", {"a.txt": b"x" * 50_000})
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("a.txt")
    # shrink the declared size in the central directory and the local header
    for offset in (data.find(b"PK\x01\x02") + 24, info.header_offset + 22):
        data[offset : offset + 4] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    done = safe_extract(archive, tmp_path / "x")
    assert (tmp_path / "x" / "a.txt").exists() is False
    assert done.skipped and done.skipped[0][0] == "a.txt"


def test_not_a_zip_is_a_readable_error(tmp_path):
    bad = tmp_path / "c.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        safe_extract(bad, tmp_path / "x")


def test_a_zip_with_a_file_and_a_folder_of_one_name_is_read(tmp_path):
    z = tmp_path / "canvas.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("alice_1_10_softmax.py", GOOD)
        zf.writestr("notes", b"a file")
        zf.writestr("notes/", b"")
        zf.writestr("notes/inside.txt", b"x")
        zf.writestr("bob_2_20_softmax.py", GOOD)
    cls = open_class(z, "softmax.py", tmp_path / "work")
    assert cls.kind == "canvas"
    assert all(s.path is not None for s in cls.submissions) and len(cls.submissions) == 2
    assert any(s.name.startswith("notes/") for s in cls.skipped)


def test_utf8_names_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    real = "Björn Ångström_5_assignsubmission_file_softmax.py"
    data = real.encode("utf-8")
    placeholder = "X" * len(data)
    z = tmp_path / "infozip.zip"
    write_zip(z, {placeholder: GOOD.encode()})
    z.write_bytes(z.read_bytes().replace(placeholder.encode(), data))  # no 0x800 flag set
    with zipfile.ZipFile(z) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800
    done = safe_extract(z, tmp_path / "x")
    assert [p.name for p in done.files] == [real]
