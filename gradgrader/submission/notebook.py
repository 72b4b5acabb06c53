"""Jupyter notebooks (nbformat 4) -> the Python module that gets graded.

The code cells, in order, become the module. IPython-only lines cannot run in plain
Python, so they are dropped: a cell that starts with a cell magic (``%%time``,
``%%writefile``...) is left out whole; a line magic (``%matplotlib inline``), a shell
escape (``!pip install ...``, ``files = !ls``) or a help request (``np.sum?``) becomes a
``pass`` at the same indentation, so the lines around it keep their meaning and their
numbers. Only lines that start a statement are looked at: a ``%`` that continues an
expression inside brackets (``(a\n % b)``) is Python's modulo and stays.

Messages about the generated module speak of its lines; :meth:`NotebookModule.locate`
maps a generated line back to the notebook's cell and line, and
:meth:`NotebookModule.relocate` rewrites "line N" in a message as "cell C, line L".
Cells are numbered from 1 counting every cell (markdown too), as a student counts them
down the page in Jupyter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from gradgrader.errors import SubmissionError

NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer counts as a line break
# A line magic, a shell escape, or an assignment from one (``x = %timeit f()``, ``out = !ls``).
MAGIC_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?:[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*)?[%!]"
)
HELP_LINE = re.compile(r"^[ \t]*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})[ \t]*$")


@dataclass
class _Scan:
    """Where a line ends, lexically: inside brackets, a triple-quoted string, or a
    backslash continuation (then the next line does not start a statement)."""

    depth: int = 0
    string: str = ""  # the open triple quote, or ""
    continued: bool = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and not self.string and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        code_end = n  # where a comment starts
        while i < n:
            if self.string:
                end = _find_close(line, i, self.string)
                if end < 0:
                    i = n
                    break
                self.string, i = "", end
                continue
            c = line[i]
            if c == "#":
                code_end = i
                break
            if c in "'\"":
                if line.startswith(c * 3, i):
                    self.string, i = c * 3, i + 3
                    continue
                end = _find_close(line, i + 1, c)
                i = n if end < 0 else end
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.continued = not self.string and line[:code_end].rstrip().endswith("\\")


def _find_close(line: str, start: int, quote: str) -> int:
    """Index just past the closing ``quote`` at or after ``start`` (-1 if none on this line)."""
    i = start
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line.startswith(quote, i):
            return i + len(quote)
        i += 1
    return -1


@dataclass(frozen=True)
class NotebookModule:
    """A notebook turned into module source, with the way back from its lines."""

    notebook: str  # the notebook's file name, as messages should name it
    source: str
    lines: tuple[tuple[int, int] | None, ...]  # generated line (1-based) -> (cell, line in cell)
    removed: tuple[tuple[int, int, str], ...] = ()  # (cell, line, text) of every IPython-only line
    skipped_cells: tuple[int, ...] = ()  # cells left out whole (cell magics)
    generated_name: str = field(default="")  # the generated file's name (e.g. softmax.py)

    def locate(self, generated_line: int) -> tuple[int, int] | None:
        """(cell, line in cell), both from 1, of a line of the generated module; None for
        the lines gradgrader added (the header) or a line past the end."""
        if 1 <= generated_line <= len(self.lines):
            return self.lines[generated_line - 1]
        return None

    def relocate(self, text: str) -> str:
        """``text`` with every "line N" of the generated module said as "cell C, line L",
        and the generated file's name replaced by the notebook's. Idempotent: text already
        rewritten is left alone."""
        if not text:
            return text

        def repl(m: re.Match[str]) -> str:
            if m.group("done"):
                return m.group(0)
            where = self.locate(int(m.group("n")))
            if where is None:
                return m.group(0)
            lead = "in " if m.group("on") else ""
            return f"{lead}cell {where[0]}, line {where[1]}"

        text = re.sub(r"(?P<on>\bon )?(?P<done>\bcell \d+, )?\bline (?P<n>\d+)", repl, text)
        if self.generated_name and self.generated_name != self.notebook:
            text = re.sub(rf"(?<![\w.-]){re.escape(self.generated_name)}\b", self.notebook, text)
        return text


FUTURE_LINE = re.compile(r"^[ \t]*from[ \t]+__future__[ \t]+import\b")


def _skip_note(number: int, first: str) -> str:
    """The start of the note a skipped cell leaves on stderr (the error follows it)."""
    text = first.strip()
    if len(text) > 60:
        text = text[:57] + "..."
    return f"gradgrader: cell {number} ({text}) failed and was skipped; the cells after it still ran: "


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def read_notebook(path: Path) -> list[dict]:
    """The cells of an nbformat-4 notebook; SubmissionError (in words for the student)
    if the file is not one."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a Jupyter notebook (not UTF-8 text)") from None
    except RecursionError:
        raise SubmissionError(
            f"{path.name} is not a readable Jupyter notebook (its JSON is nested too deeply)"
        ) from None
    except ValueError as exc:
        raise SubmissionError(
            f"{path.name} is not a readable Jupyter notebook (broken JSON: {exc})"
        ) from None
    except OSError as exc:
        raise SubmissionError(f"{path.name} cannot be read ({exc.strerror})") from None
    if isinstance(data, dict) and isinstance(data.get("nbformat"), int) and data["nbformat"] != 4:
        # nbformat 3 keeps its cells under "worksheets": say which format it is.
        raise SubmissionError(
            f"{path.name} is a notebook in format {data['nbformat']!r}; only nbformat 4 (Jupyter 4 and later) "
            "is read: open it in a current Jupyter and save it again"
        )
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError(f"{path.name} is not a Jupyter notebook (no list of cells)")
    if data.get("nbformat") != 4:
        raise SubmissionError(
            f"{path.name} is a notebook in format {data.get('nbformat')!r}; only nbformat 4 (Jupyter 4 and later) "
            "is read: open it in a current Jupyter and save it again"
        )
    return [c for c in data["cells"] if isinstance(c, dict)]


