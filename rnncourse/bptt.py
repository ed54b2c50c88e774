"""Backpropagation through time by hand, in NumPy (float64).

Two ideas beyond ordinary backprop: **shared parameters accumulate** (U, W, b serve every
step, so ``dW += ...``, never ``dW = ...``), and **deltas add at a branch** (h(t) feeds
o(t) and h(t+1), so going backwards their two deltas add before flowing into step t).

The vanilla RNN (batch-first), ``params`` a dict of ``U (H, I)``, ``W (H, H)``, ``b (H,)``,
``V (O, H)``, ``b_o (O,)``::

    h(t) = tanh(U x(t) + W h(t-1) + b)  (or relu),  h(0) = 0 unless given,
    o(t) = V h(t) + b_o,  L = (1/B) sum_b sum_t loss(o(t), y(t))

``b`` is ``b_x + b_h`` of ``rnncourse.cells`` and torch (dL/db_x = dL/db_h = dL/db).
``dh`` is the total dL/dh(t) at step t, ``dh_prev`` what step t sends back to h(t-1).
Losses per step: ``"softmax"`` (cross-entropy) or ``"mse"`` (0.5 * ||o(t) - y(t)||^2).
The step functions are bare maths; the public functions check their inputs once.
"""

import numpy as np

from ._validation import check_array, check_choice, check_float, check_int

__all__ = [
    "init_params", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "truncated_rnn_backward", "numerical_gradient", "relative_error", "gradient_check",
    "input_sensitivity"
]  # fmt: skip

RNN_PARAMS = ("U", "W", "b", "V", "b_o")


def get_params(params, keys, what: str) -> dict[str, np.ndarray]:
    """``params`` checked to hold float arrays under ``keys``, as float64 (a ``what``)."""
    if not isinstance(params, dict):
        raise TypeError(
            f"params must be a dict with keys {', '.join(keys)} ({what}), "
            f"got {type(params).__name__}."
        )
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(
            f"params is missing {', '.join(repr(k) for k in missing)}; a {what} needs "
            f"{', '.join(repr(k) for k in keys)}. Build one with init_params(...)."
        )
    return {k: check_array(params[k], f"params[{k!r}]").astype(np.float64) for k in keys}


def _check_inputs(params, x, h0, nonlinearity: str):
    """Checked float64 copies ``(params, x (B, T, I), h0 (B, H))``; zeros for h0=None."""
    check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
    p = get_params(params, RNN_PARAMS, "vanilla RNN with readout")
    H, I = check_array(p["U"], "params['U']", ("H", "I")).shape
    check_array(p["W"], "params['W']", (H, H), hint="W is (H, H), H = params['U'].shape[0].")
    check_array(p["b"], "params['b']", (H,))
    O = check_array(p["V"], "params['V']", ("O", H), hint="V is (O, H).").shape[0]
    check_array(p["b_o"], "params['b_o']", (O,))
    hint = f"x is (batch, time, {I}) for U of shape {(H, I)}."
    x = check_array(x, "x", ("B", "T", I), hint=hint).astype(np.float64)
    h0 = np.zeros((x.shape[0], H)) if h0 is None else h0
    hint = "h0 is (batch, hidden) or None for zeros."
    return p, x, check_array(h0, "h0", (x.shape[0], H), hint=hint).astype(np.float64)


def _check_targets(targets, loss: str, batch: int, steps: int, O: int, outputs: str):
    per = (batch, steps) if outputs == "every" else (batch,)  # one target per loss step
    if loss == "mse":
        hint = "MSE targets have one row per output o(t)."
        return check_array(targets, "targets", (*per, O), hint=hint)
    if not isinstance(targets, np.ndarray) or not np.issubdtype(targets.dtype, np.integer):
        got = targets.dtype if isinstance(targets, np.ndarray) else type(targets).__name__
        raise TypeError(
            f"softmax targets must be an integer numpy array of class indices, got {got}. "
            f"Use np.asarray(targets, dtype=np.int64)."
        )
    if targets.shape != per:
        raise ValueError(f"targets must have shape {per} (a class index per loss step), "
                         f"got {targets.shape}.")  # fmt: skip
    if targets.min() < 0 or targets.max() >= O:
        raise ValueError(
            f"targets must be class indices in [0, {O - 1}] (O = params['V'].shape[0]"
            f" = {O}), got values from {targets.min()} to {targets.max()}."
        )
    return targets


