"""Grade a class past one machine: chunks of submissions graded on a Dask cluster.

``gradgrader grade DIR ... --cluster ADDRESS`` sends the grading to a Dask scheduler
(``tcp://host:8786``, or a scheduler file ``*.json``); ``--cluster local[:N]`` starts a
:class:`distributed.LocalCluster` of N worker processes (one thread each) to try it out.
Dask is an optional extra: ``pip install 'gradgrader[dask]'``.

What travels, and where it runs:

- The assignment folder (assignment.toml, reference.py, hooks.py, feedback.toml,
  helpers, data files; not its ``samples/``) and the rubric go to the cluster once, as
  bytes (one Dask task holds them, so a lost copy is recomputed, never missing). Each
  worker process writes them into a private temporary folder, loads them with
  :func:`gradgrader.spec.load_assignment` and keeps one :class:`~gradgrader.grading.Grader`
  per assignment (reference outputs and the sandbox's zygote are made once per process).
- Submissions go in chunks, as file CONTENTS (the graded file, plus for a folder
  submission the folder's files up to :data:`FILE_CAP` each and :data:`FOLDER_CAP` in
  all), never as paths the workers may not see. The worker writes a chunk into its
  private folder, rebuilds the submissions with their original ids and ``extra`` and
  grades them with the same Grader and sandbox as local grading: the sandboxed student
  process only ever sees its own staged copy, never the assignment or other students.
- Each chunk returns plain result dicts (``Result.to_json``) whose ``path`` is the
  submission's path on the TA's machine and whose ``sha256`` is that of the bytes sent,
  so ``results.jsonl``, ``--resume`` and ``grades.csv`` are the same as local grading's.

Results stream back as chunks finish (:func:`distributed.as_completed`); the caller
writes each one (``ResultsWriter``) before asking for the next, so a crash of the TA's
machine loses at most the chunks in flight. A chunk whose worker dies is rescheduled by
Dask (up to ``distributed.scheduler.allowed-failures`` times); a chunk that raises is
retried ``retries`` times; a submission id already yielded is never yielded again.

The package: :mod:`.cluster` (the ``--cluster`` value, Dask's presence),
:mod:`.packing` (what travels: an assignment, a submission), :mod:`.worker` (the Dask
task and the worker process's graders), :mod:`.client` (:class:`ClusterGrader`, on the
TA's machine).
"""

from __future__ import annotations

from gradgrader.distributed.client import ClusterGrader, grade_on_cluster
from gradgrader.distributed.cluster import (
    DASK_HINT,
    DEFAULT_CHUNK,
    DEFAULT_RETRIES,
    ClusterError,
    check_cluster,
    parse_cluster,
    require_dask,
)
from gradgrader.distributed.packing import (
    ASSIGNMENT_CAP,
    FILE_CAP,
    FOLDER_CAP,
    FOLDER_FILES,
    pack_assignment,
    pack_submission,
    result_from_json,
)
from gradgrader.distributed.worker import close_worker, grade_chunk, scheduler_version, worker_info

__all__ = [
    "ASSIGNMENT_CAP", "DASK_HINT", "DEFAULT_CHUNK", "DEFAULT_RETRIES", "FILE_CAP", "FOLDER_CAP", "FOLDER_FILES",
    "ClusterError", "ClusterGrader", "check_cluster", "close_worker", "grade_chunk", "grade_on_cluster",
    "pack_assignment", "pack_submission", "parse_cluster", "require_dask", "result_from_json",
    "scheduler_version", "worker_info",
]
