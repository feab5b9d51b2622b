"""What an implementation computes, stated as the derived operation with some changes.

A :class:`Model` is a convolution-family operation on one problem size: the derived operation of
its ``spec`` (conv: y = A(w) x + b; conv_transpose: y = T(w) x + b; weight_grad: the gradient
of conv in w), applied to inputs whose channels, weight, output size or bias are changed as
the model says.  The correct operation is the model without changes; a known fault is a model
with one (see :mod:`.faults`).  Models are predicted two ways: with the float64 reference (fast,
to screen many candidates) and with the derived matrices (to confirm the one that fits).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import reference
from ..spec import ConvSpec
from .derived import derive

WeightMap = tuple[str, tuple[int, ...]]   # ("flip", axes) | ("permute", axes) | ("swap", (G,))


@dataclass(frozen=True)
class Fault:
    """A known fault: a short name and the sentence users read (what is wrong, and the fix)."""

    name: str
    message: str


def map_weight(weight_map: WeightMap, w: np.ndarray) -> np.ndarray:
    """flip: reverse the given spatial axes; permute: reorder the spatial axes; swap: read
    (C_out, C_in/G, ...) as (C_in, C_out/G, ...) group by group,
    w'[g Co + o, c] = w[g Ci + c, o]."""
    kind, axes = weight_map
    if kind == "flip":
        return np.flip(w, axis=tuple(2 + a for a in axes))
    if kind == "permute":
        return np.transpose(w, (0, 1, *(2 + a for a in axes)))
    groups = axes[0]
    blocks = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
    return blocks.swapaxes(1, 2).reshape(w.shape)


class Variant:
    """A model that a fault can change: a frozen dataclass with ``spec``, ``faults`` and
    ``output_shape``."""

    def changed(self, fault: Fault, spec_changes: dict[str, Any] | None = None,
                **fields: Any) -> Any:
        """A copy with ``fault`` added, some fields and some spec fields changed; None when the
        change leaves no valid operation (a kernel larger than the padded input, ...)."""
        try:
            if spec_changes:
                fields["spec"] = dataclasses.replace(self.spec, **spec_changes)
            model = dataclasses.replace(self, faults=self.faults + (fault,), **fields)
            model.output_shape(1)
        except ValueError:
            return None
        return model


