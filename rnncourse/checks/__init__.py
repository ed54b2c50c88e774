"""Exercise checkers with specific feedback, and a record of progress.

In a notebook, write the exercise's function, then call its checker with it::

    from rnncourse import checks
    checks.rnn_step(rnn_step)

A checker runs your function on several seeded cases and compares each answer with a
reference built on torch itself (``torch.nn`` modules, autograd) or on exact formulas.
It prints one line when every case passes; on a wrong answer it raises
``AssertionError`` naming the case, the expected and actual values and, when the answer
matches a known wrong variant, the likely mistake. A function that still raises
``NotImplementedError`` prints "not attempted yet" and nothing fails, so a fresh
notebook runs top to bottom; under a grader (nbgrader sets ``NBGRADER_EXECUTION``; others
set ``RNNCOURSE_GRADING=1``) it raises :class:`NotAttemptedError` instead, so doing nothing
scores nothing. Any other error your function raises is shown under the
exercise's name as a :class:`StudentCodeError`.

``checks.progress()`` prints which exercises have passed, per notebook, and
``checks.use(name, fn)`` hands later cells your function once it passes (the course's
reference until then), so the code you write runs the rest of the course.
"""

from __future__ import annotations

from . import _display, _progress
from ._backprop import rnn_backward
from ._basics import rnn_forward, rnn_step, running_sum_weights, state_space_to_rnn
from ._capstone import train_step, validation_nll
from ._framework import (
    GRADING_ENV,
    REGISTRY,
    CheckFailed,
    Exercise,
    NotAttemptedError,
    Result,
    StudentCodeError,
    grading,
)
from ._full_bptt import rnn_loss_and_grads
from ._gating import cell_state_gradient, gated_leaky_step, gru_step, lstm_step, time_constant
from ._generation import (
    coin_flip_inputs,
    next_token_targets,
    sampling_loop,
    sampling_schedule,
)
from ._gradient_check import (
    BUG_LABELS,
    backward_A,
    backward_B,
    backward_C,
    find_the_bug,
    numerical_gradient,
)
from ._real_text import bigram_nll
from ._scan import combine, min_gru_forward, scan_equals_loop
from ._scheduled_sampling import train_scheduled_sampling
from ._sequential import free_running, output_feedback, teacher_forced_inputs
from ._stability import jacobian_product_norm, predict_regime, steady_weights
from ._stacked import bidirectional_concat, stacked_forward
from ._topologies import encoder_decoder_forward, many_to_one_head, masked_cross_entropy
from ._training_gradients import clip_global_norm, gradient_by_lag
from ._truncation import tbptt_chunks
from ._unrolled import unrolled_loss
from ._use import expect, reference, use

_display.register()

__all__ = [
    "REGISTRY",
    "CheckFailed",
    "Exercise",
    "Result",
    "StudentCodeError",
    "NotAttemptedError",
    "GRADING_ENV",
    "grading",
    "progress",
    "use",
    "expect",
    "reference",
    "BUG_LABELS",
    "bigram_nll",
    "backward_A",
    "backward_B",
    "backward_C",
    "bidirectional_concat",
    "cell_state_gradient",
    "clip_global_norm",
    "coin_flip_inputs",
    "combine",
    "encoder_decoder_forward",
    "find_the_bug",
    "free_running",
    "gated_leaky_step",
    "gradient_by_lag",
    "gru_step",
    "jacobian_product_norm",
    "lstm_step",
    "many_to_one_head",
    "masked_cross_entropy",
    "min_gru_forward",
    "next_token_targets",
    "numerical_gradient",
    "output_feedback",
    "predict_regime",
    "rnn_backward",
    "rnn_forward",
    "rnn_loss_and_grads",
    "rnn_step",
    "running_sum_weights",
    "sampling_loop",
    "sampling_schedule",
    "scan_equals_loop",
    "stacked_forward",
    "state_space_to_rnn",
    "steady_weights",
    "tbptt_chunks",
    "train_step",
    "teacher_forced_inputs",
    "time_constant",
    "train_scheduled_sampling",
    "unrolled_loss",
    "validation_nll",
]


def progress(notebook: str | None = None) -> dict[str, dict[str, str]]:
    """Summarise which exercises have passed, per notebook in course order; print a table.

    Args:
        notebook: show only this notebook (e.g. ``"03"``); ``None`` shows all.

    Returns:
        ``{notebook: {exercise: status}}`` with status ``"passed"`` (in this session),
        ``"passed earlier"`` (in an earlier session or notebook folder, from the progress
        file) or ``"not yet"``.
    """
    notebooks = sorted({ex.notebook for ex in REGISTRY.values()})
    if notebook is not None:
        if not isinstance(notebook, str):
            raise TypeError(
                f"notebook must be a string such as '03', got {type(notebook).__name__}."
            )
        if notebook not in notebooks:
            raise ValueError(f"notebook must be one of {', '.join(notebooks)}; got {notebook!r}.")
        notebooks = [notebook]
    earlier = _progress.load_everywhere()
    summary: dict[str, dict[str, str]] = {nb: {} for nb in notebooks}
    for name, ex in REGISTRY.items():  # registered in each notebook's order
        if ex.notebook not in summary:
            continue
        if name in _progress.SESSION_PASSED:
            summary[ex.notebook][name] = "passed"
        elif name in earlier:
            summary[ex.notebook][name] = "passed earlier"
        else:
            summary[ex.notebook][name] = "not yet"
    marks = {"passed": "✓", "passed earlier": "✓ (earlier)", "not yet": "·"}
    for nb, exercises in summary.items():
        done = sum(status != "not yet" for status in exercises.values())
        cells = "  ".join(f"{name} {marks[status]}" for name, status in exercises.items())
        print(f"{nb}  {done}/{len(exercises)}  {cells}")
    return summary
