"""Exercise checkers with specific feedback, and a record of progress.

In a notebook: ``checks.rnn_step(rnn_step)`` runs your function on seeded cases and prints
one line when all pass. A wrong answer raises :class:`CheckFailed` naming the case, the
values and the likely mistake; an error in your code, :class:`StudentCodeError`. A stub
prints "not attempted yet", or under a grader (``NBGRADER_EXECUTION`` or
``RNNCOURSE_GRADING=1``) raises :class:`NotAttemptedError`. ``checks.progress()`` shows what
has passed; ``checks.use(name, fn)`` hands later cells your function once it passes.
"""

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
from ._generation import coin_flip_inputs, next_token_targets, sampling_loop, sampling_schedule
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
    """Print and return ``{notebook: {exercise: status}}`` in course order, for one
    ``notebook`` (e.g. ``"03"``) or all; status is ``"passed"`` (in this session),
    ``"passed earlier"`` (in the progress file) or ``"not yet"``."""
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
        if ex.notebook in summary:
            summary[ex.notebook][name] = (
                "passed"
                if name in _progress.SESSION_PASSED
                else "passed earlier"
                if name in earlier
                else "not yet"
            )
    marks = {"passed": "✓", "passed earlier": "✓ (earlier)", "not yet": "·"}
    for nb, exercises in summary.items():
        done = sum(status != "not yet" for status in exercises.values())
        cells = "  ".join(f"{name} {marks[status]}" for name, status in exercises.items())
        print(f"{nb}  {done}/{len(exercises)}  {cells}")
    return summary
