import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from rnncourse import plots, training
from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem

# ---------------------------------------------------------------- clipping vs torch


def _params_with_grads(seed=0, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (4,), (2, 4), (1,)]
    params = [torch.randn(s, generator=g, dtype=dtype, requires_grad=True) for s in shapes]
    for p in params:
        p.grad = scale * torch.randn(p.shape, generator=g, dtype=dtype)
    return params


def _clone(params):
    out = []
    for p in params:
        q = p.detach().clone().requires_grad_(True)
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clips / does not clip
def test_clip_grad_norm_equals_torch_exactly(dtype, max_norm):
    ours = _params_with_grads(dtype=dtype, scale=3.0)
    ours[1].grad = None  # a parameter without a gradient is skipped
    theirs = _clone(ours)
    total = training.clip_grad_norm(ours, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert torch.equal(total, expected)
    for p, q in zip(ours, theirs, strict=True):
        if q.grad is None:
            assert p.grad is None
        else:
            assert torch.equal(p.grad, q.grad)
    if max_norm < 1:
        assert torch.allclose(training.global_grad_norm(ours), torch.tensor(max_norm, dtype=dtype))


def test_global_grad_norm_is_norm_of_concatenated_gradients():
    params = _params_with_grads()
    flat = torch.cat([p.grad.flatten() for p in params])
    assert torch.allclose(training.global_grad_norm(params), flat.norm(), rtol=1e-14)
    assert training.global_grad_norm([torch.zeros(2, requires_grad=True)]).item() == 0.0


def test_clip_grad_value_equals_torch_exactly():
    ours = _params_with_grads(scale=2.0)
    ours[0].grad = None
    theirs = _clone(ours)
    assert training.clip_grad_value(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours[1:], theirs[1:], strict=True):
        assert torch.equal(p.grad, q.grad)
        assert p.grad.abs().max() <= 0.7
    assert ours[0].grad is None


def test_global_clipping_keeps_direction_per_tensor_clipping_does_not():
    params = _params_with_grads(scale=5.0)
    before = torch.cat([p.grad.flatten() for p in params])
    per_tensor = _clone(params)
    training.clip_grad_norm(params, 1.0)
    for p in per_tensor:  # clip each tensor on its own
        torch.nn.utils.clip_grad_norm_([p], 1.0)
    after_global = torch.cat([p.grad.flatten() for p in params])
    after_local = torch.cat([p.grad.flatten() for p in per_tensor])
    cos = F.cosine_similarity
    assert cos(before, after_global, dim=0) == pytest.approx(1.0, abs=1e-12)
    assert cos(before, after_local, dim=0) < 0.999
    assert not torch.allclose(after_global, after_local)


def test_clipping_bad_inputs():
    params = _params_with_grads()
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        training.clip_grad_norm(params, 0.0)
    with pytest.raises(TypeError, match="max_norm must be a number"):
        training.clip_grad_norm(params, "1")
    with pytest.raises(ValueError, match="clip_value must be > 0"):
        training.clip_grad_value(params, -1.0)
    with pytest.raises(TypeError, match="parameters must be tensors"):
        training.global_grad_norm([1.0, 2.0])


# ---------------------------------------------------------------------------- train


def _regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return x, y


def test_train_reduces_loss_and_logs_every_step():
    torch.manual_seed(0)
    x, y = _regression()
    model = nn.Linear(3, 1)
    h = training.train(
        model,
        lambda step: (x, y),
        F.mse_loss,
        steps=100,
        lr=0.1,
        progress=False,
        eval_fn=lambda m: F.mse_loss(m(x), y).item(),
        eval_every=25,
    )
    assert h.steps == 100 and len(h.grad_norm) == 100 and len(h.wall_time) == 100
    assert h.loss[-1] < 1e-3 * h.loss[0]
    assert h.eval_steps == [25, 50, 75, 100]
    assert h.eval_metrics["eval"][-1] == pytest.approx(F.mse_loss(model(x), y).item())
    step, value = h.best()
    assert value == min(h.eval_metrics["eval"]) and step in h.eval_steps
    assert h.best("loss")[1] == min(h.loss)
    d = dataclasses.asdict(h)  # a plain dictionary of lists
    assert d["loss"] == h.loss and d["eval_metrics"]["eval"] == h.eval_metrics["eval"]
    assert all(b >= a for a, b in zip(h.wall_time, h.wall_time[1:], strict=False))


def test_train_logs_grad_norm_before_clipping():
    x, y = _regression()
    model = nn.Linear(3, 1)
    ref = nn.Linear(3, 1)
    ref.load_state_dict(model.state_dict())
    h = training.train(
        model, [(x, y)], F.mse_loss, steps=1, optimizer="sgd", lr=0.1, clip_norm=0.01,
        progress=False,
    )  # fmt: skip
    F.mse_loss(ref(x), y).backward()
    norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.01)
    assert h.grad_norm[0] == pytest.approx(norm.item(), rel=1e-6) and norm > 0.01
    with torch.no_grad():  # the step used the clipped gradient
        for p, q in zip(model.parameters(), ref.parameters(), strict=True):
            assert torch.allclose(p, q - 0.1 * q.grad)


