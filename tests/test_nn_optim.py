"""SGD and Adam trajectories against torch.optim over several steps, state files, bad settings.

Both sides start from the same random parameters and receive the same random gradients at every
step (one parameter sometimes gets none: both optimizers then skip it).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from convproof import nn
from test_nn_helpers import assert_close

STEPS = 6


def parameter_pair(torch, rng):
    """Our Parameters and PyTorch's leaf tensors with the same random values."""
    shapes = [(3, 4), (5,), (2, 3, 2)]
    ours = [nn.Parameter(rng.standard_normal(shape)) for shape in shapes]
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    return ours, theirs


def run_both(torch, rng, ours_optimizer, theirs_optimizer, ours, theirs, steps=STEPS):
    for step in range(steps):
        ours_optimizer.zero_grad()
        theirs_optimizer.zero_grad()
        for index, (p, t) in enumerate(zip(ours, theirs)):
            if index == 1 and step % 3 == 2:
                continue  # no gradient this step
            g = rng.standard_normal(p.shape)
            p.accumulate(g)
            t.grad = torch.tensor(g.copy())
        ours_optimizer.step()
        theirs_optimizer.step()
        for p, t in zip(ours, theirs):
            assert_close(p.data, t.detach())


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.01)])
def test_sgd_matches_torch(momentum, weight_decay, rng, torch):
    """The notes' v = mu v - lr g, w += v equals PyTorch's b = mu b + g, w -= lr b."""
    ours, theirs = parameter_pair(torch, rng)
    lr = float(rng.uniform(0.01, 0.2))
    run_both(torch, rng, nn.optim.SGD(ours, lr=lr, momentum=momentum, weight_decay=weight_decay),
             torch.optim.SGD(theirs, lr=lr, momentum=momentum, weight_decay=weight_decay),
             ours, theirs)


@pytest.mark.parametrize("betas, weight_decay", [((0.9, 0.999), 0.0), ((0.8, 0.99), 0.05)])
def test_adam_matches_torch(betas, weight_decay, rng, torch):
    ours, theirs = parameter_pair(torch, rng)
    lr, eps = float(rng.uniform(1e-3, 0.1)), float(rng.choice([1e-8, 1e-3]))
    run_both(torch, rng, nn.optim.Adam(ours, lr, betas, eps, weight_decay),
             torch.optim.Adam(theirs, lr, betas, eps, weight_decay), ours, theirs)


def test_adam_notes_variant_adds_eps_to_the_numerator(rng):
    """numerator_eps: w -= lr (mhat + eps)/(sqrt(vhat) + eps), written out here step by step."""
    w0 = rng.standard_normal(7)
    parameter = nn.Parameter(w0.copy())
    optimizer = nn.optim.Adam([parameter], lr=0.01, eps=0.1, numerator_eps=True)
    w, m, v = w0.copy(), np.zeros(7), np.zeros(7)
    for k in range(1, 5):
        g = rng.standard_normal(7)
        parameter.zero_grad()
        parameter.accumulate(g)
        optimizer.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        m_hat, v_hat = m / (1 - 0.9**k), v / (1 - 0.999**k)
        w = w - 0.01 * (m_hat + 0.1) / (np.sqrt(v_hat) + 0.1)
        assert_close(parameter.data, w)


def test_optimizer_state_round_trips_through_a_file(rng, tmp_path):
    """Stopping after 3 steps, saving, loading into a fresh optimizer, and resuming gives
    exactly the uninterrupted trajectory."""
    for build in (lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
                  lambda ps: nn.optim.Adam(ps, lr=0.05, betas=(0.7, 0.9))):
        start = rng.standard_normal((4, 3))
        grads = [rng.standard_normal((4, 3)) for _ in range(6)]
        straight, resumed = nn.Parameter(start.copy()), nn.Parameter(start.copy())
        first = build([straight])
        for g in grads:
            straight.zero_grad()
            straight.accumulate(g)
            first.step()
        second = build([resumed])
        for g in grads[:3]:
            resumed.zero_grad()
            resumed.accumulate(g)
            second.step()
        second.save(tmp_path / "optimizer.npz")
        third = build([resumed])
        third.lr = 123.0  # overwritten by the file
        third.load(tmp_path / "optimizer.npz")
        assert third.lr == second.lr
        for g in grads[3:]:
            resumed.zero_grad()
            resumed.accumulate(g)
            third.step()
        assert np.array_equal(resumed.data, straight.data)


def test_optimizer_zero_grad_and_float32_parameters(rng):
    parameter = nn.Parameter(rng.standard_normal(5).astype(np.float32))
    optimizer = nn.optim.Adam([parameter])
    parameter.accumulate(rng.standard_normal(5))
    optimizer.step()
    assert parameter.data.dtype == np.float32
    optimizer.zero_grad()
    assert parameter.grad is None


