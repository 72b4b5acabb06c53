"""The sandbox of a student's ``gradgrader check FILE [-a NAME]``, started before the
command line is parsed, and the usual ``check`` command lines read without typer (#17).

A check's zygote (a Python importing numpy, under bubblewrap) takes about as long to
come up as the grader takes to import typer, rich, numpy and the grader itself: the
earlier it starts, the less the first check waits for it. :func:`gradgrader.cli.main`
therefore reads the assignment's name from the raw arguments (:func:`check_assignment`)
and starts the zygote before it imports typer; ``check`` adopts it once typer has
parsed the same name (:meth:`EarlySandbox.take`), and ``main`` closes it on every other
way out (a usage error, ``--help``). A check naming no assignment (the usual
``gradgrader check softmax.py``) starts one hiding every shipped course's folders: the
grader adopts it for whichever assignment it detects, as it hides at least as much.
Arguments this reader does not understand start nothing: ``check`` then starts its
zygote itself, as it would without this.

The same reader gives :func:`parse_check`: a check with the usual options only runs
without typer (:func:`gradgrader.cli.main`); typer still parses every other command line.

Imports neither typer, rich nor numpy (``tests/test_cli_early.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from gradgrader.sandbox.prestart import Prestarted

# `check`'s options (gradgrader/cli/student.py) as click reads them: those taking a
# value, and the flags. Any other option: not understood, nothing starts early.
_VALUED = {"--assignment": "assignment", "-a": "assignment", "--rubric": "rubric"}
_FLAGS = {"--json": "as_json", "--failed": "failed_only", "--allow-weak-sandbox": "allow_weak",
          "--watch": "watch", "-w": "watch", "--review": "review_ui"}
_SHORT_FLAGS = {"w": "watch"}
# What a command line may hold to run without typer (parse_check): a --watch or --review
# runs long anyway, and typer answers everything else (help, usage errors).
_WITHOUT_TYPER = {"assignment", "rubric", "as_json", "failed_only", "allow_weak"}


def _read_check(argv: Sequence[str]) -> tuple[dict[str, Any], list[str], bool] | None:
    """The options (by ``check``'s parameter names) and the arguments of a ``check``
    command line as click will parse it (the last value of an option wins), and whether
    a ``--`` ended the options; ``None`` when this is not a check, it asks for help, or
    it holds an option this reader does not know."""
    if not argv or argv[0] != "check":
        return None
    options: dict[str, Any] = {}
    arguments: list[str] = []
    rest = list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            return options, arguments + rest, True
        if arg == "--help":
            return None
        if arg in _FLAGS:
            options[_FLAGS[arg]] = True
            continue
        if not arg.startswith("-") or arg == "-":
            arguments.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if arg.startswith("--"):
            if name not in _VALUED:
                return None
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            options[_VALUED[name]] = value
            continue
        # a cluster of short options: flags, then at most one taking a value (-wa NAME, -aNAME)
        for i, letter in enumerate(arg[1:], start=1):
            if letter in _SHORT_FLAGS:
                options[_SHORT_FLAGS[letter]] = True
                continue
            if letter != "a":
                return None
            value = arg[i + 1:]
            if not value:
                if not rest:
                    return None
                value = rest.pop(0)
            options["assignment"] = value
            break
    return options, arguments, False


def check_assignment(argv: Sequence[str]) -> str | None:
    """The ``--assignment`` of a ``gradgrader check`` command line (``argv`` without the
    program), as click will parse it (the last one given wins); ``None`` when this is not
    a check, it names no assignment, it asks for help, or it holds an option this reader
    does not know."""
    read = _read_check(argv)
    return (read[0].get("assignment") or None) if read is not None else None


class CheckLine(NamedTuple):
    """A ``check`` command line read without typer: :func:`gradgrader.cli._checkrun.run_check`'s
    arguments."""

    path: Path
    assignment: str | None = None
    rubric: Path | None = None
    as_json: bool = False
    failed_only: bool = False
    allow_weak: bool = False


def parse_check(argv: Sequence[str]) -> CheckLine | None:
    """A ``check`` command line of the usual options only (:data:`_WITHOUT_TYPER`), one
    file and no value that starts with ``-`` or is empty, as typer would parse it; ``None``
    for anything else (typer then parses it: help, usage errors, --watch, --review)."""
    read = _read_check(argv)
    if read is None:
        return None
    options, arguments, ended = read
    if ended or len(arguments) != 1 or not set(options) <= _WITHOUT_TYPER:
        return None
    values = [arguments[0]] + [v for v in options.values() if isinstance(v, str)]
    if any(not v or v.startswith("-") for v in values):
        return None
    rubric = options.get("rubric")
    return CheckLine(
        Path(arguments[0]), options.get("assignment"), Path(rubric) if rubric is not None else None,
        bool(options.get("as_json")), bool(options.get("failed_only")), bool(options.get("allow_weak")),
    )


class EarlySandbox:
    """The zygote started for ``assignment`` (``None``: the one the file turns out to
    be) before typer parsed the command line, until ``check`` takes it or ``main``
    closes it. ``prestarted`` is ``None`` when nothing could start early (see
    :func:`early_sandbox`: the probe then runs in a thread)."""

    def __init__(self, assignment: str | None, prestarted: Prestarted | None) -> None:
        self.assignment = assignment
        self._prestarted = prestarted
        self._taken = False

    def take(self, assignment: str | None) -> tuple[bool, Prestarted | None]:
        """``(True, the zygote or None)`` for the assignment it was started for (once);
        ``(False, None)`` for another one (this one is closed: it hides the wrong course)."""
        if self._taken or assignment != self.assignment:
            self.close()
            return False, None
        self._taken = True
        prestarted, self._prestarted = self._prestarted, None
        return True, prestarted

    def close(self) -> None:
        """Stop the zygote if nothing adopted it."""
        self._taken = True
        if self._prestarted is not None:
            self._prestarted.close()
            self._prestarted = None


def start_early(argv: Sequence[str], then: Callable[[], None] | None = None) -> EarlySandbox | None:
    """An :class:`EarlySandbox` for a ``check`` of a file: for the assignment it names,
    or — it names none — for whichever shipped assignment the file turns out to be;
    ``None`` for any other command line. ``then``: called as soon as the zygote is
    spawned, before the sandbox's records (dataclasses) are made."""
    read = _read_check(argv)
    if read is None or not read[1]:
        return None
    assignment = check_assignment(argv)
    return EarlySandbox(assignment, early_sandbox(assignment, then))


def early_sandbox(assignment: str | None, then: Callable[[], None] | None = None) -> Prestarted | None:
    """A zygote started before the grader is imported, hiding what the grader's sandbox
    for ``assignment`` will hide (it adopts it only then); for ``None`` (the assignment
    is detected from the file once the grader is loaded) every data root's course
    folders, which hold every shipped assignment: whichever is detected, the zygote hides
    at least what its sandbox would. None when the named assignment cannot be found (the
    error comes from loading it), the sandbox cannot start here (the grader says why
    when it starts its own), or the probe would start bubblewrap now (first run on this
    machine, or bubblewrap fails here): the probe then runs in a thread while the grader
    is imported, as the grader's own start waits."""
    import threading

    from gradgrader.sandbox.bwrap import probe_is_cheap

    if not probe_is_cheap():
        from gradgrader.sandbox.layers import probe

        threading.Thread(target=probe, name="gradgrader-probe", daemon=True).start()
        return None
    from gradgrader.errors import GradgraderError
    from gradgrader.spec.locate import course_folders, every_course_folder, find_assignment

    if assignment is None:
        return _prestart(every_course_folder(), then)
    try:
        root = find_assignment(assignment)
    except (GradgraderError, OSError):
        return None
    return _prestart(course_folders(root), then)


def prestart_for(root: Path) -> Prestarted | None:
    """A zygote for the course at ``root`` started now, its hello not awaited: what a
    Grader of it (one sandbox, in this thread) adopts as its own. None when the sandbox
    cannot start here or the probe would start bubblewrap now (the grader then starts
    its own, and says why if it cannot)."""
    from gradgrader.sandbox.bwrap import probe_is_cheap
    from gradgrader.spec.locate import course_folders

    return _prestart(course_folders(root)) if probe_is_cheap() else None


def _prestart(hidden: list[Path], then: Callable[[], None] | None = None) -> Prestarted | None:
    """A zygote hiding ``hidden`` started now, once the probe is known to be cheap (a
    check asks it first: it reads the remembered probe, asked once); ``then`` is called
    once it is spawned."""
    # What starts the zygote imports no dataclass and no ctypes (bwrap, staging, zygote):
    # it is spawned ~12 ms sooner than after the layers' probe and the sandbox's records.
    from gradgrader.errors import GradgraderError
    from gradgrader.sandbox.bwrap import namespaces_available
    from gradgrader.sandbox.zygote import start_in_new_run, stop_run

    try:
        namespaces = namespaces_available()
        run_dir, folder, held, zygote = start_in_new_run(namespaces, hidden)
    except (GradgraderError, OSError):
        return None
    # The other layers are probed while the zygote comes up (its command depends on the
    # namespaces layer alone); the grader compares them with its own before adopting it.
    try:
        if then is not None:
            then()
        from gradgrader.sandbox.layers import probe
        from gradgrader.sandbox.prestart import Prestarted

        started = Prestarted(run_dir, folder, probe(), held, zygote)
    except BaseException:
        stop_run(run_dir, zygote)
        raise
    if started.isolation.has("namespaces") != namespaces:  # never, as both ask one probe
        started.close()
        return None
    return started
