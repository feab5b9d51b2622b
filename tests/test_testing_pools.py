"""convproof.testing on pooling: correct loop implementations pass on random windows, faulty ones
are refused with the fault named."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.testing import EquivalenceError
from strategies import pool_cases


def _per_axis(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def _output_size(n, k, s, p, d, ceil_mode):
    """floor or ceil of (n + 2p - d(k-1) - 1)/s, plus 1; a last window starting in the right
    padding does not count."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def loop_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
              count_include_pad=True, reduce="max", faults=()):
    """Every output i reads x[s*i - p + d*m] for m < k inside the input; max, or mean divided
    by the window clipped to [-p, n + p) (count_include_pad) or by its inside count."""
    dims = x.ndim - 2
    k = _per_axis(kernel_size, dims)
    s = k if stride is None else _per_axis(stride, dims)
    p, d = _per_axis(padding, dims), _per_axis(dilation, dims)
    if "transpose" in faults:
        k = k[::-1]
    if "padding ignored" in faults:
        p = (0,) * dims
    if "stride ignored" in faults:
        s = (1,) * dims
    if "stride is kernel" in faults:
        s = k
    if "dilation ignored" in faults:
        d = (1,) * dims
    if "ceil flipped" in faults:
        ceil_mode = not ceil_mode
    if "count flipped" in faults:
        count_include_pad = not count_include_pad
    sizes = x.shape[2:]
    out = [_output_size(*args, ceil_mode) for args in zip(sizes, k, s, p, d)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for i in itertools.product(*(range(o) for o in out)):
        starts = [ss * ii - pp for ss, ii, pp in zip(s, i, p)]
        axes = [[st + dd * m for m in range(kk)] for st, dd, kk in zip(starts, d, k)]
        inside = [[v for v in axis if 0 <= v < n] for axis, n in zip(axes, sizes)]
        values = np.stack([x[(Ellipsis, *j)] for j in itertools.product(*inside)], axis=-1)
        if reduce == "max":
            touches_padding = any(len(a) < len(b) for a, b in zip(inside, axes))
            if "zero fill" in faults and touches_padding:
                values = np.concatenate([values, np.zeros(values.shape[:-1] + (1,))], axis=-1)
            y[(Ellipsis, *i)] = values.max(axis=-1)
            continue
        if count_include_pad:
            divisor = np.prod([min(st + kk, n + pp) - st
                               for st, kk, n, pp in zip(starts, k, sizes, p)])
        else:
            divisor = values.shape[-1]
        y[(Ellipsis, *i)] = values.sum(axis=-1) / (1 if "sum" in faults else divisor)
    return y


def pooling(reduce, faults=(), **options):
    return lambda x: loop_pool(x, reduce=reduce, faults=faults, **options)


@settings(max_examples=40)
@given(case=pool_cases())
def test_a_correct_loop_max_pool_passes_on_random_windows(case):
    s = case.spec
    options = dict(kernel_size=s.kernel_size, stride=s.stride, padding=s.padding,
                   dilation=s.dilation, ceil_mode=s.ceil_mode)
    result = cp.testing.CHECKS[f"max_pool{s.dims}d"](pooling("max", **options), seed=case.seed,
                                                     trials=1, **options)
    assert result.calls == 8


@settings(max_examples=40)
@given(case=pool_cases(dilation=False))
def test_a_correct_loop_avg_pool_passes_on_random_windows(case):
    s = case.spec
    options = dict(kernel_size=s.kernel_size, stride=s.stride, padding=s.padding,
                   ceil_mode=s.ceil_mode, count_include_pad=bool(case.seed % 2))
    cp.testing.CHECKS[f"avg_pool{s.dims}d"](pooling("mean", **options), seed=case.seed,
                                            trials=1, **options)


MAX = dict(kernel_size=3, stride=2, padding=1)
DILATED = dict(kernel_size=(3, 2), stride=(1, 2), dilation=(2, 1))


@pytest.mark.parametrize("faults,options,pattern", [
    (("padding ignored",), MAX, "padding ignored: you pool the input without its padding 1"),
    (("stride ignored",), MAX, "stride ignored on every axis: your windows step 1, expected 2"),
    (("stride is kernel",), dict(kernel_size=3, stride=2), "your windows step by the kernel "
                                                           "size \\(3, 3\\)"),
    (("dilation ignored",), DILATED, "dilation ignored on axis H"),
    (("transpose",), DILATED, "your window is \\(2, 3\\), expected \\(3, 2\\)"),
    (("ceil flipped",), MAX, "your output size rounds up, ceil_mode=False rounds down"),
    (("zero fill",), MAX, "you pad with zeros: max pooling pads with -inf"),
    (("padding ignored", "ceil flipped"), MAX, "two faults at once: \\(1\\) padding ignored.*"
                                               "\\(2\\) your output size rounds up"),
])
def test_max_pool_faults_are_named(faults, options, pattern, rng):
    with pytest.raises(EquivalenceError, match=pattern):
        cp.testing.check_max_pool2d(pooling("max", faults, **options),
                                    seed=int(rng.integers(2**31)), **options)


AVG = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)


