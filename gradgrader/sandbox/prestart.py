"""A sandbox started before the grader has loaded: a student's ``check`` (#17).

``gradgrader check FILE -a NAME`` knows, before it imports numpy, the checks and the
assignment, which folders its sandbox must hide; its zygote (a Python that imports
numpy, under bubblewrap) can therefore start at once and be ready by the time the
checks are. The grader adopts it only if it hides at least what the grader's own
sandbox would hide, under the same layers (:meth:`Prestarted.covers`); otherwise it
is closed and the grader starts its own, as without this.

Imports nothing that imports numpy (``tests/test_layers.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gradgrader.sandbox.layers import Isolation
from gradgrader.sandbox.staging import hidden_folders
from gradgrader.sandbox.zygote import Zygote, stop_run


@dataclass
class Prestarted:
    """A started zygote (its hello not awaited yet) and the run folder it lives in."""

    run_dir: Path
    folder: Path
    isolation: Isolation
    hidden: list[Path]
    zygote: Zygote

    def covers(self, isolation: Isolation, hidden: Iterable[Path]) -> bool:
        """Whether this zygote hides everything a sandbox with ``hidden`` would (each of
        those folders, or a folder holding it), under the same isolation layers."""
        if isolation != self.isolation:
            return False

        def hidden_here(p: Path) -> bool:
            if p.is_relative_to(self.folder):
                # The worker folder is bound back writable after the parents are hidden:
                # a folder inside it is hidden only if it is hidden itself (after the bind).
                return p in self.hidden
            return any(p == h or p.is_relative_to(h) for h in self.hidden)

        return all(hidden_here(p) for p in hidden_folders(hidden))

    def close(self) -> None:
        """Stop the zygote and remove the run folder (when nothing adopted them)."""
        stop_run(self.run_dir, self.zygote)

