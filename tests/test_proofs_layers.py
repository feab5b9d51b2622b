"""The "Layers and training" theorems: catalog levels, killed mutants, the shape of the exported
claims, the claims evaluated exactly at random points, and the statements against PyTorch."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import sympy
from sympy import Rational, log

from convproof.catalog import module_name
from convproof.symbolic import load
from convproof.symbolic.language import Partial
from convproof.symbolic.rules import unfold_all
from convproof.symbolic.operators_layers import Values, evaluated, exact_value
from convproof.symbolic.rules_expectation import FiniteLaw

HALF = (Rational(1, 2), Rational(1, 2))


def proof(theorem_id: str):
    return importlib.import_module(f"convproof.proofs.{module_name(theorem_id)}")


def holds(claim, point: Values) -> None:
    """The claim is decided true (not merely undecided) at the point."""
    evidence = evaluated(claim, [point])
    assert evidence.ok and evidence.message.startswith("exact"), evidence.message


def small(rng, low=-9, high=10) -> int:
    return int(rng.integers(low, high))


# --------------------------------------------------------------------------------------------
# The exported claims
# --------------------------------------------------------------------------------------------

def test_batchnorm_claims():
    bn = proof("batchnorm")
    assert set(load("batchnorm").claims) == {"input gradient", "scale gradient", "shift gradient",
                                              "the notes' form", "folding"}
    assert isinstance(bn.INPUT.lhs, Partial) and bn.INPUT.lhs.args[1] == bn.x[bn.c1, bn.i1]
    assert bn.INPUT.rhs.has(bn.xhat[bn.c, bn.i1], bn.inv_std[bn.c], bn.same)
    assert set(bn.FOLD.indices) == set(bn.OUTPUT) and len(bn.NOTES.hypotheses) == 2


def test_layer_claims():
    dropout, init = proof("dropout-expectation"), proof("init-variance")
    assert dropout.MEAN.rhs == dropout.x[dropout.j]
    assert init.KEEPS.hypotheses == (init.HE,) and init.AVERAGE.hypotheses == (init.XAVIER,)
    assert init.FAN_IN.rhs == init.c_in * init.k_h * init.k_w
    adam, softmax = proof("adam-bias-correction"), proof("softmax-xent-gradient")
    assert adam.MEAN.rhs == (1 - adam.mu ** adam.k) * adam.g_mean
    assert softmax.GRADIENT.hypotheses == (softmax.NORMALIZED,)
    assert set(load("activation-derivatives").claims) == {"relu", "subgradients at 0", "sigmoid",
                                                           "tanh"}
    layers = proof("layer-equivariance")
    assert layers.AFTER.hypotheses == (layers.EQUIVARIANT_BELOW, layers.UNIT_STRIDE)
    assert {"no layers", "a layer after an equivariant map"} <= set(load(
        "layer-equivariance").claims)


def test_a_layer_after_an_equivariant_map_needs_that_hypothesis():
    """The induction step is refused without its hypothesis: the step that moves the entries
    of z' has nothing to stand on."""
    from dataclasses import replace

    from convproof.symbolic import universal
    layers = proof("layer-equivariance")
    derivation = layers._after(layers.AFTER, layers.EQUIVARIANT_BELOW)
    assert universal(layers.AFTER, derivation).ok
    bare = replace(layers.AFTER, hypotheses=(layers.UNIT_STRIDE,))
    assert not universal(bare, derivation).ok


# --------------------------------------------------------------------------------------------
# The claims at random points, evaluated exactly (an oracle independent of the rules)
# --------------------------------------------------------------------------------------------

def test_batchnorm_at_a_random_point(rng):
    bn = proof("batchnorm")
    count = int(rng.integers(2, 4))
    values = [small(rng) for _ in range(count)]
    mean = Rational(sum(values), count)
    spread = sum((v - mean) ** 2 for v in values) / count
    root = math.isqrt(int(spread)) + 1  # σ² + ε a perfect square: r is rational
    at = {bn.M: count, bn.c: 0, bn.c1: 0, bn.i1: int(rng.integers(0, count)),
          bn.eps: root ** 2 - spread}
    entries = {"x": {(0, t): v for t, v in enumerate(values)},
               "g": {(0, t): small(rng) for t in range(count)},
               "gamma": {(0,): small(rng)}, "beta": {(0,): small(rng)}}
    for claim in (bn.INPUT, bn.SCALE, bn.SHIFT):
        holds(claim, Values(at, entries))