@pytest.mark.parametrize("faults,options,pattern", [
    (("count flipped",), AVG, "your divisor leaves out the padded positions"),
    (("count flipped",), dict(AVG, count_include_pad=False), "your divisor counts the padded"),
    (("sum",), AVG, "you return the window sums"),
    (("ceil flipped",), AVG, "your output size rounds down, ceil_mode=True rounds up"),
    (("padding ignored",), dict(kernel_size=(2, 3), padding=(1, 1)), "padding ignored"),
])
def test_avg_pool_faults_are_named(faults, options, pattern, rng):
    with pytest.raises(EquivalenceError, match=pattern):
        cp.testing.check_avg_pool2d(pooling("mean", faults, **options),
                                    seed=int(rng.integers(2**31)), **options)


def test_an_unknown_pooling_fault_shows_the_window(rng):
    def mirrored(x):
        return loop_pool(x, 2)[..., ::-1]
    with pytest.raises(EquivalenceError, match="first difference at y\\[0,0,0,0\\]:\n    "
                       "expected y\\[0,0,0,0\\] = max\\(x\\[0,0,0,0\\], x\\[0,0,0,1\\], "
                       "x\\[0,0,1,0\\], x\\[0,0,1,1\\]\\) = 1\n    your function returns"):
        cp.testing.check_max_pool2d(mirrored, kernel_size=2, seed=int(rng.integers(2**31)))


def test_an_unknown_avg_pooling_fault_shows_the_divisor(rng):
    def off(x):
        return loop_pool(x, 3, padding=1, reduce="mean") + 0.01
    with pytest.raises(EquivalenceError, match="expected y\\[0,0,0,0\\] = \\(x\\[0,0,0,0\\] \\+ "
                       "x\\[0,0,0,1\\] \\+ x\\[0,0,1,0\\] \\+ x\\[0,0,1,1\\]\\) / 9 ="):
        cp.testing.check_avg_pool2d(off, kernel_size=3, padding=1, seed=int(rng.integers(2**31)))


def test_a_pooling_whose_samples_read_each_other_is_named(rng):
    def batch_max(x):  # each window's max over the whole batch
        return np.broadcast_to(loop_pool(x, 2).max(axis=0), loop_pool(x, 2).shape).copy()
    with pytest.raises(EquivalenceError, match="other outputs for the same 2 samples in a batch "
                       "of \\d+ than alone"):
        cp.testing.check_max_pool2d(batch_max, kernel_size=2, seed=int(rng.integers(2**31)))