@dataclass(frozen=True)
class Model(Variant):
    """One operation on inputs of spatial ``size``: the derived operation of ``spec``, with

    weight_maps  applied to the weight (conv kinds) or to the computed weight gradient
    in_order     input channel c read from channel in_order[c]
    out_order    output channel o holding the computed channel out_order[o]
    keep         the output cut to this spatial size (from the start)
    crop         the output's last rows dropped, this many on each axis (after ``keep``; a
                 count, so that a second fault that changes the size keeps it)
    bias_scale   the bias added this many times; batch_mean: the weight gradient divided by N.
    ``role`` is what users call it: forward, transposed, input gradient, weight gradient.
    """

    kind: str
    role: str
    spec: ConvSpec
    size: tuple[int, ...]
    bias: bool = False
    weight_maps: tuple[WeightMap, ...] = ()
    in_order: tuple[int, ...] | None = None
    out_order: tuple[int, ...] | None = None
    keep: tuple[int, ...] | None = None
    crop: tuple[int, ...] | None = None
    bias_scale: float = 1.0
    batch_mean: bool = False
    faults: tuple[Fault, ...] = field(default=(), compare=False)

    @property
    def in_channels(self) -> int:
        """Channels of the operation's input x (the forward conv's output for conv_transpose)."""
        return self.spec.out_channels if self.kind == "conv_transpose" else self.spec.in_channels

    @property
    def out_channels(self) -> int:
        return self.spec.in_channels if self.kind == "conv_transpose" else self.spec.out_channels

    def spatial_out(self) -> tuple[int, ...]:
        """The spatial size of the computed output, before ``keep``."""
        if self.kind == "conv_transpose":
            return tuple(self.spec.transposed_output_size(self.size))
        return tuple(self.spec.output_size(self.size))

    def output_shape(self, batch: int) -> tuple[int, ...]:
        """The shape of what the model returns for a batch of ``batch`` inputs."""
        spatial = self.spatial_out()
        if self.kind == "weight_grad":
            shape = np.empty(self.spec.weight_shape, dtype=np.int8)
            for weight_map in self.weight_maps:
                shape = map_weight(weight_map, shape)
            return shape.shape
        if self.keep is not None:
            if any(k > s for k, s in zip(self.keep, spatial)):
                raise ValueError(f"keep {self.keep} exceeds the output size {spatial}")
            spatial = self.keep
        if self.crop is not None:
            if any(c >= s for c, s in zip(self.crop, spatial)):
                raise ValueError(f"crop {self.crop} leaves no output of {spatial}")
            spatial = tuple(s - c for s, c in zip(spatial, self.crop))
        return (batch, self.out_channels, *spatial)

    def predict(self, args: tuple[np.ndarray | None, ...], exact: bool) -> np.ndarray:
        """The model's output on ``args`` = (x, w, b), or (x, g) for weight_grad; ``exact``
        with the derived matrices, else with the float64 reference."""
        engine = DERIVED if exact else REFERENCE
        if self.kind == "weight_grad":
            return self._weight_grad(engine, *args)
        x, w, b = args
        if self.in_order is not None:
            x = x[:, list(self.in_order)]
        for weight_map in self.weight_maps:
            w = map_weight(weight_map, w)
        y = getattr(engine, self.kind)(x, w, self.spec)
        if self.bias and b is not None:
            y = y + self.bias_scale * b.reshape((-1,) + (1,) * self.spec.dims)
        if self.out_order is not None:
            y = y[:, list(self.out_order)]
        if self.keep is not None:
            y = y[(Ellipsis, *(slice(0, k) for k in self.keep))]
        if self.crop is not None:
            y = y[(Ellipsis, *(slice(0, n - c) for n, c in zip(y.shape[2:], self.crop)))]
        return y

    def _weight_grad(self, engine: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        """grad_w of y = conv(x, w) for grad_y = g, g placed at the start of this spec's output
        (cut or extended by zeros when the spec gives another output size)."""
        fitted = np.zeros((g.shape[0], g.shape[1], *self.spatial_out()))
        common = tuple(slice(0, min(a, b)) for a, b in zip(fitted.shape[2:], g.shape[2:]))
        fitted[(slice(None), slice(None), *common)] = g[(slice(None), slice(None), *common)]
        grad = engine.weight_grad(x, fitted, self.spec)
        if self.batch_mean:
            grad = grad / x.shape[0]
        for weight_map in self.weight_maps:
            grad = map_weight(weight_map, grad)
        return grad


def _options(spec: ConvSpec) -> dict[str, Any]:
    return dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                groups=spec.groups, padding_mode=spec.padding_mode)


class ReferenceEngine:
    """The float64 oracle of :mod:`convproof.reference`, with a spec's arguments."""

    @staticmethod
    def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
        return reference.conv(x, w, None, **_options(spec))

    @staticmethod
    def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
        return reference.conv_transpose(x, w, None, output_padding=spec.output_padding,
                                        **_options(spec))

    @staticmethod
    def weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
        return reference.conv_weight_grad(x, spec.weight_shape, g, **_options(spec))


class DerivedEngine:
    """The derived matrices of :mod:`convproof.symbolic` with the weight values substituted."""

    @staticmethod
    def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
        return derive("conv", spec, x.shape[1:]).apply(x, w)

    @staticmethod
    def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
        return derive("conv_transpose", spec, x.shape[1:]).apply(x, w)

    @staticmethod
    def weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
        return derive("conv", spec, x.shape[1:]).weight_grad(x, g)


REFERENCE, DERIVED = ReferenceEngine(), DerivedEngine()
