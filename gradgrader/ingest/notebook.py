"""Moved down to :mod:`gradgrader.submission.notebook`; these names stay importable from here."""

from gradgrader.submission.notebook import NotebookModule, convert, notebook_module, read_notebook

__all__ = ["NotebookModule", "convert", "notebook_module", "read_notebook"]