def convert(cells: list[dict], notebook_name: str, generated_name: str = "") -> NotebookModule:
    """The module made of ``cells``' code, in order (see the module docstring)."""
    out: list[str] = [
        f"# Generated by gradgrader from {notebook_name}: its code cells in order, IPython-only",
        "# lines (magics, shell escapes) replaced by `pass`. Messages name the notebook's cells.",
    ]
    where: list[tuple[int, int] | None] = [None, None]
    removed: list[tuple[int, int, str]] = []
    skipped: list[int] = []
    for number, cell in enumerate(cells, start=1):
        lines = _code_lines(cell)
        if not lines:
            continue
        first = next(line for line in lines if line.strip())
        if first.lstrip().startswith("%%"):
            skipped.append(number)
            removed.append((number, 1, first.strip()))
            continue
        _append_cell(number, lines, first, out, where, removed)
    return NotebookModule(
        notebook=notebook_name,
        source="\n".join(out) + "\n",
        lines=tuple(where),
        removed=tuple(removed),
        skipped_cells=tuple(skipped),
        generated_name=generated_name,
    )


def _code_lines(cell: dict) -> list[str]:
    """The lines of a code cell; [] for any other cell or one with only blank lines."""
    if cell.get("cell_type") != "code":
        return []
    lines = NEWLINE.split(_cell_source(cell))
    if lines and lines[-1] == "":
        lines.pop()
    return lines if any(line.strip() for line in lines) else []


def _append_cell(
    number: int,
    lines: list[str],
    first: str,
    out: list[str],
    where: list[tuple[int, int] | None],
    removed: list[tuple[int, int, str]],
) -> None:
    """Append cell ``number`` to the module's lines ``out`` (``where`` gets each line's
    origin, ``removed`` the IPython-only lines replaced by ``pass``)."""
    out.append(f"# %% cell {number}")
    where.append((number, 1))
    # A cell that fails at run time is skipped with a note, as Jupyter, nbgrader and
    # Otter go on after a failing cell (issue 19): its lines sit in a `try:` block,
    # each line that starts a statement indented by one space (lines inside brackets,
    # strings or after a backslash keep their text, so string values do not change).
    # SystemExit and KeyboardInterrupt are not Exceptions: they still stop the run.
    # A `from __future__` import must stay at module level: such a cell is not wrapped.
    wrap = not any(FUTURE_LINE.match(line) for line in lines)
    if wrap:
        out.append("try:")
        where.append(None)
    _append_lines(number, lines, " " if wrap else "", out, where, removed)
    if wrap:
        out.append(" pass")
        out.append("except Exception as _gradgrader_exc:")
        out.append(
            " __import__('sys').stderr.write("
            f"{_skip_note(number, first)!r} + type(_gradgrader_exc).__name__ + ': ' + str(_gradgrader_exc) + '\\n')"
        )
        where.extend([None, None, None])


def _append_lines(
    number: int,
    lines: list[str],
    pad: str,
    out: list[str],
    where: list[tuple[int, int] | None],
    removed: list[tuple[int, int, str]],
) -> None:
    """The cell's lines, each statement start prefixed with ``pad``, IPython-only
    statements replaced by ``pass`` at their indentation."""
    scan = _Scan()
    for i, line in enumerate(lines, start=1):
        ipython_only = bool(line.strip()) and bool(
            MAGIC_LINE.match(line) or HELP_LINE.match(line)
        )
        lead = pad if scan.at_statement_start else ""
        if ipython_only and scan.at_statement_start:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{lead}{indent}pass  # IPython only: {line.strip()}")
            removed.append((number, i, line.strip()))
        else:
            out.append(lead + line if line.strip() else line)
            scan.feed(line)
        where.append((number, i))


def notebook_module(path: Path, generated_name: str) -> NotebookModule:
    """Read and convert the notebook at ``path``; the module will be saved as ``generated_name``."""
    return convert(read_notebook(path), path.name, generated_name)
