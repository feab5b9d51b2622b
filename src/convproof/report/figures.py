"""The report's figures: one small function each, numbers from convproof itself.

Every figure draws on a matplotlib ``Figure`` object (no pyplot, so no global backend is
touched; the raster parts go through Agg) and is written as SVG beside the report.  The
matrices come from :func:`convproof.symbolic.conv_matrix`, every other number from
:mod:`convproof.functional`, on a test image that the code draws itself.  A figure that fails
is reported with its error, never silently left out.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np

from .. import functional as F
from ..spec import ConvSpec


@dataclass
class FigureSpec:
    name: str
    title: str
    caption: str
    theorems: tuple[str, ...]
    draw: Callable[[], object]


@dataclass
class DrawnFigure:
    """A figure as the report shows it: its file (None if drawing failed) or the error."""

    name: str
    title: str
    caption: str
    theorems: tuple[str, ...]
    file: str | None
    error: str = ""


FIGURES: list[FigureSpec] = []


def figure(name: str, title: str, caption: str, theorems: tuple[str, ...]):
    """Register a function that returns a matplotlib Figure."""
    def register(draw: Callable[[], object]) -> Callable[[], object]:
        FIGURES.append(FigureSpec(name, title, caption, theorems, draw))
        return draw
    return register


def draw_all(folder: Path, shown: set[str] | None = None) -> list[DrawnFigure]:
    """Draw the figures of the theorems ``shown`` (default: all) into ``folder`` as
    figure-<name>.svg, each naming only the shown theorems (without matplotlib, every figure
    is reported as failed, with the way to install it)."""
    specs = [FigureSpec(spec.name, spec.title, spec.caption,
                        tuple(t for t in spec.theorems if shown is None or t in shown), spec.draw)
             for spec in FIGURES]
    specs = [spec for spec in specs if spec.theorems]
    try:
        import matplotlib
    except ImportError:
        return [DrawnFigure(spec.name, spec.title, spec.caption, spec.theorems, None,
                            "matplotlib is not installed: pip install 'convproof[report]'")
                for spec in specs]
    drawn = []
    for spec in specs:
        file = f"figure-{spec.name}.svg"
        try:
            with matplotlib.rc_context({"svg.hashsalt": spec.name, "font.size": 9}):
                made = spec.draw()
                made.savefig(folder / file, metadata={"Date": None})
            drawn.append(DrawnFigure(spec.name, spec.title, spec.caption, spec.theorems, file))
        except Exception as exc:  # shown in the report as a failed figure
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            drawn.append(DrawnFigure(spec.name, spec.title, spec.caption, spec.theorems, None,
                                     detail))
    return drawn


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


# --------------------------------------------------------------------------------------------
# Test signals, drawn here
# --------------------------------------------------------------------------------------------

def test_image(size: int = 48) -> np.ndarray:
    """A grey-level scene: a sloped background, a disc, a square, a bar and a small
    checkerboard, with values in [0, 1]."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    image = 0.15 + 0.15 * x
    image[(x - 0.3) ** 2 + (y - 0.32) ** 2 < 0.04] = 0.9
    image[(x > 0.58) & (x < 0.88) & (y > 0.12) & (y < 0.42)] = 0.6
    image[np.abs(x + y - 1.25) < 0.05] = 0.75
    checks = ((np.floor(x * size / 3) + np.floor(y * size / 3)) % 2 == 0)
    image[(x < 0.35) & (y > 0.7) & checks] = 1.0
    return image


def test_signal() -> np.ndarray:
    """A 1-D signal with steps, a peak and a ramp."""
    return np.array([0.0, 0.2, 1.0, 1.0, 0.4, 0.0, 1.6, 0.3, 0.0, 0.5, 1.0, 1.5, 0.7, 0.0,
                     0.0, 0.9, 0.1, 0.0])


