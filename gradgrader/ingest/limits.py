"""The caps on a class's archives and on each student's files (:mod:`.archive` applies
them to a zip, :mod:`.folders` to a student's folder). A module of its own, without
zipfile: a student's ``check`` of one folder needs these caps, not the zip reader."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ZipLimits:
    """Caps on one archive. The defaults fit a class of a few hundred notebooks."""

    max_entries: int = 20_000
    max_entry_bytes: int = 200 << 20
    max_total_bytes: int = 2 << 30
    max_ratio: float = 200.0  # uncompressed / compressed, for entries above ratio_floor
    ratio_floor: int = 1 << 20  # small entries may compress well (a file of blanks) harmlessly
    # One student's files, all their archives and folders together (a class zip is one
    # archive; a student's own zips inside it count against that student's budget):
    student_bytes: int = 256 << 20  # a dataset such as CIFAR-10 (163 MB) still fits
    student_files: int = 5_000