def _check_cache(cache) -> dict:
    if not isinstance(cache, dict) or "steps" not in cache or "loss_steps" not in cache:
        raise TypeError(
            f"cache must be the dict returned by rnn_forward(...), got {type(cache).__name__}. "
            f"Call: loss, cache = rnn_forward(params, x, targets)."
        )
    return cache


def rnn_step_forward(x_t, h_prev, params, nonlinearity: str = "tanh"):
    """One step h(t) = act(U x(t) + W h(t-1) + b), without input checks.
    ``x_t``: x(t) (B, I); ``h_prev``: h(t-1) (B, H); ``params``: U (H, I), W (H, H),
    b (H,) float64 (other keys ignored); ``nonlinearity``: ``"tanh"`` or ``"relu"``.
    Returns h(t) (B, H) and a cache for :func:`rnn_step_backward`."""
    U, W = params["U"], params["W"]
    a = x_t @ U.T + h_prev @ W.T + params["b"]  # pre-activation, (B, H)
    h_t = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
    return h_t, (x_t, h_prev, a, h_t, U, W, nonlinearity)


def rnn_step_backward(dh, cache):
    """Backward through one step of :func:`rnn_step_forward`, without input checks.
    ``dh``: the total dL/dh(t) (B, H). Returns ``(dx, dh_prev, dU, dW, db)`` of shapes
    (B, I), (B, H), (H, I), (H, H), (H,): ``dh_prev`` goes back to h(t-1); the rest is
    this step's contribution only (the caller sums them over steps)."""
    x_t, h_prev, a, h_t, U, W, nonlinearity = cache
    if nonlinearity == "tanh":
        da = dh * (1.0 - h_t**2)  # tanh'(a) = 1 - tanh(a)^2
    else:
        da = dh * (a > 0)  # relu'(a) = 1 where a > 0
    return da @ U, da @ W, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)


def _run_steps(p, x, h, nonlinearity: str):
    """The states (B, T, H) and step caches of the RNN over checked inputs."""
    hs, steps = np.zeros((*x.shape[:2], h.shape[1])), []
    for t in range(x.shape[1]):
        h, step_cache = rnn_step_forward(x[:, t], h, p, nonlinearity)
        hs[:, t] = h
        steps.append(step_cache)
    return hs, steps


def _loss_and_grad(o, targets, loss: str, batch: int):
    """Summed per-step loss and dL/do for outputs o of shape (B, S, O)."""
    if loss == "softmax":
        z = o - o.max(axis=-1, keepdims=True)  # shift for numerical stability
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        y = targets.reshape(batch, -1)
        total = -np.take_along_axis(logp, y[..., None], axis=-1).sum() / batch
        one_hot = y[..., None] == np.arange(o.shape[-1])
        return total, (np.exp(logp) - one_hot) / batch  # dloss/do = softmax(o) - one_hot(y)
    diff = o - targets.reshape(o.shape)
    return 0.5 * (diff**2).sum() / batch, diff / batch


def rnn_forward(
    params, x, targets, h0=None, *, loss="softmax", outputs="every", nonlinearity="tanh"
):
    """Run the RNN over a sequence and compute the total loss.

    ``params``: U (H, I), W (H, H), b (H,), V (O, H), b_o (O,); ``x``: inputs (B, T, I);
    ``h0``: initial state (B, H), zeros when None; ``targets``: with ``loss="softmax"``
    integer class indices (B, T), or (B,) with ``outputs="last"`` (many-to-one; default
    ``"every"``: a loss at every step, summed); with ``loss="mse"`` floats (B, T, O), or
    (B, O) with ``outputs="last"``; ``nonlinearity``: ``"tanh"`` or ``"relu"``.
    Returns ``(loss, cache)``: the scalar L = (1/B) sum over batch and loss steps, and a
    cache for :func:`rnn_backward`, with the states ``cache["h"]`` (B, T, H) and the
    outputs ``cache["o"]`` (B, S, O) at the S steps with a loss.
    """
    check_choice(loss, "loss", ("softmax", "mse"))
    check_choice(outputs, "outputs", ("every", "last"))
    p, x, h0 = _check_inputs(params, x, h0, nonlinearity)
    B, T, _ = x.shape
    targets = _check_targets(targets, loss, B, T, p["V"].shape[0], outputs)
    hs, steps = _run_steps(p, x, h0, nonlinearity)
    loss_steps = list(range(T)) if outputs == "every" else [T - 1]
    o = hs[:, loss_steps] @ p["V"].T + p["b_o"]  # (B, S, O)
    total, do = _loss_and_grad(o, targets, loss, B)
    cache = dict(params=p, x=x, h0=h0, h=hs, o=o, do=do, loss_steps=loss_steps, steps=steps)
    return float(total), cache