def test_a_pooling_with_outputs_that_are_not_finite_is_named(rng):
    def infinite_corner(x):
        y = loop_pool(x, 2, reduce="mean")
        y[:, :, 0, 0] = -np.inf
        return y
    with pytest.raises(EquivalenceError, match="avg_pool2d\\(kernel_size=2\\): y has (8|10) of "
                       "\\d+ entries that are not finite \\(the first y\\[0,0,0,0\\] = -inf\\)"):
        cp.testing.check_avg_pool2d(infinite_corner, kernel_size=2,
                                    seed=int(rng.integers(2**31)))


@pytest.mark.parametrize("check,options,error,pattern", [
    ("max_pool2d", dict(kernel_size=3, padding=2), ValueError, "padding\\[0\\] = 2 is more than "
                                                               "half the kernel size 3"),
    ("max_pool2d", dict(kernel_size=(3, 3, 3)), ValueError,
     re.escape("kernel_size has 3 entries, but there are 2 spatial dims: (3, 3, 3)")),
    ("avg_pool2d", dict(kernel_size=2, count_include_pad=1), TypeError,
     "count_include_pad must be True or False, got 1"),
    ("avg_pool1d", dict(kernel_size=2, ceil_mode="yes"), TypeError,
     "ceil_mode must be True or False, got 'yes'"),
])
def test_bad_pooling_options_are_refused_by_name(check, options, error, pattern):
    with pytest.raises(error, match=pattern):
        cp.testing.CHECKS[check](lambda x: x, **options)


def test_torch_pooling_passes(torch, rng):
    def torch_pool(x):
        return torch.nn.functional.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=True)
    cp.testing.check_max_pool2d(torch_pool, kernel_size=3, stride=2, padding=1, dilation=2,
                                ceil_mode=True, backend="torch", seed=int(rng.integers(2**31)))


def _rounding_matters(spec):
    """Some input size has a different output size under ceil_mode (a window that starts in
    the right padding never counts, so with p = 0 and k = 1 it never does)."""
    axes = zip(spec.kernel_size, spec.stride, spec.padding, spec.dilation)
    return any(_output_size(n, *axis, False) != _output_size(n, *axis, True)
               for axis in axes for n in range(1, 20))


POOL_FAULTS = {  # fault switch of loop_pool: (applies to the case, what the diagnosis must say)
    "padding ignored": (lambda s, reduce: any(s.padding), "padding ignored"),
    "stride ignored": (lambda s, reduce: max(s.stride) > 1, "stride ignored"),
    "stride is kernel": (lambda s, reduce: s.stride != s.kernel_size, "step by the kernel size"),
    "dilation ignored": (lambda s, reduce: any(d > 1 < k for d, k in zip(s.dilation,
                                                                          s.kernel_size)),
                         "dilation ignored"),
    "transpose": (lambda s, reduce: s.kernel_size != s.kernel_size[::-1] and all(
        2 * p <= k for p, k in zip(s.padding, s.kernel_size[::-1])), "your window is"),
    "ceil flipped": (lambda s, reduce: _rounding_matters(s), "your output size rounds"),
    "zero fill": (lambda s, reduce: reduce == "max" and any(s.padding) and not s.ceil_mode,
                  "you pad with zeros"),
    "count flipped": (lambda s, reduce: reduce == "mean" and any(s.padding), "your divisor"),
    "sum": (lambda s, reduce: reduce == "mean" and max(s.kernel_size) > 1, "window sums"),
}


@settings(max_examples=60)
@given(case=pool_cases(), data=st.data())
def test_every_pooling_fault_is_named_on_random_windows(case, data):
    s = case.spec
    reduce = data.draw(st.sampled_from(["max", "mean"] if s.dilation == (1,) * s.dims
                                       else ["max"]))
    faults = [name for name, (applies, _) in POOL_FAULTS.items() if applies(s, reduce)]
    assume(faults)  # a 1x1 window with stride 1: nothing can go wrong
    fault = data.draw(st.sampled_from(faults))
    options = dict(kernel_size=s.kernel_size, stride=s.stride, padding=s.padding,
                   ceil_mode=s.ceil_mode)
    if reduce == "max":
        options["dilation"] = s.dilation
    check = cp.testing.CHECKS[f"{'max' if reduce == 'max' else 'avg'}_pool{s.dims}d"]
    with pytest.raises(EquivalenceError, match=POOL_FAULTS[fault][1]):
        check(pooling(reduce, (fault,), **options), seed=case.seed, trials=1, **options)