def _corr2(image: np.ndarray, kernel: np.ndarray, **options) -> np.ndarray:
    """2-D correlation of one image with one kernel ("conv2d"), padding 1 unless given."""
    options.setdefault("padding", 1)
    return F.conv2d(image[None, None], np.asarray(kernel, dtype=float)[None, None],
                    **options)[0, 0]


def _corr1(signal: np.ndarray, kernel: np.ndarray, **options) -> np.ndarray:
    return F.conv1d(signal[None, None], np.asarray(kernel, dtype=float)[None, None],
                    **options)[0, 0]


def _difference_map(ax, difference: np.ndarray, title: str, scale: float) -> None:
    ax.imshow(difference, cmap="RdBu", vmin=-scale, vmax=scale, interpolation="nearest")
    ax.set_title(f"{title}\nmax |difference| = {np.abs(difference).max():.3g}")
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------

def tap_pattern(matrix, weights: np.ndarray) -> np.ndarray:
    """The nonzero entries of a conv matrix coloured by their kernel tap (row-major over the
    kernel's spatial axes); NaN where the matrix is zero."""
    taps = {symbol: np.ravel_multi_index(index[2:], weights.shape[2:])
            for index, symbol in np.ndenumerate(weights)}
    pattern = np.full(matrix.shape, np.nan)
    for (row, column), value in matrix.todok().items():
        pattern[row, column] = min(taps[s] for s in value.free_symbols)
    return pattern


@figure("banded-sparsity", "The banded matrix of a convolution",
        "Nonzero entries of the matrix A with conv(x) = A x, computed by conv_matrix from the "
        "banded-matrix theorem, coloured by kernel tap. Unit stride gives constant diagonals "
        "(Toeplitz); 2-D gives Toeplitz blocks in a block-Toeplitz matrix; stride 2 moves each "
        "row two columns on; dilation 2 leaves a zero column between taps; two groups give a "
        "block-diagonal matrix of banded blocks.",
        ("banded-matrix", "toeplitz-structure", "multichannel-groups",
         "dilation-as-sparse-kernel"))
def banded_sparsity():
    from matplotlib import colormaps

    from ..symbolic import conv_matrix

    cases = [("1-D, k = 3, p = 1", ConvSpec(1, 1, (3,), padding=1), (1, 10)),
             ("2-D, 5×5 by 3×3, p = 1", ConvSpec(1, 1, (3, 3), padding=1), (1, 5, 5)),
             ("1-D, stride 2", ConvSpec(1, 1, (3,), stride=2), (1, 11)),
             ("1-D, dilation 2", ConvSpec(1, 1, (3,), dilation=2), (1, 10)),
             ("2 groups, 4 → 4 channels", ConvSpec(4, 4, (3,), groups=2), (4, 5))]
    fig = _figure(13, 3.4)
    colours = colormaps["tab10"].with_extremes(bad="white")
    for ax, (title, spec, shape) in zip(fig.subplots(1, len(cases)), cases):
        matrix, weights = conv_matrix(spec, shape)
        ax.imshow(tap_pattern(matrix, weights), cmap=colours, vmin=0, vmax=9,
                  interpolation="nearest")
        ax.set_title(f"{title}\nA is {matrix.shape[0]}×{matrix.shape[1]}")
        ax.set_xlabel("input position j")
    fig.axes[0].set_ylabel("output position i")
    return fig


@figure("flip-equivalence", "Convolution is correlation with the flipped kernel",
        "A true convolution (convolve1d) and a correlation (conv1d) with the reversed kernel "
        "give the same numbers; a correlation with the kernel as given does not.",
        ("flip-equivalence", "commutativity"))