def test_train_stops_on_nan_naming_the_step():
    x, y = _regression()
    model = nn.Linear(3, 1)

    def batches(step):
        return (x * math.nan, y) if step == 7 else (x, y)

    with pytest.raises(training.NonFiniteLossError, match=r"update 8 \(step=7\)") as err:
        training.train(model, batches, F.mse_loss, steps=20, progress=False)
    assert isinstance(err.value, FloatingPointError)
    assert "clip" in str(err.value) and "learning rate" in str(err.value)


def test_train_stop_when_and_iterable_that_runs_out():
    x, y = _regression()
    h = training.train(
        nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=100, progress=False,
        stop_when=lambda h: h.steps == 5,
    )  # fmt: skip
    assert h.steps == 5 and h.stopped_early
    with pytest.raises(ValueError, match="ran out after 2"):
        training.train(nn.Linear(3, 1), [(x, y)] * 2, F.mse_loss, steps=3, progress=False)


def test_progress_bar_can_be_silenced(capsys):
    x, y = _regression()
    training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=3, progress=False)
    assert capsys.readouterr() == ("", "")
    training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=3, progress=True)
    assert "3/3" in capsys.readouterr().err  # the terminal bar goes to stderr


def test_history_plot_returns_a_figure():
    x, y = _regression()
    h = training.train(
        nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=10, progress=False,
        eval_fn=lambda m: {"mse": 1.0, "acc": 0.5}, eval_every=5,
    )  # fmt: skip
    fig = plots.plot_history(h)
    assert isinstance(fig, Figure)
    ax, ax2 = fig.axes
    assert len(ax.get_lines()) == 3 and len(ax2.get_lines()) == 1
    assert list(ax2.get_lines()[0].get_ydata()) == h.grad_norm


def test_train_bad_inputs():
    x, y = _regression()
    model = nn.Linear(3, 1)
    ok = dict(steps=2, progress=False)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        training.train(lambda v: v, lambda s: (x, y), F.mse_loss, **ok)
    with pytest.raises(TypeError, match="batches must be a callable"):
        training.train(model, 3, F.mse_loss, **ok)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        training.train(model, lambda s: (x, y), "mse", **ok)
    with pytest.raises(TypeError, match="not both or neither"):
        training.train(model, lambda s: (x, y), **ok)
    with pytest.raises(TypeError, match="not both or neither"):
        training.train(model, lambda s: (x, y), F.mse_loss, update=lambda *a: 0.0, **ok)
    with pytest.raises(TypeError, match="clip inside it"):
        training.train(model, lambda s: (x, y), update=lambda *a: 0.0, clip_norm=1.0, **ok)
    with pytest.raises(TypeError, match="clip needs clip_norm"):
        training.train(model, lambda s: (x, y), F.mse_loss, clip=lambda g, m: g, **ok)
    with pytest.raises(TypeError, match="keep_best needs eval_fn"):
        training.train(model, lambda s: (x, y), F.mse_loss, keep_best=True, **ok)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        training.train(model, lambda s: (x, y), F.mse_loss, patience=0, **ok)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.train(model, lambda s: (x, y), F.mse_loss, optimizer="adamw", **ok)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        training.train(model, lambda s: (x, y), F.mse_loss, steps=0)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        training.train(model, lambda s: (x, y), F.mse_loss, optimizer=0.1, **ok)
    sgd = torch.optim.SGD(model.parameters(), lr=0.01)
    before = model.weight.detach().clone()
    training.train(model, lambda s: (x, y), F.mse_loss, optimizer=sgd, clip_value=1e-3, **ok)
    assert (model.weight - before).abs().max() < 2 * 0.01 * 1e-3 + 1e-6  # clipped steps (float32)
    with pytest.raises(ValueError, match="lr must be > 0"):
        training.train(model, lambda s: (x, y), F.mse_loss, lr=-1.0, **ok)
    with pytest.raises(ValueError, match="clip_norm must be > 0"):
        training.train(model, lambda s: (x, y), F.mse_loss, clip_norm=0, **ok)
    with pytest.raises(ValueError, match="metric must be one of"):
        training.History(loss=[1.0]).best("mse")
    with pytest.raises(ValueError, match="No values"):
        training.History().best()


