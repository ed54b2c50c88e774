"""How a failed check shows in a notebook: the diagnosis, not the checker's own frames.

In IPython (Jupyter, Colab, VS Code, nbgrader), importing ``rnncourse.checks`` registers a
display for :class:`CheckFailed` and :class:`StudentCodeError`. A wrong answer shows its
diagnosis alone, already wrapped (88 columns; 82 under a grader). An error raised by the
student's code shows the frames of the student's code and the line of the check cell,
without the checker's frames (files inside this package) in between. Under a grader the
traceback is left out entirely, so that a student's feedback starts with the diagnosis and
names no path of the grader's machine. Outside IPython nothing changes.
"""

from __future__ import annotations

import linecache
import os
import types

from ._framework import CheckFailed, StudentCodeError, grading

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _without_package_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback ``tb`` with the frames of files inside this package left out."""
    kept = []
    while tb is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(PACKAGE):
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for t in reversed(kept):
        chain = types.TracebackType(chain, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return chain


def _where_in_student_code(err: BaseException) -> str:
    """``in your_function, line N: source`` for the innermost student frame of ``err``."""
    tb, last = _without_package_frames(err.__traceback__), None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None:
        return ""
    code = last.tb_frame.f_code
    line = linecache.getline(code.co_filename, last.tb_lineno).strip()
    offset = last.tb_lineno - code.co_firstlineno + 1
    return f"\n  (in {code.co_name}, line {offset} of the function: {line})" if line else ""


def _lines(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """What to show for a failed check: the traceback's lines (see the module docstring)."""
    if grading() or issubclass(etype, CheckFailed):
        where = ""
        if issubclass(etype, StudentCodeError) and value.__cause__ is not None:
            where = _where_in_student_code(value.__cause__)
        return [f"{etype.__name__}: {value}{where}"]
    cause = value.__cause__
    if cause is not None:
        cause.__traceback__ = _without_package_frames(cause.__traceback__)
    return shell.InteractiveTB.structured_traceback(
        etype, value, _without_package_frames(tb), tb_offset=tb_offset
    )


def _show(shell, etype, value, tb, tb_offset=None) -> None:
    """IPython's custom-exception handler: sends the error output (a grader sees it fail)."""
    shell._showtraceback(etype, value, _lines(shell, etype, value, tb, tb_offset))


def register() -> None:
    """Show failed checks as described above, when running under IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((CheckFailed, StudentCodeError), _show)