def flip_equivalence():
    x, w = test_signal(), np.array([1.0, 2.0, -1.0])
    convolved = F.convolve1d(x[None, None], w[None, None], padding=2)[0, 0]
    flipped = _corr1(x, w[::-1], padding=2)
    plain = _corr1(x, w, padding=2)
    fig = _figure(10, 3.2)
    kernel_ax, out_ax = fig.subplots(1, 2, width_ratios=(1, 3))
    kernel_ax.stem(np.arange(3) - 0.08, w, linefmt="C0-", markerfmt="C0o", basefmt="k-",
                   label="w")
    kernel_ax.stem(np.arange(3) + 0.08, w[::-1], linefmt="C1-", markerfmt="C1s", basefmt="k-",
                   label="flip(w)")
    kernel_ax.set_xticks(range(3))
    kernel_ax.set_title("the kernel and its flip")
    kernel_ax.legend()
    positions = np.arange(len(convolved))
    out_ax.plot(positions, convolved, "o", ms=9, mfc="none", label="conv(x, w)")
    out_ax.plot(positions, flipped, "x", ms=7, label="corr(x, flip(w))")
    out_ax.plot(positions, plain, ":", color="grey", label="corr(x, w)")
    out_ax.set_title(f"max |conv(x, w) - corr(x, flip(w))| = "
                     f"{np.abs(convolved - flipped).max():.1g}")
    out_ax.set_xlabel("output position ('full' padding)")
    low, high = min(convolved.min(), plain.min()), max(convolved.max(), plain.max())
    out_ax.set_ylim(low - 0.1 * (high - low), high + 0.35 * (high - low))
    out_ax.legend(ncols=3, fontsize=8, loc="upper left")
    return fig


def named_kernels_table() -> dict[str, np.ndarray]:
    """The named 3×3 kernels of the notes, as the separable-kernels theorem states them."""
    from ..proofs.separable_kernels import KERNELS

    return {name: np.array(kernel, dtype=float) for name, kernel in KERNELS.items()}


@figure("named-kernels", "The named kernels of the notes on a drawn test image",
        "Each kernel of the notes (the matrices certified in separable-kernels) correlated "
        "with the test image by conv2d, padding 1. The edge kernels answer with a sign that "
        "says the direction of the step (red positive, blue negative); blur, sharpen and "
        "emboss (entries summing to 1) keep the grey levels.",
        ("separable-kernels",))
