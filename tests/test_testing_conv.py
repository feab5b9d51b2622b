"""convproof.testing on convolutions: correct loop implementations pass on random specs, and
deliberately faulty ones (every fault of the family, and pairs) are refused with the fault named.

The implementations here are written from the sum definitions as plain loops over channels and
kernel taps (NumPy only for the padding and the strided positions), each fault a switch at the
place where the real mistake would be made.
"""

from __future__ import annotations

import itertools
import re
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.testing import EquivalenceError
from convproof.testing.compare import lower_precision
from strategies import conv_cases

NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}


def _per_axis(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def _pairs(padding, dims):
    """Padding as (lo, hi) per axis from an int, a per-axis tuple or pairs."""
    return [tuple(p) if isinstance(p, (tuple, list)) else (p, p)
            for p in _per_axis(padding, dims)]


def _positions(start, count, step):
    return slice(start, start + step * (count - 1) + 1, step)


def loop_conv(x, w, b, *, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
              faults=()):
    """y[n, o, i] = b[o] + sum_c sum_m w[o, c, m] x_pad[n, g*Ci + c, s*i + d*m], with faults."""
    dims = w.ndim - 2
    kernel = w.shape[2:]
    s, d = _per_axis(stride, dims), _per_axis(dilation, dims)
    pads = _pairs(padding, dims)
    if "stride ignored" in faults:
        s = (1,) * dims
    if "stride axes" in faults:
        s = s[::-1]
    if "stride dilation swapped" in faults:
        s, d = d, s
    if "dilation ignored" in faults:
        d = (1,) * dims
    if "dilation plus one" in faults:
        d = tuple(v + 1 for v in d)
    if "padding ignored" in faults:
        pads = [(0, 0)] * dims
    if "padding start" in faults:
        pads = [(lo + 1, hi) for lo, hi in pads]
    if "padding end" in faults:
        pads = [(lo, hi + 1) for lo, hi in pads]
    if "padding shifted" in faults:
        pads = [(lo + 1, hi - 1) for lo, hi in pads]
    mode = "zeros" if "padding zeros" in faults else padding_mode
    xp = np.pad(x, [(0, 0), (0, 0), *pads], mode=NUMPY_MODES[mode])
    span = [dd * (k - 1) + 1 for k, dd in zip(kernel, d)]
    out = [(n - e) // ss + 1 for n, e, ss in zip(xp.shape[2:], span, s)]
    if "ceil" in faults:
        out = [-(-(n - e) // ss) + 1 for n, e, ss in zip(xp.shape[2:], span, s)]
        xp = np.pad(xp, [(0, 0), (0, 0)] + [(0, ss) for ss in s])
    if "short" in faults:
        out = [o - 1 for o in out]
    step = (1,) * dims if "stride in index" in faults else s
    if "stride in index" in faults:
        out = [(n - e) // ss + 1 for n, e, ss in zip(xp.shape[2:], span, s)]
    c_in, c_out = x.shape[1], w.shape[0]
    ci, co = c_in // groups, c_out // groups
    y = np.zeros((x.shape[0], c_out, *out), dtype=x.dtype)
    for o in range(c_out):
        g, row = o // co, o  # the group of output channel o, and its weight row
        if "output groups interleaved" in faults:
            g, row = o % groups, (o % groups) * co + o // groups
        for c in range(ci):
            source = g * ci + c
            if "groups reversed" in faults:
                source = (groups - 1 - g) * ci + c
            if "groups interleaved" in faults:
                source = c * groups + g
            for m in itertools.product(*(range(k) for k in kernel)):
                tap = tuple(k - 1 - mm for mm, k in zip(m, kernel)) if "flip" in faults else m
                if "flip last axis" in faults:
                    tap = (*tap[:-1], kernel[-1] - 1 - tap[-1])
                if "transpose" in faults:
                    tap = tap[::-1]
                if "channels" in faults:
                    weight = w[(g * co + c, row - g * co, *tap)]
                else:
                    weight = w[(row, c, *tap)]
                window = tuple(_positions(dd * mm, oo, ss)
                               for dd, mm, oo, ss in zip(d, m, out, step))
                y[:, o] += weight * xp[(slice(None), source, *window)]
        if b is not None and "bias missing" not in faults:
            y[:, o] += b[row] * (2 if "bias twice" in faults else 1)
    return y


def loop_conv_transpose(x, w, b, *, stride=1, padding=0, output_padding=0, groups=1,
                        dilation=1, faults=()):
    """z[n, g*Co + o, s*i + d*m] += w[g*Ci + c, o, m] x[n, g*Ci + c, i], cropped by the
    padding (zeros), plus the bias; x (N, C_in, *m) and w (C_in, C_out/G, *k) as PyTorch."""
    dims = w.ndim - 2
    kernel = w.shape[2:]
    s, d = _per_axis(stride, dims), _per_axis(dilation, dims)
    a = (0,) * dims if "output_padding ignored" in faults else _per_axis(output_padding, dims)
    pads = _pairs(padding, dims)
    if "padding end" in faults:
        pads = [(lo, hi + 1) for lo, hi in pads]
    full = [(m - 1) * ss + dd * (k - 1) + 1 + aa
            for m, ss, dd, k, aa in zip(x.shape[2:], s, d, kernel, a)]
    c_in, co = x.shape[1], w.shape[1]
    ci = c_in // groups
    z = np.zeros((x.shape[0], co * groups, *full), dtype=x.dtype)
    for c in range(c_in):
        g = c // ci
        for o in range(co):
            for m in itertools.product(*(range(k) for k in kernel)):
                tap = tuple(k - 1 - mm for mm, k in zip(m, kernel)) if "flip" in faults else m
                weight = w[(g * ci + o, c - g * ci, *tap)] if "channels" in faults else \
                    w[(c, o, *tap)]
                window = tuple(_positions(dd * mm, n, ss)
                               for dd, mm, n, ss in zip(d, m, x.shape[2:], s))
                z[(slice(None), g * co + o, *window)] += weight * x[:, c]
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(pads, full))
    y = z[(slice(None), slice(None), *crop)]
    return y if b is None else y + b.reshape((-1,) + (1,) * dims)


def loop_conv_backward(x, w, grad_y, *, stride=1, padding=0, dilation=1, groups=1, faults=()):
    """grad_x_pad[n, g*Ci + c, s*i + d*m] += w[o, c, m] g[n, o, i] (cropped),
    grad_w[o, c, m] = sum_n sum_i g[n, o, i] x_pad[n, g*Ci + c, s*i + d*m]; zero padding."""
    dims = w.ndim - 2
    kernel = w.shape[2:]
    s, d = _per_axis(stride, dims), _per_axis(dilation, dims)
    pads = _pairs(padding, dims)
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    grad_xp, grad_w = np.zeros_like(xp), np.zeros_like(w)
    c_out, ci = w.shape[0], w.shape[1]
    co = c_out // groups
    for o in range(c_out):
        g = o // co
        for c in range(ci):
            for m in itertools.product(*(range(k) for k in kernel)):
                window = tuple(_positions(dd * mm, n, ss)
                               for dd, mm, n, ss in zip(d, m, grad_y.shape[2:], s))
                tap = tuple(k - 1 - mm for mm, k in zip(m, kernel)) \
                    if "grad_x flip" in faults else m
                weight = w[(g * co + c, o - g * co, *tap)] if "grad_x channels" in faults else \
                    w[(o, c, *tap)]
                grad_xp[(slice(None), g * ci + c, *window)] += weight * grad_y[:, o]
                grad_w[(o, c, *m)] = np.sum(grad_y[:, o] * xp[(slice(None), g * ci + c, *window)])
    keep = [n - (n + lo + hi - dd * (k - 1) - 1) % ss if "grad_x output_padding" in faults else n
            for n, (lo, hi), dd, k, ss in zip(x.shape[2:], pads, d, kernel, s)]
    grad_x = grad_xp[(slice(None), slice(None),
                      *(slice(lo, lo + n) for (lo, _), n in zip(pads, keep)))]
    if "grad_w flip" in faults:
        grad_w = grad_w[(Ellipsis, *(slice(None, None, -1),) * dims)]
    if "grad_w mean" in faults:
        grad_w = grad_w / x.shape[0]
    if "grad_w channels" in faults:  # computed as (C_in, C_out/G, ...), group by group
        blocks = grad_w.reshape(groups, co, *grad_w.shape[1:])
        grad_w = blocks.swapaxes(1, 2).reshape(grad_w.shape)
    return grad_x, grad_w


def with_options(function, **options):
    return lambda *arrays: function(*arrays, **options)


def refused(check, function, pattern, **options):
    """The check fails on ``function`` with a message matching ``pattern``; returns it."""
    with pytest.raises(EquivalenceError, match=pattern) as failure:
        check(function, **options)
    return str(failure.value)


# --------------------------------------------------------------------------------------------
# Correct implementations pass
# --------------------------------------------------------------------------------------------

def _case_options(case):
    s = case.spec
    return dict(stride=s.stride, padding=s.pads(case.size), dilation=s.dilation, groups=s.groups)


@settings(max_examples=40)
@given(case=conv_cases())
def test_a_correct_loop_convolution_passes_on_random_specs(case):
    options = _case_options(case) | dict(padding_mode=case.spec.padding_mode)
    check = cp.testing.CHECKS[f"conv{case.dims}d"]
    result = check(with_options(loop_conv, **options), kernel_size=case.spec.kernel_size,
                   seed=case.seed, trials=2, **options)
    assert result.calls == 16 and result.worst_error <= result.tolerance == 1e-10


@settings(max_examples=25)
@given(case=conv_cases(modes=("zeros",), output_padding=True))
def test_a_correct_loop_transposed_convolution_passes_on_random_specs(case):
    s = case.spec
    assume(all(a < st for a, st in zip(s.output_padding, s.stride)))  # PyTorch's own bound
    options = _case_options(case) | dict(output_padding=s.output_padding)
    cp.testing.CHECKS[f"conv_transpose{case.dims}d"](
        with_options(loop_conv_transpose, **options), kernel_size=s.kernel_size, seed=case.seed,
        trials=1, **options)


@settings(max_examples=25)
@given(case=conv_cases(modes=("zeros",)))
def test_a_correct_loop_backward_passes_on_random_specs(case):
    options = _case_options(case)
    cp.testing.CHECKS[f"conv{case.dims}d_backward"](
        with_options(loop_conv_backward, **options), kernel_size=case.spec.kernel_size,
        seed=case.seed, trials=1, **options)


def test_a_correct_3d_convolution_passes_in_float32(rng):
    options = dict(stride=(1, 2, 1), padding=((1, 0), (1, 1), (0, 1)), groups=2)
    result = cp.testing.check_conv3d(
        lambda x, w, b: loop_conv(x, w, b, **options).astype(np.float32), dtype=np.float32,
        seed=int(rng.integers(2**31)), trials=1, **options)
    assert result.tolerance == 1e-4 and result.calls == 8


# --------------------------------------------------------------------------------------------
# Every fault of the family is named
# --------------------------------------------------------------------------------------------

STRIDED = dict(stride=2, padding=1)
GROUPED = dict(stride=(1, 2), padding=((2, 1), (1, 1)), dilation=(2, 1), groups=2)
DILATED = dict(padding=2, dilation=(2, 1))

FORWARD_FAULTS = [
    (("flip",), STRIDED, "kernel is flipped: you compute a true convolution.*w\\[\\.\\.\\., "
                         "::-1, ::-1\\]"),
    (("flip",), GROUPED, "kernel is flipped"),
    (("transpose",), STRIDED, "kernel is transposed: tap \\(m_H, m_W\\) reads w\\[o, c, m_W, "
                              "m_H\\]"),
    (("padding start",), STRIDED, "padding off by \\+1 at the start of every axis: you pad "
                                  "\\(2, 1\\), expected \\(1, 1\\)"),
    (("padding end",), GROUPED, "padding off by \\+1 at the end of every axis"),
    (("padding ignored",), STRIDED, "padding ignored"),
    (("padding zeros",), dict(padding=1, padding_mode="circular"),
     "you pad with zeros, but padding_mode='circular'"),
    (("stride ignored",), STRIDED, "stride ignored on every axis: you step 1, expected 2"),
    (("stride in index",), STRIDED, "stride ignored in the index: your output has the right "
                                    "size"),
    (("stride axes",), GROUPED, "stride applied to the wrong axes: you use \\(2, 1\\), expected "
                                "\\(1, 2\\)"),
    (("dilation ignored",), DILATED, "dilation ignored on axis H"),
    (("dilation plus one",), STRIDED, "dilation off by \\+1"),
    (("channels",), STRIDED, "weight is read as \\(C_in, C_out/groups, \\.\\.\\.\\)"),
    (("channels",), GROUPED, "weight is read as \\(C_in, C_out/groups"),
    (("groups reversed",), GROUPED, "groups read the input channel blocks in reverse order"),
    (("output groups interleaved",), GROUPED, "your group g writes the output channels g, g \\+ 2"),
    (("flip last axis",), GROUPED, "kernel is flipped along axis W only.*w\\[\\.\\.\\., :, "
                                   "::-1\\]"),
    (("stride dilation swapped",), GROUPED, "stride and dilation swapped: you step \\(2, 1\\) and "
                                            "space taps \\(1, 2\\)"),
    (("stride dilation swapped",), dict(padding=2, dilation=2),  # the usual dilated conv
     "stride and dilation swapped: you step \\(2, 2\\) and space taps \\(1, 1\\)"),
    (("padding shifted",), dict(padding=(1, 2)), "padding shifted by 1 toward the start on every "
                                                 "axis: you pad \\(\\(2, 0\\), \\(3, 1\\)\\)"),
    (("groups interleaved",), GROUPED, "your group g reads the input channels g, g \\+ 2, g \\+ "
                                       "4, \\.\\.\\.: group g owns the input channels \\[g·2, "
                                       "\\(g\\+1\\)·2\\)"),
    (("bias missing",), STRIDED, "bias missing"),
    (("bias twice",), GROUPED, "bias added twice"),
    (("ceil",), STRIDED, "one row too many on every axis: the output size rounds down, H: "
                         "floor\\(.*\\) \\+ 1 = \\d+; W: floor\\(.*\\) \\+ 1 = \\d+, not up"),
    (("short",), DILATED, "misses its last row on every axis"),
    (("padding end",), dict(stride=3, padding=2),
     "one row too many on every axis.*\n  the same outputs come from: padding off by \\+1 at "
     "the end"),
]


@pytest.mark.parametrize("faults,options,pattern", FORWARD_FAULTS,
                         ids=lambda v: "-".join(v) if isinstance(v, tuple) else None)
def test_every_forward_fault_is_named(faults, options, pattern, rng):
    refused(cp.testing.check_conv2d, with_options(loop_conv, faults=faults, **options), pattern,
            seed=int(rng.integers(2**31)), **options)


@pytest.mark.parametrize("faults,pattern", [
    (("flip", "padding start"), "two faults at once: \\(1\\) your kernel is flipped.*\\(2\\) "
                                "padding off by \\+1 at the start"),
    (("stride ignored", "bias twice"), "two faults at once: .*stride ignored.*bias added twice"),
    (("transpose", "dilation plus one"), "\\(1\\) your kernel is transposed.*\\(2\\) dilation off"),
    (("channels", "padding start"), "\\(1\\) your weight is read as.*\\(2\\) padding off by \\+1 "
                                    "at the start"),
])
def test_two_faults_at_once_are_named_together(faults, pattern, rng):
    options = dict(stride=2, padding=1, dilation=(1, 2))
    refused(cp.testing.check_conv2d, with_options(loop_conv, faults=faults, **options), pattern,
            seed=int(rng.integers(2**31)), **options)


def test_a_missing_last_row_is_named_beside_a_fault_that_changes_the_size(rng):
    """The output's last row dropped was the correct size minus one: after a second fault that
    changes the size (taps 1 apart give more rows) no pair explained the output."""
    options = dict(padding=2, dilation=(2, 1), stride=(1, 2))
    refused(cp.testing.check_conv2d,
            with_options(loop_conv, faults=("dilation ignored", "short"), **options),
            "two faults at once: .*misses its last row on every axis.*dilation ignored",
            seed=int(rng.integers(2**31)), **options)


@pytest.mark.parametrize("faults,pattern", [
    (("flip",), "kernel is flipped: you compute a true convolution.*w\\[\\.\\.\\., ::-1\\]"),
    (("padding start",), "padding off by \\+1 at the start of axis L: you pad \\(3, 3\\), "
                         "expected \\(2, 3\\)"),
    (("stride ignored",), "stride ignored on axis L: you step 1, expected 3"),
])
def test_faults_are_named_in_1d(faults, pattern, rng):
    options = dict(stride=3, padding=((2, 3),), dilation=2)
    refused(cp.testing.check_conv1d, with_options(loop_conv, faults=faults, **options), pattern,
            seed=int(rng.integers(2**31)), **options)


@pytest.mark.parametrize("faults,pattern", [
    (("flip",), "kernel is flipped.*w\\[\\.\\.\\., ::-1, ::-1, ::-1\\]"),
    (("transpose",), "kernel is transposed: tap \\(m_D, m_H, m_W\\) reads w\\[o, c, m_W, m_H, "
                     "m_D\\]"),
])
def test_faults_are_named_in_3d(faults, pattern, rng):
    options = dict(stride=(2, 1, 1), padding=1)
    refused(cp.testing.check_conv3d, with_options(loop_conv, faults=faults, **options), pattern,
            seed=int(rng.integers(2**31)), **options)


TRANSPOSED = dict(stride=2, padding=1, output_padding=1)


@pytest.mark.parametrize("faults,options,pattern", [
    (("flip",), TRANSPOSED, "your kernel is flipped: the transposed convolution adds"),
    (("output_padding ignored",), TRANSPOSED, "output_padding ignored on every axis"),
    (("channels",), dict(TRANSPOSED, groups=2), "weight is read as \\(C_out, C_in/groups, "
                                                "\\.\\.\\.\\), the layout of a conv"),
    (("padding end",), dict(stride=2, padding=(1, 2)), "misses its last row on every axis.*\n  "
                                                       "the same outputs come from: padding off by "
                                                       "\\+1 at the end of every axis: you pad "
                                                       "\\(\\(1, 2\\), \\(2, 3\\)\\)"),
])
def test_transposed_convolution_faults_are_named(faults, options, pattern, rng):
    refused(cp.testing.check_conv_transpose2d,
            with_options(loop_conv_transpose, faults=faults, **options), pattern,
            seed=int(rng.integers(2**31)), **options)


@pytest.mark.parametrize("faults,pattern", [
    (("grad_x flip",), "grad_x: the kernel is flipped the wrong way.*rotated 180°"),
    (("grad_x channels",), "grad_x: the channel axes of the weight are the wrong way round"),
    (("grad_x output_padding",), "grad_x: grad_x misses its last row\\(s\\) on every axis.*"
                                 "output_padding = .* = 1"),
    (("grad_w flip",), "grad_w: grad_w is flipped"),
    (("grad_w mean",), "grad_w: grad_w is averaged over the batch"),
    (("grad_w channels",), "grad_w: grad_w has its channel axes swapped"),
    (("grad_x flip", "grad_w mean"), "grad_x: the kernel is flipped.*\n  grad_w: grad_w is "
                                     "averaged"),
])
def test_backward_faults_are_named(faults, pattern, rng):
    options = dict(stride=2, padding=1, groups=2)
    refused(cp.testing.check_conv2d_backward,
            with_options(loop_conv_backward, faults=faults, **options), pattern,
            seed=int(rng.integers(2**31)), **options)


# --------------------------------------------------------------------------------------------
# What is not a known fault, and what is not a convolution at all
# --------------------------------------------------------------------------------------------

def test_an_unknown_fault_shows_the_first_difference_and_its_expression(rng):
    def leaky(x, w, b):
        y = loop_conv(x, w, b, padding=1)
        y[:, 1, 0, 2] += 0.5 * x[:, 0, 2, 3] - b[1]
        return y
    message = refused(cp.testing.check_conv2d, leaky, "no known fault explains it",
                      padding=1, seed=int(rng.integers(2**31)))
    assert "first difference at y[0,1,0,2]" in message
    assert "expected y[0,1,0,2] = w[1,0,1,0]*x[0,0,0,1] + w[1,0,1,1]*x[0,0,0,2]" in message
    assert ("your function has x[0,0,2,3] times 0.5 (expected 0); the constant term 0 "
            "(expected b[1])") in message
    assert "on a random input" in message


def test_a_wrong_output_shape_names_the_size_formula(rng):
    def cropped(x, w, b):
        return loop_conv(x, w, b, stride=2)[..., 1:, :]
    message = refused(cp.testing.check_conv2d, cropped, "no known fault explains it: y has "
                      "shape \\(N, 2, 2, 4\\), expected \\(N, 2, 3, 4\\)", stride=2,
                      seed=int(rng.integers(2**31)))
    assert "H: floor((8 + 0 + 0 - 1·(3 - 1) - 1) / 2) + 1 = 3, you return 2" in message


def test_a_function_right_on_impulses_only_is_called_not_linear(rng):
    def nonlinear(x, w, b):
        y = loop_conv(x, w, b)
        busy = np.count_nonzero(x.reshape(len(x), -1), axis=1) > 1
        return y + 0.1 * busy.reshape((-1,) + (1,) * (y.ndim - 1))
    refused(cp.testing.check_conv2d, nonlinear, "right on every impulse but not on a random "
            "input .*not linear in x", seed=int(rng.integers(2**31)))


def test_a_nonlinear_function_is_called_not_linear(rng):
    """y + y²/2 is wrong on the impulses too, whatever the draws (a rectified y could be right
    on all of them where every impulse response came out positive: the other diagnosis)."""
    def curved(x, w, b):
        y = loop_conv(x, w, b)
        return y + 0.5 * y ** 2
    refused(cp.testing.check_conv2d, curved, "not linear in x: on a random input its outputs "
            "are not the sums its impulse responses predict", seed=int(rng.integers(2**31)))


def test_samples_that_read_each_other_are_named(rng):
    def first_sample_only(x, w, b):
        return loop_conv(np.repeat(x[:1], len(x), axis=0), w, b)
    refused(cp.testing.check_conv2d, first_sample_only, "other outputs for the same 2 samples in "
            "a batch of \\d+ than alone: its output for a sample depends on the other samples",
            seed=int(rng.integers(2**31)))


def test_state_kept_between_calls_is_named(rng):
    calls = []

    def wrong_the_first_time(x, w, b):
        calls.append(None)
        return loop_conv(x, w, b) + (len(calls) == 1)
    refused(cp.testing.check_conv2d, wrong_the_first_time, "or on earlier calls \\(state kept "
            "between calls\\)", seed=int(rng.integers(2**31)))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_outputs_that_are_not_finite_are_named(rng, value):
    def poisoned(x, w, b):
        y = loop_conv(x, w, b)
        y[0, 0, 1, 2] = value
        return y
    refused(cp.testing.check_conv2d, poisoned, f"y has 1 of (96|120) entries that are not "
            f"finite \\(the first y\\[0,0,1,2\\] = {value}\\) on finite inputs",
            seed=int(rng.integers(2**31)))


def test_probe_outputs_that_are_not_finite_are_named(rng):
    def normalized(x, w, b):  # flipped, and nan for a zero input, which only the probes have
        norms = np.sqrt((x ** 2).sum(axis=(1, 2, 3), keepdims=True))
        with np.errstate(invalid="ignore"):
            return loop_conv(x, w[..., ::-1, ::-1], b) * norms / norms
    refused(cp.testing.check_conv2d, normalized, "conv2d\\(bias=False\\): on the probe inputs "
            "y has 24 of 1512 entries that are not finite \\(the first y\\[0,0,0,0\\] = nan\\)",
            bias=False, seed=int(rng.integers(2**31)))


def test_a_float64_function_computing_in_float32_is_told_so(rng):
    def in_float32(x, w, b, **options):
        single = (a.astype(np.float32) for a in (x, w, b))
        return loop_conv(*single, **options).astype(np.float64)
    seed = int(rng.integers(2**31))
    message = refused(cp.testing.check_conv2d, in_float32, "agrees only within float32 "
                      "precision \\(worst relative error .*, tolerance 1e-10\\)", seed=seed)
    assert "check it with dtype=np.float32" in message
    cp.testing.check_conv2d(in_float32, dtype=np.float32, seed=seed)
    flipped = with_options(in_float32, faults=("flip",))
    message = refused(cp.testing.check_conv2d, flipped, "your kernel is flipped", seed=seed)
    assert "and it agrees only within float32 precision" in message


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_function_rounding_through_float16_is_told_so(dtype, rng):
    def through_float16(x, w, b):
        return loop_conv(x, w, b).astype(np.float16).astype(dtype)
    message = refused(cp.testing.check_conv2d, through_float16, "agrees only within float16 or "
                      "bfloat16 precision .*: it computes in float16 or bfloat16 although its "
                      f"inputs and outputs "
                      f"are {np.dtype(dtype)}; the checks compare at float32 precision at "
                      "least, so compute in float32 or float64", dtype=dtype,
                      seed=int(rng.integers(2**31)))
    assert "not linear" not in message


def test_a_bias_inside_the_channel_sum_is_named_beside_a_doubled_one(rng):
    def per_channel(x, w, b):
        return loop_conv(x, w, w.shape[1] * b)
    message = refused(cp.testing.check_conv2d, per_channel, "bias added twice",
                      seed=int(rng.integers(2**31)))
    assert ("the same outputs come from: bias added once per input channel of a group (2 times)"
            in message)


@pytest.mark.parametrize("returned,pattern", [
    (lambda y: 0.5, "y must be an array, your function returned the scalar 0.5"),
    # an axis added or dropped is told on the caller's batch (it was told on a probe's, 63)
    (lambda y: y[None], "no known fault explains it: y has shape \\(1, ([45]), 2, 3, 4\\), "
                        "expected \\(\\1, 2, 3, 4\\) for a batch of \\1"),
    (lambda y: y.ravel(), "y has shape \\((120|96),\\), expected \\([45], 2, 3, 4\\) for a "
                          "batch of [45]"),
    # a broadcast view costs nothing; its copy would have raised MemoryError
    (lambda y: np.broadcast_to(1.0, (len(y), 2, 20000, 20000)),
     "y has shape \\([45], 2, 20000, 20000\\), \\d+ entries, far more than the outputs"),
])
def test_an_output_of_another_shape_shows_both_shapes(rng, returned, pattern):
    refused(cp.testing.check_conv2d, lambda x, w, b: returned(loop_conv(x, w, b)), pattern,
            seed=int(rng.integers(2**31)))


def test_outputs_returned_in_another_order_are_named(rng):
    """(grad_w, grad_x) for (grad_x, grad_w): was 'grad_x has shape ... for a batch of 27'."""
    def swapped(x, w, g):
        return (cp.functional.conv2d_weight(x, w.shape, g),
                cp.functional.conv2d_input(x.shape, w, g))
    refused(cp.testing.check_conv2d_backward, swapped, "returns its outputs in another order: "
            "shapes .* where \\(grad_x, grad_w\\) have shapes", kernel_size=5,
            seed=int(rng.integers(2**31)))


def test_an_exception_of_torch_on_numpy_arrays_says_which_backend(rng):
    """A PyTorch function checked without backend='torch': torch's long TypeError, no hint."""
    def tensors_only(x, w, b):
        raise TypeError("conv2d() received an invalid combination of arguments - expected "
                        "(Tensor input, Tensor weight) " + "x" * 2000)
    with pytest.raises(EquivalenceError, match="needs backend='torch'") as failure:
        cp.testing.check_conv2d(tensors_only, seed=int(rng.integers(2**31)))
    assert "… (" in str(failure.value) and len(str(failure.value)) < 1200


def test_a_converter_that_raises_is_refused_as_an_option(rng):
    with pytest.raises(ValueError, match="backend: your converter raised ZeroDivisionError"):
        cp.testing.check_conv2d(lambda x, w, b: x, backend=lambda a: 1 / 0)


def test_a_missing_option_names_the_public_check():
    with pytest.raises(TypeError, match="check_max_pool2d\\(\\) needs the option 'kernel_size'"):
        cp.testing.check_max_pool2d(lambda x: x)


def test_an_exception_names_the_call_and_keeps_its_cause(rng):
    def broken(x, w, b):
        raise IndexError("tap out of range")
    with pytest.raises(EquivalenceError, match="your function raised IndexError: tap out of "
                       "range\n  called with x \\([45], 2, 5, 6\\)") as failure:
        cp.testing.check_conv2d(broken, seed=int(rng.integers(2**31)))
    assert isinstance(failure.value.__cause__, IndexError)
    assert isinstance(failure.value, AssertionError)  # pytest reports it as a failed assertion


def test_a_wrong_function_that_fails_on_a_probe_is_told_both(rng):
    """A flipped kernel that refuses batches above 16: the probes that would name the flip call
    it with a larger batch; the message says it is wrong, by how much, then the probe's error."""
    def limited(x, w, b):
        if len(x) > 16:
            raise ValueError(f"batch {len(x)} > 16 unsupported")
        return loop_conv(x, w[..., ::-1, ::-1], b)
    with pytest.raises(EquivalenceError, match="your function is wrong \\(worst relative "
                       "error [^)]*\\), and its fault could not be named: on a probe your "
                       "function raised ValueError: batch \\d+ > 16 unsupported") as failure:
        cp.testing.check_conv2d(limited, seed=int(rng.integers(2**31)))
    assert "checked on x (" in str(failure.value)


@pytest.mark.parametrize("returned,pattern", [
    (None, "y must be an array of floating-point numbers, your function returned NoneType"),
    (np.array(["a"]), "returned an array of dtype <U1"),
    # an integer output had been read as a float and diagnosed 'not linear in x'
    (np.zeros((2, 2, 5, 5), dtype=np.int64), "floating-point numbers, your function returned "
                                             "an array of dtype int64"),
    (np.ones((2, 2, 5, 5), dtype=np.uint8), "returned an array of dtype uint8"),
    ([[1.0, 2.0], [3.0, 4.0]], "returned a nested list \\(.tolist\\(\\)\\?\\) where y was asked"),
    ({"y": 1.0}, "floating-point numbers, your function returned dict"),  # not 'dtype object'
    ("y", "floating-point numbers, your function returned str"),
])
def test_an_output_that_is_no_array_is_refused(returned, pattern):
    with pytest.raises(EquivalenceError, match=pattern):
        cp.testing.check_conv2d(lambda x, w, b: returned)


def test_an_output_buffer_reused_across_calls_is_refused(rng):
    """A preallocated output per shape: y1 = f(x1) changed when f(x2) was called, and the
    check had passed (24 calls agree)."""
    buffers = {}

    def reused(x, w, b):
        y = loop_conv(x, w, b, stride=2, padding=1)
        buffer = buffers.setdefault(y.shape, np.empty_like(y))
        buffer[...] = y
        return buffer
    refused(cp.testing.check_conv2d, reused, "your function overwrote the y it returned on an "
            "earlier call: it reuses an output buffer", stride=2, padding=1,
            seed=int(rng.integers(2**31)))


def test_an_output_that_is_a_view_of_its_refilled_input_is_no_reused_buffer(rng):
    """Refilling the caller's own arrays changes a view of them: not the function's doing."""
    from convproof.testing.interop import Caller
    call = Caller(lambda x, w, b: x[:, :1], "view", ("x", "w", "b"), ("y",), "numpy",
                  np.float64)
    x, w, b = (rng.standard_normal(shape) for shape in ((2, 3, 4, 4), (1, 3, 1, 1), (1,)))
    first = call(x, w, b, layout="contiguous")[0]
    again = call.again(2 * x, w, b)[0]
    np.testing.assert_array_equal(again, 2 * first)


def test_a_backward_must_return_two_gradients():
    with pytest.raises(EquivalenceError, match="must return \\(grad_x, grad_w\\), got ndarray"):
        cp.testing.check_conv2d_backward(lambda x, w, g: x)
    with pytest.raises(EquivalenceError, match="must return \\(grad_x, grad_w\\), got a tuple "
                       "of 3\n  called with x \\("):
        cp.testing.check_conv2d_backward(
            lambda x, w, g: (*loop_conv_backward(x, w, g), g.sum(axis=(0, 2, 3))))


class Wrapped:
    """An array type NumPy knows only through __array__."""

    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array


def test_outputs_of_any_array_type_are_read(rng):
    result = cp.testing.check_conv1d(lambda x, w, b: Wrapped(loop_conv(x, w, b)),
                                     seed=int(rng.integers(2**31)))
    assert result.calls == 24


def test_the_seed_reproduces_the_same_check():
    function = with_options(loop_conv, faults=("padding end",), padding=1)
    first = refused(cp.testing.check_conv2d, function, "padding", padding=1, seed=7)
    assert refused(cp.testing.check_conv2d, function, "padding", padding=1, seed=7) == first
    assert "seed=7 reproduces this check" in first


@pytest.mark.parametrize("options,error,pattern", [
    (dict(stride=0), ValueError, "stride must be a positive integer, got 0"),
    (dict(groups=0), ValueError, "groups must be a positive integer, got 0"),
    (dict(padding="half"), ValueError, "padding must be .*got 'half'"),
    (dict(padding_mode="mirror"), ValueError, "padding_mode must be one of .*got 'mirror'"),
    (dict(kernel_size=(3,)), ValueError,
     re.escape("kernel_size has 1 entry, but there are 2 spatial dims: (3,)")),
    (dict(bias="yes"), TypeError, "bias must be True or False, got 'yes'"),
    (dict(dtype=np.int32), TypeError, "dtype must be float32 or float64, got int32"),
    (dict(dtype=None), TypeError, "dtype must be float32 or float64, got None"),
    (dict(trials=0), ValueError, "trials must be a positive integer, got 0"),
    (dict(seed=-1), ValueError, "seed must be a non-negative integer or None, got -1"),
    (dict(backend="jax"), ValueError, "backend must be one of .*got 'jax'"),
    (dict(trials=2.0), ValueError, "trials must be a positive integer, got 2.0"),
    (dict(kernel_size=200), ValueError, "kernel_size=\\(200, 200\\) with stride=\\(1, 1\\), "
     "padding=.* and dilation=\\(1, 1\\) needs larger inputs than the checks use"),
])
def test_bad_options_are_refused_by_name(options, error, pattern):
    with pytest.raises(error, match=pattern):
        cp.testing.check_conv2d(loop_conv, **options)


def test_a_slow_check_reports_its_progress(rng, monkeypatch, capsys):
    """Lines while the user's function runs (here at once and after every call), counting its
    calls toward the planned number and the time left; silent with progress=None."""
    from convproof.testing.runner import Progress
    monkeypatch.setattr(Progress, "QUIET", 0.0)
    monkeypatch.setattr(Progress, "INTERVAL", 0.0)
    lines = []
    result = cp.testing.check_conv2d(loop_conv, progress=lines.append,
                                     seed=int(rng.integers(2**31)))
    counts = [int(re.match(r"conv2d\(\): (\d+) of 24 calls of your function, \d+ s, about "
                           r"\d+ s left$", line)[1]) for line in lines]
    assert counts == sorted(counts) and 0 < counts[0] and counts[-1] < result.calls == 24
    cp.testing.check_max_pool1d(lambda x: cp.functional.max_pool1d(x, 2), kernel_size=2)
    assert "max_pool1d(kernel_size=2): " in capsys.readouterr().err  # stderr by default
    cp.testing.check_conv2d(loop_conv, progress=None)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="progress must be a callable taking a line, or None, "
                       "got 'stderr'"):
        cp.testing.check_conv2d(loop_conv, progress="stderr")


def test_an_unknown_option_is_refused_with_the_options_there_are():
    with pytest.raises(TypeError, match="check_conv2d\\(\\) takes no option 'strid'; its options: "
                                        "stride, padding, dilation, groups"):
        cp.testing.check_conv2d(loop_conv, strid=2)
    with pytest.raises(TypeError, match="check_max_pool1d\\(\\) takes no option 'groups'"):
        cp.testing.check_max_pool1d(loop_conv, kernel_size=2, groups=2)


def test_numpy_integers_are_integers(rng):
    seed = np.uint32(rng.integers(2**31))
    assert cp.testing.check_conv2d(loop_conv, trials=np.int64(2), seed=seed).calls == 16


@pytest.mark.parametrize("backend, module", [("cupy", "cupy"), ("torch", "torch")])
def test_a_backend_whose_library_is_missing_says_how_to_get_it(monkeypatch, backend, module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=f"backend='{backend}' needs "):
        cp.testing.check_conv2d(loop_conv, backend=backend)


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        cp.testing.check_conv2d(3)


def test_a_backward_in_float32_is_told_so_and_its_fault_named(rng):
    options = dict(stride=2, padding=1)

    def in_float32(x, w, g):
        single = (a.astype(np.float32) for a in (x, w, g))
        grad_x, grad_w = loop_conv_backward(*single, faults=("grad_w mean",), **options)
        return grad_x.astype(np.float64), grad_w.astype(np.float64)
    message = refused(cp.testing.check_conv2d_backward, in_float32, "grad_w: grad_w is averaged",
                      seed=int(rng.integers(2**31)), **options)
    assert "grad_x: it agrees only within float32 precision" in message
    assert "do not divide by N\n  and it agrees only within float32 precision" in message


# --------------------------------------------------------------------------------------------
# PyTorch tensors in and out
# --------------------------------------------------------------------------------------------

def test_torch_tensors_in_and_out(torch, rng):
    functional = torch.nn.functional

    def torch_conv(x, w, b):
        assert isinstance(x, torch.Tensor)
        return functional.conv2d(x, w.requires_grad_(), b, stride=2, padding=1)

    def torch_convolve(x, w, b):
        return torch_conv(x, torch.flip(w, dims=(2, 3)), b)
    seed = int(rng.integers(2**31))
    result = cp.testing.check_conv2d(torch_conv, stride=2, padding=1, backend="torch", seed=seed)
    assert result.calls == 24
    refused(cp.testing.check_conv2d, torch_convolve, "kernel is flipped", stride=2, padding=1,
            backend="torch", seed=seed)


def test_a_converter_callable_and_float32_tensors(torch, rng):
    def torch_conv(x, w, b):
        return torch.nn.functional.conv_transpose2d(x, w, b, stride=2, output_padding=1)
    result = cp.testing.check_conv_transpose2d(
        torch_conv, stride=2, output_padding=1, dtype=np.float32, backend=torch.from_numpy,
        seed=int(rng.integers(2**31)))
    assert result.tolerance == 1e-4


# --------------------------------------------------------------------------------------------
# Faults on random specs: each injected fault is refused and named
# --------------------------------------------------------------------------------------------

NAMES = {  # fault switch of loop_conv: (applies to the options, what the diagnosis must say)
    "flip": (lambda o: True, "kernel is flipped"),
    "transpose": (lambda o: len(o["stride"]) > 1, "kernel is transposed"),
    "padding start": (lambda o: True, "padding off by \\+1 at the start"),
    "padding end": (lambda o: True, "padding off by \\+1 at the end|one row too many"),
    "padding ignored": (lambda o: any(map(any, o["padding"])), "padding ignored"),
    "stride ignored": (lambda o: max(o["stride"]) > 1, "stride ignored"),
    "stride axes": (lambda o: len(set(o["stride"])) > 1, "stride applied to the wrong axes"),
    "dilation ignored": (lambda o: max(o["dilation"]) > 1, "dilation ignored|dilation off by -"),
    "dilation plus one": (lambda o: True, "dilation off by \\+1"),
    "channels": (lambda o: True, "weight is read as \\(C_in, C_out/groups"),
    "groups reversed": (lambda o: o["groups"] > 1, "input channel blocks in reverse order"),
    "groups interleaved": (lambda o: o["groups"] > 1, "reads the input channels g, g \\+ \\d"),
    "bias missing": (lambda o: True, "bias missing"),
    "bias twice": (lambda o: True, "bias added twice"),
    "ceil": (lambda o: max(o["stride"]) > 1, "one row too many"),
    "short": (lambda o: True, "misses its last row"),
}


@settings(max_examples=60)
@given(case=conv_cases(dims=(1, 2), modes=("zeros",)), data=st.data())
def test_every_fault_is_named_on_random_specs(case, data):
    """The checker picks the sizes and kernels; the fault is injected on the case's options."""
    options = _case_options(case)
    fault = data.draw(st.sampled_from([name for name, (applies, _) in NAMES.items()
                                       if applies(options)]))
    with pytest.raises(EquivalenceError, match=NAMES[fault][1]):
        cp.testing.CHECKS[f"conv{case.dims}d"](
            with_options(loop_conv, faults=(fault,), **options), seed=case.seed, trials=1,
            **options)


# --------------------------------------------------------------------------------------------
# What the fixed problems cannot show: shapes, values, layouts, reuse of the arrays, dtypes
# --------------------------------------------------------------------------------------------

def test_the_trials_vary_the_batch_channels_sizes_values_and_layout(rng):
    seen = []

    def recording(x, w, b):
        seen.append((x.shape, w.shape, x.flags.c_contiguous, float(np.abs(x).max()),
                     float(np.mean(x == 0))))
        return loop_conv(x, w, b)
    cp.testing.check_conv2d(recording, seed=int(rng.integers(2**31)))
    shapes = [x for x, *_ in seen]
    assert {1, 3} < {x[0] for x in shapes} <= {1, 3, 4, 5}
    assert any(x[1] >= 4 for x in shapes) and any(w[0] == 1 for _, w, *_ in seen)
    assert any(x[2] == x[3] for x in shapes) and any(x[3] % 2 for x in shapes)
    assert any(x[3] - 2 > 4 for x in shapes)                           # more than 4 outputs
    assert any(x[1] == 3 and w[0] >= 2 for x, w, *_ in seen)            # an RGB input
    assert any(8 <= w[0] <= 9 and 8 <= w[1] <= 9 for _, w, *_ in seen)  # a channel block of 8
    assert any(x[3] - w[3] + 1 >= 16 and x[2] - w[2] + 1 <= 2 and w[3] >= 5
               for x, w, *_ in seen)                                   # wide, a kernel of 5
    assert not all(contiguous for _, _, contiguous, _, _ in seen)
    assert max(big for *_, big, _ in seen) > 1e5 and max(z for *_, z in seen) > 0.5


def _skip_last_of_odd_batch(x, w, b):
    y = loop_conv(x, w, b)
    if len(x) % 2:
        y[-1] = 0.0
    return y


def _drop_odd_last_column(x, w, b):
    width = x.shape[-1] - x.shape[-1] % 2
    y = np.zeros(loop_conv(x, w, b).shape)
    part = loop_conv(x[..., :width], w, b)
    y[..., :part.shape[-1]] = part
    return y


def _tail_tiles_shifted(x, w, b):
    y = loop_conv(x, w, b)
    y[..., 4:] = np.roll(y, -1, axis=-1)[..., 4:]
    return y


def _squeezed(x, w, b):
    x = np.squeeze(x)
    return loop_conv(x[:, None] if x.ndim == 3 else x, w, b)


def _channel_blocks_of_8(x, w, b):
    """Input channels in blocks of 8 (SIMD lanes), the full blocks with the kernel flipped."""
    full = x.shape[1] - x.shape[1] % 8
    y = loop_conv(x[:, full:], w[:, full:], b)
    for start in range(0, full, 8):
        y += loop_conv(x[:, start:start + 8], w[:, start:start + 8, ::-1, ::-1], None)
    return y


def _batch_blocks_of_4(x, w, b):
    """Samples in blocks of 4, the full blocks put back in the wrong order."""
    y = loop_conv(x, w, b)
    full = len(x) - len(x) % 4
    blocks = y[:full].reshape(-1, 2, 2, *y.shape[1:]).swapaxes(1, 2)
    y[:full] = blocks.reshape(full, *y.shape[1:])
    return y


def _wide_tiles_of_16(x, w, b):
    """Output columns in tiles of 16, each full tile one column off."""
    y = loop_conv(x, w, b)
    full = y.shape[-1] - y.shape[-1] % 16
    y[..., :full] = np.roll(y[..., :full], -1, axis=-1)
    return y


def _kernel_unrolled_by_4(x, w, b):
    """The last kernel axis unrolled by 4, the fourth tap of a block reading the third's weight."""
    w = w.copy()
    full = w.shape[-1] - w.shape[-1] % 4
    w[..., 3:full:4] = w[..., 2:full:4]
    return loop_conv(x, w, b)


BUGS_THE_FIXED_PROBLEMS_MISS = {
    "first two channels": lambda x, w, b: loop_conv(x[:, :2], w[:, :2], b),
    "np.squeeze": _squeezed,
    "odd batch": _skip_last_of_odd_batch,
    "odd width": _drop_odd_last_column,
    "tail tiles": _tail_tiles_shifted,
    "square fast path": lambda x, w, b: loop_conv(
        x, w.swapaxes(2, 3) if x.shape[2] == x.shape[3] else w, b),
    "saturating at 8": lambda x, w, b: loop_conv(np.clip(x, -8, 8), w, b),
    "sparse fast path": lambda x, w, b: loop_conv(x, w, 0 * b if np.mean(x == 0) > 0.5 else b),
    "RGB stem": lambda x, w, b: loop_conv(*((x[:, :2], w[:, :2]) if x.shape[1] == 3 else (x, w)),
                                          b),
    "channel blocks of 8": _channel_blocks_of_8,
    "batch blocks of 4": _batch_blocks_of_4,
    "wide tiles of 16": _wide_tiles_of_16,
    "kernel unrolled by 4": _kernel_unrolled_by_4,
}


@pytest.mark.parametrize("bug", BUGS_THE_FIXED_PROBLEMS_MISS)
def test_bugs_the_fixed_problems_miss_are_refused(bug, rng):
    with pytest.raises(EquivalenceError):
        cp.testing.check_conv2d(BUGS_THE_FIXED_PROBLEMS_MISS[bug], seed=int(rng.integers(2**31)))


def test_a_large_magnitude_fault_is_reported_with_the_inputs_it_shows_on(rng):
    message = refused(cp.testing.check_conv2d, BUGS_THE_FIXED_PROBLEMS_MISS["saturating at 8"],
                      "on the values \\(large or mostly zero\\)", trials=2,
                      seed=int(rng.integers(2**31)))
    assert "x times 1e+06" in message


def test_a_backward_summing_two_samples_and_a_transposed_reading_three_channels_are_refused(rng):
    def two_samples(x, w, g):
        grad_x, _ = loop_conv_backward(x, w, g)
        return grad_x, loop_conv_backward(x[:2], w, g[:2])[1]

    def three_channels(x, w, b):
        return loop_conv_transpose(x[:, :3], w[:3], b, stride=2, padding=1)
    seed = int(rng.integers(2**31))
    refused(cp.testing.check_conv2d_backward, two_samples, "grad_w", seed=seed)
    refused(cp.testing.check_conv_transpose2d, three_channels, "x\\[0,3,", stride=2, padding=1,
            seed=seed)


@pytest.mark.parametrize("groups", [2, 3, 4])
def test_a_depthwise_fast_path_is_checked_with_the_groups_asked(groups, rng):
    def depthwise_flipped(x, w, b):
        depthwise = x.shape[1] == w.shape[0] == groups
        return loop_conv(x, w[..., ::-1, ::-1] if depthwise else w, b, padding=1, groups=groups)

    def depthwise_first_sample(x, w, g):
        grad_x, grad_w = loop_conv_backward(x, w, g, padding=1, groups=groups)
        if x.shape[1] == w.shape[0] == groups:
            grad_w = loop_conv_backward(x[:1], w, g[:1], padding=1, groups=groups)[1]
        return grad_x, grad_w
    seed = int(rng.integers(2**31))
    refused(cp.testing.check_conv2d, depthwise_flipped, "kernel is flipped", padding=1,
            groups=groups, seed=seed)
    refused(cp.testing.check_conv2d_backward, depthwise_first_sample, "grad_w", padding=1,
            groups=groups, seed=seed)


def _merged_spatial_axes(x, w, b):
    """H and W read as one axis of the column stride (a row's stride taken as W times it)."""
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    flat = np.lib.stride_tricks.as_strided(x, (n, c, h * width), x.strides[:2] + x.strides[3:])
    rows = (np.arange(h - kh + 1)[:, None] * width + np.arange(width - kw + 1)).ravel()
    taps = (np.arange(kh)[:, None] * width + np.arange(kw)).ravel()
    y = np.einsum("ncpt,oct->nop", flat[:, :, rows[:, None] + taps], w.reshape(o, c, -1))
    return (y + b[:, None]).reshape(n, o, h - kh + 1, width - kw + 1)


def test_a_function_that_merges_the_spatial_axes_is_named(rng):
    refused(cp.testing.check_conv2d, _merged_spatial_axes, "a border cropped off the spatial "
            r"axes\) but right on C-contiguous copies .* or as if the spatial axes were one",
            seed=int(rng.integers(2**31)))


def _im2col_assuming_c_order(x, w, b):
    """Windows by as_strided with strides computed from the shape, not x.strides."""
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    item = x.itemsize
    strides = (c * h * width * item, h * width * item, width * item, item)
    cols = np.lib.stride_tricks.as_strided(x, (n, c, h - kh + 1, width - kw + 1, kh, kw),
                                           strides + strides[2:])
    return np.einsum("ncijkl,ockl->noij", cols, w) + b[:, None, None]


def test_a_function_that_assumes_c_contiguous_inputs_is_named(rng):
    refused(cp.testing.check_conv2d, _im2col_assuming_c_order, "wrong on inputs that are not "
            "C-contiguous \\(each a channels-last view\\) but right on C-contiguous copies",
            seed=int(rng.integers(2**31)))


def test_a_correct_function_passes_on_views_as_torch_tensors(torch, rng):
    def torch_conv(x, w, b):
        return torch.nn.functional.conv2d(x, w, b, stride=2)
    result = cp.testing.check_conv2d(torch_conv, stride=2, backend="torch", trials=1,
                                     seed=int(rng.integers(2**31)))
    assert result.calls == 8


@pytest.mark.parametrize("name", ["x", "w"])
def test_a_function_that_mutates_its_input_is_named(name, rng):
    def in_place(x, w, b):
        y = loop_conv(x, w, b)
        {"x": x, "w": w}[name][..., 0] *= -0.5
        return y
    refused(cp.testing.check_conv2d, in_place, f"your function mutates its input {name} "
            "\\(\\d+ of \\d+ entries changed\\)", seed=int(rng.integers(2**31)))


def test_a_converter_that_rounds_the_inputs_is_no_mutation(rng):
    """A float64 check whose converter hands float32 copies: the inputs were compared with the
    float64 originals, and the function was told it mutates x."""
    refused(cp.testing.check_conv2d, lambda x, w, b: loop_conv(x, w, b).astype(np.float64),
            "agrees only within float32 precision", backend=lambda a: a.astype(np.float32),
            seed=int(rng.integers(2**31)))


def test_a_cache_keyed_by_the_weight_buffer_is_named(rng):
    packed = {}

    def prepacked(x, w, b):
        key = (w.ctypes.data, w.shape)
        if key not in packed:
            packed[key] = w.copy()
        return loop_conv(x, packed[key], b)
    refused(cp.testing.check_conv2d, prepacked, "called again on the same arrays refilled in "
            "place with new values than on fresh copies of them: it keeps state keyed by the "
            "array objects", seed=int(rng.integers(2**31)))


def test_a_cache_that_follows_torch_s_in_place_updates_passes(rng, torch):
    """A tensor refilled in place moves its version counter, as an optimiser's step does: a
    cache that keeps a weak reference to w beside w._version is right, and passes; keyed on
    id alone it is refused.  (Keyed on (id(w), w._version), as this test was, it failed now and
    then: a new tensor takes a freed one's id, at version 0 again.)"""
    import weakref

    def prepacked(fresh):
        packed = {}

        def conv(x, w, b):
            alive, version, weight = packed.get(id(w), (None, None, None))
            if alive is None or not fresh(alive, version, w):
                alive, version, weight = packed[id(w)] = (weakref.ref(w), w._version,
                                                          w.detach().clone())
            return torch.nn.functional.conv2d(x, weight, b)
        return conv
    seed = int(rng.integers(2**31))
    by_version = prepacked(lambda alive, version, w: alive() is w and version == w._version)
    assert cp.testing.check_conv2d(by_version, backend="torch", seed=seed).calls == 24
    # refused always; which symptom shows first depends on which freed id a new tensor takes
    # (docs/checking.md: "the message may then blame the arrays' layout")
    refused(cp.testing.check_conv2d, prepacked(lambda alive, version, w: True),
            "it keeps state keyed by the array objects|not C-contiguous|other outputs for the "
            "same|right on the probe batch but not", backend="torch", seed=seed)


def test_an_output_that_loses_its_batch_axis_for_one_sample_is_told_its_shape(rng):
    def squeezed(x, w, b):
        y = loop_conv(x, w, b, padding=1)
        return y[0] if len(y) == 1 else y
    refused(cp.testing.check_conv2d, squeezed, r"y has shape \(2, \d+, \d+\), expected "
            r"\(1, 2, \d+, \d+\) .*; yet right on the probe batch: the shape depends on the "
            "batch size", padding=1, seed=int(rng.integers(2**31)))


def test_outputs_of_a_coarser_dtype_are_refused(rng):
    seed = int(rng.integers(2**31))
    refused(cp.testing.check_conv2d, lambda x, w, b: loop_conv(x, w, b).astype(np.float16),
            "returned y as float16 although dtype=float64 was asked", seed=seed)
    refused(cp.testing.check_conv2d, lambda x, w, b: loop_conv(x, w, b).astype(np.float16),
            "returned y as float16 although dtype=float32 was asked", dtype=np.float32,
            seed=seed)
    message = refused(cp.testing.check_conv2d,
                      lambda x, w, b: loop_conv(x, w, b).astype(np.float32),
                      "returned y as float32 although dtype=float64 was asked", seed=seed)
    assert "check it with dtype=np.float32" in message


def test_a_bfloat16_tensor_is_refused_as_a_coarser_dtype(rng, torch):
    """NumPy has no bfloat16: the user saw PyTorch's 'unsupported ScalarType BFloat16'."""
    refused(cp.testing.check_conv2d,
            lambda x, w, b: torch.from_numpy(loop_conv(x, w, b)).to(torch.bfloat16),
            "returned y as bfloat16 although dtype=float32 was asked: the checks compare at "
            "float32 precision at least", dtype=np.float32, seed=int(rng.integers(2**31)))


def test_longdouble_outputs_are_compared_at_the_checks_dtype(rng):
    seed = int(rng.integers(2**31))
    result = cp.testing.check_conv2d(
        lambda x, w, b: loop_conv(x, w, b).astype(np.longdouble), seed=seed)
    assert result.tolerance == 1e-10
    with pytest.raises(EquivalenceError):
        cp.testing.check_conv2d(
            lambda x, w, b: loop_conv(x, w, b).astype(np.longdouble) + 1e-3, seed=seed)


def test_a_small_fault_in_float64_is_not_blamed_on_float32(rng):
    message = refused(cp.testing.check_conv2d, lambda x, w, b: loop_conv(x, w, b) + 1e-6,
                      "it may compute a step in float32 .*, or have a small fault\n  no known "
                      "fault explains it", seed=int(rng.integers(2**31)))
    assert "computes in float32" not in message and "dtype=np.float32" not in message
    assert "the constant term b[0] +1e-06 (expected b[0])" in message


def test_same_padding_with_a_stride_names_the_transposed_padding():
    with pytest.raises(ValueError, match="padding='same' with stride \\(2, 2\\) .* a "
                       "transposed convolution needs explicit padding"):
        cp.testing.check_conv_transpose2d(loop_conv_transpose, padding="same", stride=2)


def test_a_too_large_padding_is_named_among_the_window():
    with pytest.raises(ValueError, match="padding=\\(\\(50, 50\\), \\(50, 50\\)\\) and dilation"):
        cp.testing.check_conv_transpose2d(loop_conv_transpose, padding=50)


@pytest.mark.parametrize("name,value", [("trials", np.array([2])), ("seed", np.array([1]))])
def test_an_array_for_trials_or_seed_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"{name} must be .*, got array\\(\\[\\d\\]\\)"):
        cp.testing.check_conv2d(loop_conv, **{name: value})


@pytest.mark.parametrize("returned,pattern", [
    (lambda y: (y,), "a tuple of 1 \\(ndarray\\) where y alone was asked"),
    (lambda y: (y, np.argmax(y, axis=1)), "a tuple of 2 \\(ndarray, ndarray\\) where y alone"),
    (lambda y: [y], "a list of 1 \\(ndarray\\) where y alone"),
])
def test_a_tuple_for_one_output_is_named(returned, pattern, rng):
    message = refused(cp.testing.check_conv2d, lambda x, w, b: returned(loop_conv(x, w, b)),
                      pattern, seed=int(rng.integers(2**31)))
    assert "return y as one array, not (y, indices) or (y, cache)" in message


def test_a_wrong_shape_with_entries_not_finite_shows_the_size_formula(rng):
    def uninitialised_row(x, w, b):
        y = loop_conv(x, w, b, stride=2)
        return np.concatenate([y, np.full_like(y[:, :, :1], np.nan)], axis=2)
    refused(cp.testing.check_conv2d, uninitialised_row,
            r"y has shape \(N, 2, (\d+), \d+\), expected \(N, 2, \d+, \d+\); "
            r"H: floor\(\(\d+ \+ 0 \+ 0 - 1·\(3 - 1\) - 1\) / 2\) \+ 1 = \d+, you return \1"
            "\n  and y has \\d+ of \\d+ entries that are not finite", stride=2,
            seed=int(rng.integers(2**31)))


def _rounded(array, bits):
    """float32 numbers rounded to nearest with ``bits`` low mantissa bits cleared (13: TF32,
    16: bfloat16)."""
    raw = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
    mask = (1 << 32) - (1 << bits)
    return ((raw + (1 << (bits - 1))) & mask).astype(np.uint32).view(np.float32)


def test_bfloat16_arithmetic_is_named_with_float16(rng):
    def in_bfloat16(x, w, b):
        y = loop_conv(*(_rounded(a, 16) for a in (x, w, b)))
        return _rounded(y, 16)
    refused(cp.testing.check_conv2d, in_bfloat16, "agrees only within float16 or bfloat16 "
            "precision .*: it computes in float16 or bfloat16", dtype=np.float32,
            seed=int(rng.integers(2**31)))
    large = _rounded(rng.standard_normal((4, 3)) * 1e6, 16).astype(np.float64)
    assert "bfloat16" in lower_precision(3e-3, 1e-4, np.dtype(np.float32), [large])


def test_tf32_arithmetic_is_named_with_its_switch(rng):
    def in_tf32(x, w, b):
        return loop_conv(_rounded(x, 13), _rounded(w, 13), b)
    message = refused(cp.testing.check_conv2d, in_tf32, "the error of TF32 arithmetic: a "
                      "likely cause is TF32", dtype=np.float32, seed=int(rng.integers(2**31)))
    assert "torch.backends.cudnn.allow_tf32 = False" in message
    assert "\n  checked on" in message.split("likely cause is TF32")[1]  # nothing else said
    assert "linear" not in message and "impulse" not in message


def test_a_float16_accumulator_is_not_taken_for_tf32(rng):
    """Its error is TF32's size, but it stays on inputs that TF32 holds exactly; it had been
    told only 'a likely cause is TF32 ... on NVIDIA GPUs'."""
    def float16_sums(x, w, b):  # the input channels' partial sums added in float16
        total = sum(loop_conv(x[:, c:c + 1], w[:, c:c + 1], None).astype(np.float16)
                    for c in range(x.shape[1]))
        return total.astype(np.float32) + b[:, None, None]
    message = refused(cp.testing.check_conv2d, float16_sums, "errs as much on inputs that TF32 "
                      "holds exactly.*TF32 rounding of the inputs does not explain it; it "
                      "computes below float32 precision", dtype=np.float32,
                      seed=int(rng.integers(2**31)))
    assert "likely cause is TF32" not in message
    assert "\n  checked on" in message.split("in TF32)")[1]  # nothing else said (linearity)


def test_a_small_fault_in_a_float32_check_is_not_blamed_on_precision_alone(rng):
    """A constant 1e-3 on every output errs as much on TF32 numbers: it was told only that it
    computes below float32 precision or in TF32, which a plain float32 function does not."""
    def off_by_a_constant(x, w, b):
        return (loop_conv(x, w, b) + 1e-3).astype(np.float32)
    message = refused(cp.testing.check_conv2d, off_by_a_constant, "TF32 rounding of the inputs "
                      "does not explain it.*or has a small fault", dtype=np.float32,
                      seed=int(rng.integers(2**31)))
    assert "likely cause is TF32" not in message


def test_a_fault_under_tf32_rounding_is_named_with_it(rng):
    """The flip fits only within TF32's error: it is named, with TF32 as the rest."""
    def flipped_in_tf32(x, w, b):
        return loop_conv(_rounded(x, 13), _rounded(w, 13)[..., ::-1, ::-1], b)
    message = refused(cp.testing.check_conv2d, flipped_in_tf32, "your kernel is flipped",
                      dtype=np.float32, seed=int(rng.integers(2**31)))
    assert "and beside that its error is TF32's (within 3e-03, not 1e-04)" in message


def test_a_float32_step_is_named_as_a_likely_cause_with_the_digits_that_differ(rng):
    def float32_conv_float64_bias(x, w, b):
        y = loop_conv(x.astype(np.float32), w.astype(np.float32), None)
        return y.astype(np.float64) + b[:, None, None]
    message = refused(cp.testing.check_conv2d, float32_conv_float64_bias, "agrees within "
                      "float32 precision .* but not all its outputs are float32 numbers: it may "
                      "compute a step in float32", seed=int(rng.integers(2**31)))
    assert "\n  no known fault explains it" in message
    coefficient = re.search("times (\\S+) \\(expected w\\[[\\d,]+\\] = (\\S+)\\)", message)
    assert coefficient and coefficient[1] != coefficient[2]


@pytest.mark.parametrize("check, said", [
    (cp.testing.check_conv2d, "more than CERTIFY_TERMS"),
    (cp.testing.check_conv2d_backward, "more than CERTIFY_TERMS"),
    (cp.testing.check_conv_transpose2d, "needs larger inputs")])
def test_a_window_too_large_to_derive_is_refused_before_any_call(check, said):
    """padding=100 gives the fixed problems 200 outputs per axis: the derived matrix's limit
    was reported with advice the caller cannot follow (a smaller input), mid-check."""
    def never_called(*args):
        raise AssertionError("called")
    with pytest.raises(ValueError, match=r"padding=\(\(100, 100\).*" + said):
        check(never_called, padding=100, progress=None)