def test_dropout_at_a_random_point(rng):
    dropout = proof("dropout-expectation")
    p = Rational(small(rng, 1, 9), 10)
    point = Values({dropout.p: p, dropout.j: 0}, {"x": {(0,): small(rng)}},
                   {"m": FiniteLaw((0, 1), (p, 1 - p))})
    holds(dropout.MEAN, point)
    holds(dropout.SPREAD, point)


def test_init_variance_at_a_random_point(rng):
    init = proof("init-variance")
    a, b, c = (small(rng, 1, 4) for _ in range(3))
    fan_in = int(rng.integers(1, 3))
    laws = {"w": FiniteLaw((-a, a), HALF), "x": FiniteLaw((b, -c), HALF),
            "z": FiniteLaw((-c, c), HALF)}
    point = Values({init.n_in: fan_in, init.s2: a ** 2, init.q: Rational(b * b + c * c, 2),
                    init.v: c ** 2}, laws=laws)
    for claim in (init.MEAN, init.LINEAR, init.RELU):
        holds(claim, point)
    he = Values({init.n_in: 2, init.v: c ** 2},
                laws={"w": FiniteLaw((-1, 1), HALF), "z": FiniteLaw((-c, c), HALF)})
    holds(init.KEEPS, he)


def test_adam_at_a_random_point(rng):
    adam = proof("adam-bias-correction")
    low, high = small(rng), small(rng)
    mu = Rational(small(rng, 1, 10), 10)
    point = Values({adam.mu: mu, adam.rho: mu, adam.k: int(rng.integers(1, 4)),
                    adam.g_mean: Rational(low + high, 2),
                    adam.g_square: Rational(low ** 2 + high ** 2, 2)},
                   laws={"g": FiniteLaw((low, high), HALF)})
    for claim in (adam.MEAN, adam.UNBIASED, adam.SECOND):
        holds(claim, point)


def test_activations_at_random_points(rng):
    act = proof("activation-derivatives")
    at = {act.j: 0, act.j1: 0}
    nonzero = Rational(small(rng, 1), 3) * (-1) ** small(rng, 0, 2)
    holds(act.RELU, Values(at, {"x": {(0,): nonzero}}))
    holds(act.SUBGRADIENT, Values({**at, act.slope: Rational(small(rng), 7)},
                                  {"x": {(0,): Rational(small(rng), 5)}}))
    for claim in (act.SIGMOID, act.TANH):
        holds(claim, Values(at, {"x": {(0,): log(small(rng, 1, 9))}}))


def test_softmax_at_a_random_point(rng):
    sm = proof("softmax-xent-gradient")
    count = int(rng.integers(1, 4))
    weights = [small(rng, 1, 6) for _ in range(count)]
    targets = {(t,): Rational(w, sum(weights)) for t, w in enumerate(weights)}
    point = Values({sm.K: count, sm.k: int(rng.integers(0, count)),
                    sm.shift: log(small(rng, 1, 5))},
                   {"z": {(t,): log(small(rng, 1, 6)) for t in range(count)}, "y": targets})
    for claim in (sm.GENERAL, sm.GRADIENT, sm.SHIFTED):
        holds(claim, point)


# --------------------------------------------------------------------------------------------
# The statements against PyTorch (float64)
# --------------------------------------------------------------------------------------------

def test_batchnorm_backward_matches_torch(rng, torch):
    bn = proof("batchnorm")
    x = rng.normal(size=(2, 1, 1, 2))
    g = rng.normal(size=x.shape)
    gamma, beta, eps = rng.normal(), rng.normal(), 0.1
    tx = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.batch_norm(tx, None, None, torch.tensor([gamma], dtype=torch.float64),
                                         torch.tensor([beta], dtype=torch.float64), training=True,
                                         eps=eps)
    (out * torch.tensor(g)).sum().backward()
    flat = lambda a: {(0, t): sympy.Float(v, 20) for t, v in enumerate(a.reshape(-1))}  # noqa: E731
    entries = {"x": flat(x), "g": flat(g), "gamma": {(0,): gamma}, "beta": {(0,): beta}}
    mine = [float(exact_value(bn.INPUT.rhs, Values(
        {bn.M: x.size, bn.c: 0, bn.c1: 0, bn.i1: t, bn.eps: sympy.Float(eps, 20)}, entries)))
        for t in range(x.size)]
    np.testing.assert_allclose(mine, tx.grad.numpy().reshape(-1), rtol=1e-10, atol=1e-12)