def test_loading_a_state_that_does_not_fit(rng):
    optimizer = nn.optim.SGD([nn.Parameter(rng.standard_normal(3))], lr=0.1, momentum=0.5)
    with pytest.raises(ValueError, match="state lacks the hyperparameter 'momentum'"):
        optimizer.load_state_dict({"lr": 0.1, "weight_decay": 0.0})
    state = {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.0}
    with pytest.raises(ValueError, match=r"state entry '4.velocity' is neither a "
                       r"hyperparameter of SGD \(lr, momentum, weight_decay\) nor a parameter's "
                       r"slot \('<index>.<slot>', 1 parameters\)"):
        optimizer.load_state_dict({**state, "4.velocity": np.ones(3)})
    with pytest.raises(ValueError, match=r"state\['0.velocity'\] has shape \(2,\)"):
        optimizer.load_state_dict({**state, "0.velocity": np.ones(2)})
    for bad, message in [
            ({"lr": -1.0}, re.escape("state: lr must be a number in [0.0, inf), got -1.0")),
            ({"lr": np.array("0.1")}, "state: lr must be a number .* got '0.1'"),
            ({"0.velocity": np.ones(3, complex)},
             r"must be a real array \(NumPy or CuPy\), got complex128"),
            ({"0.bogus": np.ones(3)}, "SGD keeps no slot 'bogus'"),
            ({"0.step": 2}, re.escape("SGD keeps no slot 'step' (it keeps velocity)")),
            ({7: np.ones(3)}, "state entry 7 is neither a hyperparameter"),
            ({"amsgrad": True}, "state entry 'amsgrad' is neither a hyperparameter of SGD")]:
        with pytest.raises(ValueError, match=message):
            optimizer.load_state_dict({**state, **bad})
        assert (optimizer.lr, optimizer.momentum) == (0.1, 0.5)  # nothing changed
    counts = rng.integers(1, 9, size=3).astype(np.uint8)  # a real array, as a model's load takes
    optimizer.load_state_dict({**state, "0.velocity": counts})
    velocity = optimizer.state_dict()["0.velocity"]
    assert velocity.dtype == np.float64 and np.array_equal(velocity, counts)
    adam = nn.optim.Adam([nn.Parameter(rng.standard_normal(3))])
    for bad in ({"betas": np.array([1.5, 2.0])}, {"numerator_eps": np.array("False")}):
        with pytest.raises(ValueError, match="state: (betas|numerator_eps)"):
            adam.load_state_dict({**adam.state_dict(), **bad})
    assert adam.betas == (0.9, 0.999) and adam.numerator_eps is False


def test_a_parameter_state_is_loaded_whole_or_not_at_all(rng):
    """Moments without their step count (or the reverse) would restart the bias correction
    at step 1 under moments of many steps: refused, naming what is missing."""
    parameters = [nn.Parameter(rng.standard_normal(3)), nn.Parameter(rng.standard_normal(2))]
    adam = nn.optim.Adam(parameters, lr=0.01)
    parameters[0].accumulate(rng.standard_normal(3))
    adam.step()
    state = adam.state_dict()
    assert {"0.step", "0.exp_avg", "0.exp_avg_sq"} <= set(state)
    assert not any(key.startswith("1.") for key in state)  # never updated: no state at all
    for missing in ("0.step", "0.exp_avg", "0.exp_avg_sq"):
        partial = {key: value for key, value in state.items() if key != missing}
        with pytest.raises(ValueError, match=re.escape(
                f"state of parameter 0 lacks ['{missing[2:]}']")):
            adam.load_state_dict(partial)
    with pytest.raises(ValueError, match="must be a non-negative int, got 2.7"):
        adam.load_state_dict({**state, "0.step": 2.7})
    adam.load_state_dict(state)
    assert adam.state[0]["step"] == 1


def test_a_gradient_of_another_shape_is_refused_by_step(rng):
    for build in (nn.optim.SGD, nn.optim.Adam):
        parameter = nn.Parameter(rng.standard_normal(4))
        optimizer = build([parameter], lr=0.1)
        before = parameter.data.copy()
        for grad in (rng.standard_normal(1), rng.standard_normal((2, 4))):
            parameter.grad = grad  # assigned past accumulate's check
            with pytest.raises(ValueError, match=re.escape(
                    f"params[0].grad has shape {grad.shape}, its parameter (4,)")):
                optimizer.step()
        assert np.array_equal(parameter.data, before)


def test_a_learning_rate_assigned_between_steps_is_checked(rng):
    optimizer = nn.optim.SGD([nn.Parameter(rng.standard_normal(3))], lr=0.1)
    optimizer.lr = np.float32(0.25)
    assert optimizer.lr == 0.25 and type(optimizer.lr) is float
    for bad in (-0.5, "0.1", float("nan")):
        with pytest.raises(ValueError, match=re.escape(f"lr must be a number in [0.0, inf), "
                                                       f"got {bad!r}")):
            optimizer.lr = bad
    assert optimizer.lr == 0.25


@pytest.mark.parametrize("build, error, message", [
    (lambda p: nn.optim.SGD(p, lr=-0.1), ValueError,
     re.escape("lr must be a number in [0.0, inf), got -0.1")),
    (lambda p: nn.optim.SGD(p, momentum="high"), ValueError,
     re.escape("momentum must be a number in [0.0, inf), got 'high'")),
    (lambda p: nn.optim.Adam(p, betas=(0.9, 1.0)), ValueError,
     re.escape("betas[1] must be a number in [0.0, 1.0), got 1.0")),
    (lambda p: nn.optim.Adam(p, betas=0.9), ValueError,
     re.escape("betas must be a pair (beta1, beta2), got 0.9")),
    (lambda p: nn.optim.Adam(p, numerator_eps=1), TypeError,
     "numerator_eps must be True or False, got 1"),
    (lambda p: nn.optim.Adam(p, numerator_eps=np.True_).numerator_eps is True and
     nn.optim.Adam(p, numerator_eps="yes"), TypeError,
     "numerator_eps must be True or False, got 'yes'"),
    (lambda p: nn.optim.SGD([], lr=0.1), ValueError, "params is empty"),
    (lambda p: nn.optim.SGD([np.ones(3)]), TypeError, r"params\[0\] must be a Parameter"),
    (lambda p: nn.optim.SGD(p + p), ValueError,
     re.escape("params[1] is params[0] again: it would be updated twice a step")),
])
def test_bad_optimizer_settings(build, error, message, rng):
    with pytest.raises(error, match=message):
        build([nn.Parameter(rng.standard_normal(3))])
