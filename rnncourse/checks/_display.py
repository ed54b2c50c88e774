"""How a failed check shows in IPython: the diagnosis, not the checker's own frames.

A wrong answer shows its diagnosis alone; an error in the student's code its frames without
this package's. Under a grader the traceback is left out: it would name the grader's paths.
"""

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


def _where_in_student_code(err: BaseException | None) -> str:
    """``in your_function, line N: source`` for the innermost student frame of ``err``."""
    tb, last = _without_package_frames(getattr(err, "__traceback__", None)), None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None:
        return ""
    code = last.tb_frame.f_code
    line = linecache.getline(code.co_filename, last.tb_lineno).strip()
    offset = last.tb_lineno - code.co_firstlineno + 1
    return f"\n  (in {code.co_name}, line {offset} of the function: {line})" if line else ""


def _show(shell, etype, value, tb, tb_offset=None) -> None:
    """IPython's custom-exception handler (sends error output, so a grader sees it fail)."""
    cause = value.__cause__
    if grading() or issubclass(etype, CheckFailed):
        where = _where_in_student_code(cause) if issubclass(etype, StudentCodeError) else ""
        lines = [f"{etype.__name__}: {value}{where}"]
    else:
        if cause is not None:
            cause.__traceback__ = _without_package_frames(cause.__traceback__)
        tb = _without_package_frames(tb)
        lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, lines)


def register() -> None:
    """Show failed checks as described above, when running under IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((CheckFailed, StudentCodeError), _show)
