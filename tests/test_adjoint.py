"""The input gradient as stride-1 correlations, one per phase of the stride (convproof.adjoint).

The phases of an axis split the input positions by the residue of their padded position mod s;
each phase, computed by the float64 reference's correlation on g and the phase's taps swapped
and flipped, must give the reference's input gradient at its positions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from convproof import reference
from convproof.adjoint import (gradient_pads, gradient_phases, phase_correlations,
                               swap_and_flip)
from convproof.spec import ConvSpec
from strategies import conv_cases


@settings(max_examples=200)
@given(k=st.integers(1, 7), s=st.integers(1, 40), d=st.integers(1, 4), p_lo=st.integers(0, 6),
       n=st.integers(1, 20), p_hi=st.integers(0, 6))
@example(k=3, s=2**40, d=1, p_lo=1, n=3, p_hi=1)  # min(s, n) residues visited, not s
def test_the_phases_of_an_axis_hold_each_input_position_once(k, s, d, p_lo, n, p_hi):
    assume(n + p_lo + p_hi >= d * (k - 1) + 1)
    o = (n + p_lo + p_hi - d * (k - 1) - 1) // s + 1
    phases = gradient_phases(k, s, d, p_lo, n, o)
    positions = sorted(p.start + s * u for p in phases for u in range(p.count))
    assert positions == list(range(n))
    assert sorted({(p.start + p_lo) % s for p in phases}) == [(p.start + p_lo) % s for p in phases]
    for p in phases:  # the taps of the phase are those with d m = r (mod s), in order
        residue = (p.start + p_lo) % s
        assert [p.first + p.step * e for e in range(p.taps)] == [
            m for m in range(k) if (d * m - residue) % s == 0]


def test_with_stride_one_the_one_phase_is_the_gradient_padding():
    spec = ConvSpec(1, 1, (3, 2), padding=((2, 0), (1, 1)), dilation=(2, 1))
    out = spec.output_size((7, 5))
    phases = [gradient_phases(k, 1, d, lo, n, o) for k, d, (lo, _), n, o in
              zip((3, 2), (2, 1), ((2, 0), (1, 1)), (7, 5), out)]
    assert all(len(axis) == 1 and axis[0].count == n and axis[0].start == 0
               for axis, n in zip(phases, (7, 5)))
    assert tuple(axis[0].pads for axis in phases) == gradient_pads(
        (3, 2), (2, 1), ((2, 0), (1, 1)), (7, 5), out)


def test_per_axis_arguments_of_other_lengths_are_refused():
    """Axes are zipped strictly: a missing axis is an error, not a gradient of fewer axes."""
    for call in (gradient_pads, phase_correlations):
        arguments = [(3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), (8, 8), (4, 4)]
        if call is gradient_pads:
            del arguments[1]  # no stride
        for axis in range(len(arguments)):
            shorter = [a[:1] if i == axis else a for i, a in enumerate(arguments)]
            with pytest.raises(ValueError, match="zip\\(\\) argument"):
                call(*shorter)


@settings(max_examples=60)
@given(case=conv_cases(modes=("zeros",), max_stride=4, max_dilation=3))
def test_the_phase_correlations_compute_the_input_gradient(case):
    """dx at each phase's targets = corr(g[crops] padded by the phase's pads,
    swap_and_flip(w[taps]), its dilation d/gcd(d, s)), zero where no tap or no entry of g
    reaches the phase (and then nothing reaches those positions at all); together the
    targets hold every input position once."""
    s = case.spec
    _, w, _, g = case.arrays()
    expected = reference.conv_input_grad(case.input_shape, w, g, stride=s.stride,
                                         padding=s.pads(case.size), dilation=s.dilation,
                                         groups=s.groups)
    covered = np.zeros(case.size, dtype=int)
    for phase in phase_correlations(s.kernel_size, s.stride, s.dilation, s.pads(case.size),
                                    case.size, g.shape[2:]):
        where = (Ellipsis, *phase.targets)
        covered[phase.targets] += 1
        assert expected[where].shape[2:] == phase.counts
        if not phase.reached:
            assert not expected[where].any()
            continue
        got = reference.conv(g[(Ellipsis, *phase.crops)],
                             swap_and_flip(w[(Ellipsis, *phase.taps)], s.groups),
                             padding=phase.pads, dilation=phase.dilation, groups=s.groups)
        np.testing.assert_allclose(got, expected[where], rtol=1e-12, atol=1e-12)
    assert (covered == 1).all()