def named_kernels():
    image, kernels = test_image(), named_kernels_table()
    fig = _figure(12, 9)
    axes = fig.subplots(3, 4).ravel()
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("test image")
    for ax, (name, kernel) in zip(axes[1:], kernels.items()):
        response = _corr2(image, kernel)
        if kernel.sum() == 0:  # a derivative: signed, white where the image is flat
            limit = np.abs(response).max()
            ax.imshow(response, cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:  # a blur, sharpen or emboss keeps the grey levels
            ax.imshow(response, cmap="gray", vmin=0, vmax=1)
        ax.set_title(name.replace("_", " "))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def shifted(image: np.ndarray, t: tuple[int, int]) -> np.ndarray:
    """σ_t: the image moved by t inside its frame, zeros coming in, the rest falling off."""
    moved = np.zeros_like(image)
    rows, cols = image.shape
    (dr, dc) = t
    moved[max(dr, 0):rows + min(dr, 0), max(dc, 0):cols + min(dc, 0)] = \
        image[max(-dr, 0):rows - max(dr, 0), max(-dc, 0):cols - max(dc, 0)]
    return moved


@figure("equivariance", "Translation equivariance, and where it fails",
        "Differences between filtering a transformed image and transforming the filtered image "
        "(Sobel x, conv2d, padding 1). With circular padding a shift commutes exactly; with "
        "zero padding it does except where a window meets the border; a 90° rotation does not "
        "commute with an asymmetric kernel, unless the kernel is rotated too.",
        ("translation-equivariance", "zero-padding-border", "rotation-scale"))
def equivariance():
    image, sobel = test_image(40), named_kernels_table()["sobel_x"]
    t = (3, 5)
    corr = _corr2(image, sobel)
    circular = (_corr2(np.roll(image, t, (0, 1)), sobel, padding_mode="circular")
                - np.roll(_corr2(image, sobel, padding_mode="circular"), t, (0, 1)))
    bordered = _corr2(shifted(image, t), sobel) - shifted(corr, t)
    rotated = _corr2(np.rot90(image), sobel) - np.rot90(corr)
    turned = _corr2(np.rot90(image), np.rot90(sobel)) - np.rot90(corr)
    scale = np.abs(rotated).max()
    fig = _figure(12, 3.6)
    panels = [(circular, "shift by (3, 5), circular padding"),
              (bordered, "shift by (3, 5), zero padding"),
              (rotated, "rotation by 90°, same kernel"),
              (turned, "rotation by 90°, kernel rotated too")]
    for ax, (difference, title) in zip(fig.subplots(1, 4), panels):
        _difference_map(ax, difference, title, scale)
    return fig


@figure("transposed-scatter", "The transposed convolution scatters the upsampled error",
        "conv_transpose1d with stride 2: each error entry g[i], placed at 2i by the upsampling "
        "up_s, adds g[i]·w to the output starting there (the rows); their sum (bars) equals the "
        "correlation of the zero-padded upsampled error with the flipped kernel (dots), the "
        "input gradient of grad-input-flip.",
        ("transposed-is-adjoint", "grad-input-flip", "stride-is-subsampling"))
def transposed_scatter():
    g, w, s = np.array([1.0, -2.0, 0.5, 1.5]), np.array([1.0, 2.0, -1.0]), 2
    total = F.conv_transpose1d(g[None, None], w[None, None], stride=s)[0, 0]
    upsampled = np.zeros(s * (len(g) - 1) + 1)
    upsampled[::s] = g
    gathered = _corr1(upsampled, w[::-1], padding=len(w) - 1)
    rows = np.zeros((len(g), len(total)))
    for i, value in enumerate(g):
        rows[i, s * i:s * i + len(w)] = value * w
    fig = _figure(9, 5)
    scatter_ax, sum_ax = fig.subplots(2, 1, height_ratios=(len(g), 2.5), sharex=True)
    limit = np.abs(rows).max()
    scatter_ax.imshow(rows, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(rows):
        if s * i <= j < s * i + len(w):
            scatter_ax.text(j, i, f"{value:g}", ha="center", va="center")
    scatter_ax.set_yticks(range(len(g)), [f"g[{i}] = {v:g} at {s * i}" for i, v in enumerate(g)])
    scatter_ax.set_title(f"error g, stride {s}, kernel w = {w.tolist()}: each row is g[i]·w")
    sum_ax.bar(range(len(total)), total, color="C0", label="conv_transpose1d(g, w)")
    sum_ax.plot(range(len(gathered)), gathered, "o", color="C3",
                label="corr(pad(up_s g), flip(w))")
    sum_ax.axhline(0, color="black", lw=0.5)
    sum_ax.set_xlabel("input position")
    sum_ax.legend(fontsize=8)
    return fig


def measured_receptive_field(kernels: list[int], strides: list[int],
                             dilations: list[int]) -> int:
    """The extent of the input positions that reach one output of a stack of 1-D convs: from
    the first to the last nonzero of the input gradient of a middle output (all-ones kernels,
    so nothing cancels; strides and dilations may leave holes inside), on an input long enough
    for it to stay clear of the border."""
    sizes = [4 * receptive_field_formula(kernels, strides, dilations) * int(np.prod(strides))]
    for k, s, d in zip(kernels, strides, dilations):
        sizes.append((sizes[-1] - d * (k - 1) - 1) // s + 1)
    grad = np.zeros((1, 1, sizes[-1]))
    grad[0, 0, sizes[-1] // 2] = 1.0
    for layer in reversed(range(len(kernels))):
        weight = np.ones((1, 1, kernels[layer]))
        grad = F.conv1d_input((1, 1, sizes[layer]), weight, grad, stride=strides[layer],
                              dilation=dilations[layer])
    reached = np.flatnonzero(grad)
    return int(reached[-1] - reached[0] + 1)


def receptive_field_formula(kernels: list[int], strides: list[int],
                            dilations: list[int]) -> int:
    """r = 1 + Σ_l d_l (k_l - 1) Π_{i<l} s_i."""
    return 1 + sum(d * (k - 1) * int(np.prod(strides[:layer]))
                   for layer, (k, d) in enumerate(zip(kernels, dilations)))


@figure("receptive-field", "Receptive-field growth with depth",
        "Input positions that reach one output after L layers: measured as the support of the "
        "input gradient (conv1d_input through the stack, all-ones kernels), against the formula "
        "r = 1 + Σ_l d_l(k_l − 1)·Π_{i<l} s_i. Unit stride grows linearly; stride 2 and "
        "dilations 1, 2, 4, ... grow exponentially, with the same sizes 2^(L+1) − 1.",
        ("receptive-field",))
def receptive_field():
    depths = range(1, 7)
    stacks = {"k = 3": lambda L: ([3] * L, [1] * L, [1] * L),
              "k = 5": lambda L: ([5] * L, [1] * L, [1] * L),
              "k = 3, stride 2": lambda L: ([3] * L, [2] * L, [1] * L),
              "k = 3, dilation 1, 2, 4, ...": lambda L: ([3] * L, [1] * L,
                                                         [2 ** n for n in range(L)])}
    fig = _figure(6.5, 4)
    ax = fig.subplots()
    for n, (label, stack) in enumerate(stacks.items()):
        formula = [receptive_field_formula(*stack(L)) for L in depths]
        measured = [measured_receptive_field(*stack(L)) for L in depths]
        ax.plot(depths, formula, "-" if n < 3 else "--", color=f"C{n}",
                label=f"{label} (formula)")
        ax.plot(depths, measured, "os"[n // 3], color=f"C{n}", mfc="none", ms=5 + 3 * (n // 3))
    ax.set_yscale("log", base=2)
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel("receptive field r (input positions)")
    ax.set_title("lines: the formula; markers: measured by backpropagating one output")
    ax.legend(fontsize=8)
    return fig


@figure("pooling-shift", "Max pooling under a one-pixel shift",
        "As in the notes (Goodfellow et al., Fig. 9.8): a detector (conv1d with a small bump, "
        "then ReLU) and max "
        "pooling of width 3, stride 1, before and after the input moves one position right. "
        "Every detector value in the view changes; only some pooled values do.",
        ("pooling-invariance",))
def pooling_shift():
    x, w = test_signal(), np.array([0.25, 0.5, 0.25])
    moved = np.concatenate(([0.0], x[:-1]))
    detect = [np.maximum(_corr1(signal, w, padding=1), 0.0) for signal in (x, moved)]
    pooled = [F.max_pool1d(d[None, None], 3, stride=1, padding=1)[0, 0] for d in detect]
    view = slice(4, 14)
    fig = _figure(10, 4.6)
    for ax, (name, (before, after)) in zip(fig.subplots(2, 1, sharex=True),
                                           (("max pooling", pooled), ("detector", detect))):
        positions = np.arange(len(before))[view]
        changed = ~np.isclose(before[view], after[view])
        ax.bar(positions - 0.2, before[view], 0.4, label="input as drawn")
        ax.bar(positions + 0.2, after[view], 0.4, label="input moved by one")
        ax.plot(positions[changed], np.zeros(changed.sum()), "rv", label="changed")
        ax.set_title(f"{name}: {changed.sum()} of {changed.size} values changed")
        ax.set_ylim(0, 1.4 * max(before[view].max(), after[view].max()))
        ax.legend(fontsize=8, ncols=3, loc="upper left")
    fig.axes[-1].set_xlabel("position")
    return fig