class _GRUAdder(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.rnn = nn.GRU(2, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):  # x: (B, T, 2) -> (B, 1)
        return self.out(self.rnn(x)[0][:, -1])


def test_small_gru_solves_the_adding_problem_within_a_step_budget():
    # Over seeds 0-9 this setup reaches test MSE < 0.01 after 80-100 updates at T = 50.
    T, seed = 50, 0
    x_test, y_test = adding_problem(500, T, seed=10_000)
    torch.manual_seed(seed)
    model = _GRUAdder(16)
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: extra threads only add overhead
    try:
        h = training.train(
            model,
            lambda step: adding_problem(64, T, seed=gen),  # a fresh batch every update
            F.mse_loss,
            steps=300,
            lr=0.05,
            clip_norm=1.0,
            progress=False,
            eval_fn=lambda m: {"mse": F.mse_loss(m(x_test), y_test).item()},
            eval_every=10,
            stop_when=lambda h: bool(h.eval_steps) and h.eval_metrics["mse"][-1] < 0.01,
        )
    finally:
        torch.set_num_threads(threads)
    assert h.eval_metrics["mse"][-1] < 0.01 < ADDING_BASELINE_MSE / 10
    assert h.stopped_early and h.steps <= 300
    assert max(h.eval_metrics["mse"]) > 0.05  # it started far from solved


def test_train_unpacks_tuple_inputs():
    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, z):
            return self.w * x + z

    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(64, 1, generator=g), torch.randn(64, 1, generator=g)
    model = TwoInputs()
    training.train(
        model, lambda step: ((x, z), 3 * x + z), F.mse_loss, steps=200, lr=0.1, progress=False
    )
    assert abs(model.w.item() - 3) < 1e-2


# ------------------------------------------------- schedule, keep-best, stop rules, hooks


def test_cosine_decay_runs_from_one_to_the_floor():
    f = training.cosine_decay(100, floor=0.01)
    assert f(0) == pytest.approx(1.0) and f(100) == pytest.approx(0.01)
    assert f(50) == pytest.approx(0.505) and f(250) == pytest.approx(0.01)
    assert all(f(u) >= f(u + 1) for u in range(120))
    with pytest.raises(ValueError, match="steps"):
        training.cosine_decay(0)


def test_lr_schedule_sets_the_learning_rate_of_every_update():
    x, y = _regression()
    model, seen = nn.Linear(3, 1), []
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)

    def batches(step):
        seen.append(sgd.param_groups[0]["lr"])
        return x, y

    training.train(model, batches, F.mse_loss, steps=5, optimizer=sgd, progress=False,
                   lr_schedule=lambda u: 1 / (1 + u))  # fmt: skip
    assert seen == pytest.approx([0.1 / (1 + u) for u in range(5)])


