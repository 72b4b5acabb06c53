"""Find the submissions of a class: folders, zips, LMS exports, notebooks -> Submission objects.

- :func:`open_class` — a whole class from a folder or a zip (plain folder, Canvas,
  Moodle or Gradescope export), told apart by its contents (:mod:`.classexport`);
- :func:`discover` — a plain class folder: a submission is a sub-folder (its id is
  the folder's name) or a ``.py``/``.ipynb`` file directly in it (id: the file name);
- :func:`single` — the one submission ``gradgrader check PATH`` means;
- :func:`pick_file` — which file of a student's folder is graded;
- :class:`Submission` — one student's work; a notebook is graded through the module
  made of its code cells, and :meth:`Submission.relocate` makes messages name cells.

Each name is imported from its module when first asked for: a student's ``check`` of
one file (:func:`single`) loads none of the archive and LMS readers (#17).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradgrader._lazy import lazy_names

if TYPE_CHECKING:
    from gradgrader.ingest._files import Skipped
    from gradgrader.ingest.archive import Extracted, safe_extract
    from gradgrader.ingest.classexport import KINDS, ClassExport, detect, open_class
    from gradgrader.ingest.folders import (
        discover,
        make_submission,
        pick_file,
        single,
        submission_in,
    )
    from gradgrader.ingest.limits import ZipLimits
    from gradgrader.ingest.notebook import NotebookModule
    from gradgrader.ingest.submission import (
        IGNORED_DIRS,
        Submission,
        default_cache,
        notebook_submission,
    )

# name -> the module of this package that defines it
_WHERE = {
    "Skipped": "_files",
    "Extracted": "archive", "safe_extract": "archive", "ZipLimits": "limits",
    "KINDS": "classexport", "ClassExport": "classexport", "detect": "classexport", "open_class": "classexport",
    "discover": "folders", "make_submission": "folders", "pick_file": "folders", "single": "folders",
    "submission_in": "folders",
    "NotebookModule": "notebook",
    "IGNORED_DIRS": "submission", "Submission": "submission", "default_cache": "submission",
    "notebook_submission": "submission",
}


__getattr__ = lazy_names(__name__, _WHERE, globals())

__all__ = [
    "IGNORED_DIRS",
    "KINDS",
    "ClassExport",
    "Extracted",
    "NotebookModule",
    "Skipped",
    "Submission",
    "ZipLimits",
    "default_cache",
    "detect",
    "discover",
    "make_submission",
    "notebook_submission",
    "open_class",
    "pick_file",
    "safe_extract",
    "single",
    "submission_in",
]