def _readout_backward(cache, t, grads, dh_prev):
    """dL/dh(t): step t's readout delta V^T dL/do(t) plus ``dh_prev``, what step t+1 sent
    back; adds the readout's V, b_o gradients to grads."""
    if t not in cache["loss_steps"]:
        return dh_prev
    do_t = cache["do"][:, cache["loss_steps"].index(t)]  # (B, O)
    grads["V"] += do_t.T @ cache["h"][:, t]  # the readout is shared too: +=
    grads["b_o"] += do_t.sum(axis=0)
    return dh_prev + do_t @ cache["params"]["V"]


def rnn_backward(cache):
    """Full backpropagation through time, from the ``cache`` of :func:`rnn_forward`.
    Returns ``(grads, dh)``: ``grads`` maps "U", "W", "b", "V", "b_o" to dL/d(parameter)
    (of the parameter's shape); ``dh`` (B, T, H) holds the total dL/dh(t) at every step:
    this step's loss plus everything that flows back from later steps."""
    p = _check_cache(cache)["params"]
    B, T, H = cache["h"].shape
    grads = {k: np.zeros_like(v) for k, v in p.items()}  # start every gradient at zero
    dh = np.zeros((B, T, H))
    dh_prev = np.zeros((B, H))  # what step t+1 sent back to h(t): nothing after the last
    for t in reversed(range(T)):
        # Branch at h(t): dL/dh(t) = V^T dL/do(t) + (what step t+1 sent back).
        dh[:, t] = _readout_backward(cache, t, grads, dh_prev)
        _, dh_prev, dU, dW, db = rnn_step_backward(dh[:, t], cache["steps"][t])
        # U, W, b are the same arrays at every step: ACCUMULATE with +=.
        grads["U"] += dU
        grads["W"] += dW
        grads["b"] += db
    return grads, dh


def truncated_rnn_backward(cache, k: int):
    """Truncated BPTT with window ``k >= 1``, from the ``cache`` of :func:`rnn_forward`.

    The loss at step t reaches the parameters through steps t, t-1, ..., t-k+1 only, as
    if h(t-k) were a constant (in torch: loss t computed from ``h[t-k].detach()``); k >= T
    is full BPTT, and the readout V, b_o is not affected. Returns ``(grads, dh)`` like
    :func:`rnn_backward`, where ``dh[:, s]`` sums the truncated deltas that reach h(s)
    (from the losses at steps s .. s+k-1).
    """
    k = check_int(k, "k", min_value=1)
    p = _check_cache(cache)["params"]
    B, T, H = cache["h"].shape
    grads = {name: np.zeros_like(v) for name, v in p.items()}
    dh = np.zeros((B, T, H))
    for t in cache["loss_steps"]:
        dh_loss = _readout_backward(cache, t, grads, np.zeros((B, H)))  # loss t alone
        for s in range(t, max(t - k, -1), -1):  # steps t, t-1, ..., t-k+1
            dh[:, s] += dh_loss
            _, dh_loss, dU, dW, db = rnn_step_backward(dh_loss, cache["steps"][s])
            grads["U"] += dU
            grads["W"] += dW
            grads["b"] += db
        # Whatever is left here would reach h(t-k): truncation drops it.
    return grads, dh