def test_keep_best_restores_the_best_scoring_weights_and_report_sees_each_evaluation():
    x, y = _regression()
    model, scores, reports = nn.Linear(3, 1), iter([3.0, 1.0, 2.0]), []
    weights = []

    def score(m):
        weights.append(m.weight.detach().clone())
        return next(scores)

    h = training.train(
        model, lambda s: (x, y), F.mse_loss, steps=30, lr=0.1, progress=False, eval_fn=score,
        eval_every=10, keep_best=True, report=lambda h: reports.append(h.eval_steps[-1]),
    )  # fmt: skip
    assert h.best() == (20, 1.0) and reports == [10, 20, 30] and h.reason == "steps"
    assert torch.equal(model.weight, weights[1]) and not model.training


@pytest.mark.parametrize(
    ("stop", "reason"), [({"target": 10.0}, "target"), ({"seconds": 0.0}, "seconds")]
)
def test_training_stops_at_a_target_or_a_time_budget(stop, reason):
    x, y = _regression()
    h = training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=50, progress=False,
                       eval_fn=lambda m: 1.0, eval_every=10, **stop)  # fmt: skip
    assert h.reason == reason and h.steps == 10 and h.stopped_early
    h = training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=50, progress=False,
                       seconds=0.0)  # fmt: skip
    assert h.reason == "seconds" and h.steps == 1  # without evaluations: after every update


def test_patience_stops_when_the_score_does_not_improve():
    x, y = _regression()
    scores = iter([3.0, 2.0, 2.5, 2.6, 2.7, 1.0])
    h = training.train(
        nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=60, progress=False,
        eval_fn=lambda m: next(scores), eval_every=10, patience=2,
    )  # fmt: skip
    assert h.reason == "patience" and h.steps == 40 and h.best() == (20, 2.0)


def test_seed_hands_batches_one_generator_and_the_global_generator_is_untouched():
    def run(seed):
        torch.manual_seed(0)
        model, drawn = nn.Linear(3, 1), []

        def batches(g):
            x = torch.randn(8, 3, generator=g)
            drawn.append(x)
            return x, x.sum(1, keepdim=True)

        state = torch.get_rng_state()
        h = training.train(model, batches, F.mse_loss, steps=3, progress=False, seed=seed)
        assert torch.equal(state, torch.get_rng_state())
        return drawn, h.loss

    (a, loss_a), (b, loss_b), (c, _) = run(2), run(2), run(3)
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True)) and loss_a == loss_b
    assert not torch.equal(a[0], c[0]) and not torch.equal(a[0], a[1])


def test_clip_runs_a_clipping_function_of_yours_inside_the_loop():
    x, y = _regression()

    def clip_global_norm(grads, max_norm):  # notebook 05's exercise: a new list
        norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
        return [g * min(1.0, max_norm / (norm + 1e-6)) for g in grads]

    models = [nn.Linear(3, 1) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    settings = dict(steps=5, optimizer="sgd", lr=0.1, clip_norm=0.01, progress=False)
    hs = [
        training.train(model, lambda s: (x, y), F.mse_loss, **settings, **extra)
        for model, extra in zip(models, [{"clip": clip_global_norm}, {}], strict=True)
    ]
    assert hs[0].grad_norm == hs[1].grad_norm and hs[0].grad_norm[0] > 0.01  # before clipping
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(p, q)
    with pytest.raises(TypeError, match="clip must return a list of 2"):
        training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=1, clip_norm=1.0,
                       clip=lambda grads, m: grads[:1], progress=False)  # fmt: skip


def test_update_runs_a_training_step_of_yours_with_evaluation_and_stop_rules():
    x, y = _regression()

    def my_update(model, inputs, targets, optimizer):
        optimizer.zero_grad()
        loss = F.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return {"loss": loss, "doubled": 2 * loss.item()}

    model = nn.Linear(3, 1)
    h = training.train(
        model, lambda s: (x, y), update=my_update, steps=200, lr=0.1, progress=False,
        eval_fn=lambda m: F.mse_loss(m(x), y).item(), eval_every=10, target=1e-3,
    )  # fmt: skip
    assert h.reason == "target" and h.eval_metrics["eval"][-1] <= 1e-3
    assert h.logged["doubled"] == pytest.approx([2 * v for v in h.loss]) and h.grad_norm == []
    with pytest.raises(training.NonFiniteLossError, match="update 1"):
        training.train(model, lambda s: (x, y), update=lambda *a: math.inf, steps=2,
                       progress=False)  # fmt: skip