@pytest.mark.parametrize("seed", range(20))
def test_zero_fill_is_found_on_every_draw(seed):
    """A window reading 3 inputs and 2 padding cells: with normal inputs alone zero fill shows
    only when all 3 are negative; the all-negative channels of the draw show it every time."""
    options = dict(kernel_size=5, stride=1, padding=2, dilation=2)
    with pytest.raises(EquivalenceError, match="you pad with zeros"):
        cp.testing.check_max_pool(pooling("max", ("zero fill",), **options), 1, seed=seed,
                                  trials=1, **options)


def refused(check, function, pattern, **options):
    """The check fails on ``function`` with a message matching ``pattern``; returns it."""
    with pytest.raises(EquivalenceError, match=pattern) as failure:
        cp.testing.CHECKS[check](function, **options)
    return str(failure.value)


def test_a_max_pool_padding_with_a_large_negative_constant_is_named_with_it(rng):
    def padded_with_constant(x):
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1e4)
        return loop_pool(xp, 3, stride=2, reduce="max")
    message = refused("max_pool2d", padded_with_constant, "you pad with -10000: max pooling "
                      "pads with -inf", **MAX, trials=2, seed=int(rng.integers(2**31)))
    assert "x times 1e+06" in message


def test_a_pooling_that_reads_two_channels_is_refused(rng):
    def two_channels(x):
        y = loop_pool(x, 2, reduce="mean")
        y[:, 2:] = 0.0
        return y
    refused("avg_pool2d", two_channels, "y\\[\\d+,2,", kernel_size=2,
            seed=int(rng.integers(2**31)))


def test_a_longdouble_pooling_is_compared_at_the_checks_dtype(rng):
    def wrong_divisor(x):
        return loop_pool(x, 3, reduce="mean").astype(np.longdouble) * (0.11 * 9)
    refused("avg_pool2d", wrong_divisor, "no known fault explains it", kernel_size=3,
            seed=int(rng.integers(2**31)))


def _keeps_a_last_window_in_the_padding(x):
    """ceil_mode without PyTorch's rule: a last window that starts in the right padding is
    kept, and gives -inf."""
    y = loop_pool(x, 3, stride=3, padding=1, ceil_mode=True)
    naive = [-(-(n + 2 * 1 - 2 - 1) // 3) + 1 for n in x.shape[2:]]
    extra = [(0, 0), (0, 0), *((0, m - o) for m, o in zip(naive, y.shape[2:]))]
    return np.pad(y, extra, constant_values=-np.inf)


def test_a_ceil_mode_that_keeps_a_last_window_in_the_padding_is_named(rng):
    refused("max_pool2d", _keeps_a_last_window_in_the_padding,
            r"y has shape .*: ceil\(\(\d+ \+ 2·1 - 1·\(3 - 1\) - 1\) / 3\) \+ 1 = (\d+), less "
            r"one as that last window would start at .* in the right padding \(ceil_mode drops "
            r"it\) = \d+, you return \1.*" "\n  and y has \\d+ of \\d+ entries that are not finite",
            kernel_size=3, stride=3, padding=1, ceil_mode=True, trials=1,
            seed=int(rng.integers(2**31)))


def test_a_small_pooling_error_in_float32_is_not_blamed_on_tf32(rng):
    message = refused("avg_pool2d", lambda x: loop_pool(x, 3, reduce="mean") * 1.001,
                      "no known fault explains it", kernel_size=3, dtype=np.float32,
                      seed=int(rng.integers(2**31)))
    assert "TF32" not in message
