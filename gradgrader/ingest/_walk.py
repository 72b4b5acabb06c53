"""Moved down to :mod:`gradgrader.submission._walk` (a submission's folder is copied with
it); these names stay importable from here."""

from gradgrader.submission._walk import MAX_DEPTH, _kind, check_tree, copy_tree, walk

__all__ = ["MAX_DEPTH", "_kind", "check_tree", "copy_tree", "walk"]