def numerical_gradient(f, x, eps: float = 1e-6):
    """Central-difference gradient of a scalar function with respect to every entry of x.

    Each ``x[i]`` is set to ``x[i] + eps`` and ``x[i] - eps`` in place for ``f(x)`` (a
    scalar) and then restored, so ``f`` may read ``x`` (a float array of any shape) through
    a closure: ``numerical_gradient(lambda _: rnn_forward(params, x, y)[0], params["W"])``.
    Returns an array of x's shape: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) per entry.
    """
    check_array(x, "x")
    eps = check_float(eps, "eps", min_value=0.0, strict_min=True)
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = float(f(x))
        x[i] = old - eps
        grad[i] = (f_plus - float(f(x))) / (2 * eps)
        x[i] = old  # restore
    return grad


def relative_error(a, n) -> float:
    """Largest entry-wise relative error ``|a - n| / max(1e-8, |a| + |n|)``: the floor
    measures entries where both are (near) zero absolutely, in units of 1e-8."""
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"a and n must have the same shape, got {a.shape} and {n.shape}.")
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n)), initial=0.0))


def gradient_check(params, x, targets, h0=None, *, eps: float = 1e-6, **forward_kwargs):
    """Compare :func:`rnn_backward` with central differences for every parameter.

    ``params, x, targets, h0`` (not modified) and ``**forward_kwargs`` (``loss``,
    ``outputs``, ``nonlinearity``) are :func:`rnn_forward`'s; ``eps`` is the step. Returns
    a dict of the largest :func:`relative_error` over each parameter's entries, by name:
    below about 1e-7 the two agree (with relu, a pre-activation within eps of 0 can give
    a large error that is a kink, not a bug).
    """
    _, cache = rnn_forward(params, x, targets, h0, **forward_kwargs)
    grads, _ = rnn_backward(cache)
    p = {k: v.copy() for k, v in cache["params"].items()}  # nudged in place below

    def loss(_):
        return rnn_forward(p, x, targets, h0, **forward_kwargs)[0]

    return {k: relative_error(grads[k], numerical_gradient(loss, p[k], eps)) for k in RNN_PARAMS}


def input_sensitivity(params, x, h0=None, *, nonlinearity: str = "tanh"):
    """How strongly each output depends on each input: ||do(t)/dx(s)|| for all steps t, s.

    BPTT's backward pass from one output o(t) at a time, keeping the delta ``dx`` that
    reaches each x(s) (T^2 O backward steps). Arguments as :func:`rnn_forward`'s. Returns
    S (B, T, T): ``S[n, t, s]`` is the Frobenius norm of the (O, I) Jacobian do(t)/dx(s)
    of sequence n, zero for s > t (no output sees a later input).
    """
    p, x, h0 = _check_inputs(params, x, h0, nonlinearity)
    B, T, I = x.shape
    _, steps = _run_steps(p, x, h0, nonlinearity)
    jac = np.zeros((B, T, p["V"].shape[0], T, I))  # [n, t, j, s, i] = do_j(t)/dx_i(s)
    for t in range(T):
        for j, v_j in enumerate(p["V"]):
            dh = np.broadcast_to(v_j, (B, h0.shape[1]))  # do_j(t)/dh(t) = row j of V
            for s in range(t, -1, -1):
                jac[:, t, j, s], dh, *_ = rnn_step_backward(dh, steps[s])
    return np.sqrt((jac**2).sum(axis=(2, 4)))


def init_params(input_size: int, hidden_size: int, output_size: int, *, seed=None):
    """Random float64 parameters for the vanilla RNN with readout.
    Sizes I, H, O; entries normal with standard deviation 1/sqrt(fan_in) (fan_in = I for
    U, H for W and V), biases zero; ``seed``: an int, ``np.random.Generator`` or None.
    Returns a dict with U (H, I), W (H, H), b (H,), V (O, H), b_o (O,)."""
    I = check_int(input_size, "input_size", min_value=1)
    H = check_int(hidden_size, "hidden_size", min_value=1)
    O = check_int(output_size, "output_size", min_value=1)
    rng = np.random.default_rng(seed)
    U, W = rng.normal(size=(H, I)) / np.sqrt(I), rng.normal(size=(H, H)) / np.sqrt(H)
    return {"U": U, "W": W, "b": np.zeros(H), "V": rng.normal(size=(O, H)) / np.sqrt(H),
            "b_o": np.zeros(O)}  # fmt: skip