def test_softmax_cross_entropy_gradient_matches_torch(rng, torch):
    sm = proof("softmax-xent-gradient")
    z = rng.normal(size=4)
    y = rng.random(4)
    y /= y.sum()
    tz = torch.tensor(z, requires_grad=True)
    torch.nn.functional.cross_entropy(tz[None], torch.tensor(y)[None], reduction="sum").backward()
    entries = {"z": {(t,): sympy.Float(v, 20) for t, v in enumerate(z)},
               "y": {(t,): sympy.Float(v, 20) for t, v in enumerate(y)}}
    mine = [float(exact_value(sm.GRADIENT.rhs, Values({sm.K: 4, sm.k: t}, entries)))
            for t in range(4)]
    np.testing.assert_allclose(mine, tz.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_activation_derivatives_match_torch(rng, torch):
    act = proof("activation-derivatives")
    points = np.concatenate([rng.normal(size=3), [0.0]])
    for claim, function in ((act.SIGMOID, torch.sigmoid), (act.TANH, torch.tanh),
                            (act.RELU, torch.relu)):
        tx = torch.tensor(points, requires_grad=True)
        function(tx).sum().backward()
        mine = [float(exact_value(claim.rhs, Values({act.j: 0, act.j1: 0},
                                                    {"x": {(0,): sympy.Float(v, 20)}})))
                for v in points]
        np.testing.assert_allclose(mine, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_adam_standard_update_matches_torch(rng, torch):
    adam = proof("adam-bias-correction")
    mu, rho, eta, eps = 0.9, 0.99, 0.01, 1e-8
    gradients = rng.normal(size=3)
    weight = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([weight], lr=eta, betas=(mu, rho), eps=eps)
    plain = sympy.IndexedBase("gd")
    entries = {"gd": {(t + 1,): sympy.Float(v, 20) for t, v in enumerate(gradients)}}
    expected = 0.0
    for step, gradient in enumerate(gradients, start=1):
        optimizer.zero_grad()
        (weight * float(gradient)).sum().backward()
        optimizer.step()
        values = {adam.mu: sympy.Float(mu, 20), adam.rho: sympy.Float(rho, 20)}
        moments = [exact_value(unfold_all(hat[step]).xreplace({adam.grad.base: plain}),
                               Values(values, entries))
                   for hat in (adam.first_hat, adam.second_hat)]
        expected -= eta * float(moments[0]) / (math.sqrt(float(moments[1])) + eps)
        assert weight.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_fans_and_gains_match_torch(rng, torch):
    init = proof("init-variance")
    shape = tuple(int(s) for s in rng.integers(1, 6, size=4))
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    sizes = {init.c_out: shape[0], init.c_in: shape[1], init.k_h: shape[2], init.k_w: shape[3]}
    assert (fan_in, fan_out) == (init.FAN_IN.rhs.subs(sizes), init.FAN_OUT.rhs.subs(sizes))
    assert torch.nn.init.calculate_gain("relu") ** 2 == pytest.approx(2)  # He: σ² = 2/fan_in


def test_dropout_scale_matches_torch(rng, torch):
    dropout = proof("dropout-expectation")
    p, x = 0.3, torch.tensor(rng.normal(size=64) + 5.0)
    kept = torch.nn.functional.dropout(x, p=p, training=True)
    scale = float(dropout.y.definition(0).subs({dropout.mask[0]: 1, dropout.x[0]: 1,
                                                dropout.p: Rational(3, 10)}))
    survivors = kept != 0
    np.testing.assert_allclose(kept[survivors].numpy(), (x[survivors] * scale).numpy(), rtol=1e-12)
