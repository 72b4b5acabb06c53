"""gradgrader/sandbox/_scratch.py, loaded by path as the zygote loads it: measuring a
running child's scratch folder (the watched mode, without bubblewrap's capped tmpfs)."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_by_path

SCRATCH = Path(__file__).resolve().parents[1] / "gradgrader" / "sandbox" / "_scratch.py"


@pytest.fixture
def scratch() -> ModuleType:
    return load_by_path(SCRATCH, "_scratch_under_test")


class _Entry:
    """A directory entry that changed after it was listed."""

    def __init__(self, name: str, stat_error: type[OSError] | None, is_dir: bool = False) -> None:
        self.name, self._error, self._dir = name, stat_error, is_dir

    def stat(self, follow_symlinks: bool = True) -> os.stat_result:
        if self._error is not None:
            raise self._error(2, "changed", self.name)
        return os.stat(os.devnull)

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        return self._dir


def _listing_also(scratch: ModuleType, monkeypatch: pytest.MonkeyPatch, *extra: _Entry) -> None:
    """The top folder's listing holds ``extra`` besides what is there."""
    real = os.scandir
    first = [True]

    class Listing:
        def __init__(self, fd: int) -> None:
            self.inner = real(fd)
            self.extra = list(extra) if first[0] else []
            first[0] = False

        def __enter__(self) -> Listing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.close()

        def __iter__(self):  # noqa: ANN204
            yield from self.inner
            yield from self.extra

    monkeypatch.setattr(scratch.os, "scandir", Listing)


def test_an_entry_removed_while_the_folder_is_walked_is_skipped(scratch, tmp_path, monkeypatch):
    """A file or folder the child deletes between the listing and its measure is gone,
    not hidden: the walk goes on (it stopped a submission that writes and deletes
    temporary files for "made part of its scratch folder unreadable")."""
    (tmp_path / "kept").write_bytes(b"x" * 10_000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner").write_bytes(b"y" * 10_000)
    used, entries = scratch._scratch_use(str(tmp_path), 100)
    _listing_also(scratch, monkeypatch, _Entry("deleted-file", FileNotFoundError),
                  _Entry("deleted-folder", None, is_dir=True), _Entry("now-a-file", None, is_dir=True))
    (tmp_path / "now-a-file").write_bytes(b"")  # a folder replaced by a file: O_DIRECTORY refuses it
    got_used, got_entries = scratch._scratch_use(str(tmp_path), 100)
    assert got_entries == entries + 4 and got_used >= used  # counted, and measured on


def test_a_folder_the_grader_may_not_read_still_stops_the_child(scratch, tmp_path, monkeypatch):
    _listing_also(scratch, monkeypatch, _Entry("hidden", PermissionError))
    assert scratch._scratch_use(str(tmp_path), 100) == (0, -1)
