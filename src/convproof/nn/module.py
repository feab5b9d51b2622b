"""Parameter, Module and Sequential: the frame every layer fills in with forward and backward.

A layer computes y = f(x; w) in ``forward`` and keeps what its backward needs.  ``backward``
receives g = dL/dy and returns dL/dx; on the way it adds dL/dw to ``w.grad`` for each of its
parameters (the chain rule, one layer at a time, run from the last layer to the first):

    dL/dx = (dy/dx)^T g,        w.grad += (dy/dw)^T g

Gradients accumulate over backward calls until ``zero_grad()``, as in PyTorch.  Arrays are
NumPy or CuPy; x and g alike are read by :func:`as_input` (float32 or float64, integers as
float64, np.matrix as a plain array, masked arrays refused).  ``to("cpu" | "gpu")`` moves
parameters and buffers.  Names of parameters and buffers (``weight``, ``bias``,
``running_mean``, ``0.weight`` inside a Sequential) are PyTorch's, so a ``state_dict`` can be
exchanged with PyTorch's by converting the tensors.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..arrays import (FLOAT_DTYPES, array_module, check_numeric, compute_dtype, cupy_module,
                      float_dtype, plain_array)
from ..spec import check_flag
from .serialize import load_state, save_state

Array = Any
"""A NumPy or a CuPy array."""

DEVICES = ("cpu", "gpu")


def to_device(value: Any, device: str) -> Any:
    """``value`` as a NumPy array ("cpu") or a CuPy array ("gpu"); Python numbers unchanged."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if value is None or isinstance(value, (int, float)):
        return value
    if device == "gpu":
        return cupy_module("device 'gpu'").asarray(value)
    return value.get() if array_module(value) is not np else value


def as_generator(rng: Any) -> np.random.Generator:
    """np.random.default_rng(rng): a Generator, a seed (int or sequence of ints) or None for a
    fresh one; anything else is a TypeError naming ``rng``."""
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {rng!r}")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {rng!r}") \
            from exc


def integer_in(name: str, value: Any, low: int | None = None) -> int:
    """``value`` as an int once it is an integer (a NumPy one too, not a bool) of at least
    ``low``: else a TypeError (not an integer) or a ValueError (too small) naming it."""
    kind = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        low, f"an integer of at least {low}")
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {kind}, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return int(value)


def number_in(name: str, value: Any, low: float, high: float = math.inf, *,
              open_low: bool = False, open_high: bool = True, alternative: str = "") -> float:
    """``value`` as a float once it is a real number (not a bool) in the interval from ``low``
    to ``high`` (closed at ``low``, open at ``high`` unless told otherwise); else a ValueError
    naming it and the value (``alternative``, such as " or None", is added to the message)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and (value > low if open_low else value >= low) \
            and (value < high if open_high else value <= high):
        return float(value)
    interval = f"{'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    raise ValueError(f"{name} must be a number in {interval}{alternative}, got {value!r}")


def as_host(value: Any) -> Any:
    """A NumPy copy of an array (or a Python number as a 0-d array), for saving."""
    return np.array(to_device(value, "cpu"))


def saved_count(label: str, value: Any) -> int:
    """A counter read back from a saved state (a number or a 0-d array): a non-negative int,
    else a ValueError naming ``label``."""
    number = value.item() if getattr(value, "shape", None) == () else value
    if not isinstance(number, numbers.Integral) or isinstance(number, (bool, np.bool_)) \
            or number < 0:
        raise ValueError(f"{label} must be a non-negative int, got {value!r}")
    return int(number)


def _checked_entry(name: str, value: Any, current: Any) -> Any:
    """A saved entry for the module's ``current`` one: an int counter, or a real array of the
    same shape copied in the module's dtype and array module."""
    if isinstance(current, int):
        return saved_count(f"state[{name!r}]", value)
    return saved_array(f"state[{name!r}]", value, current, "the module's")


def saved_array(label: str, value: Any, like: Array, whose: str) -> Array:
    """A saved array in place of ``like``: real (float or integer, not bool or complex), of
    its shape, and finite in its dtype where it is finite (1e300 becomes inf in float32),
    copied in its dtype and array module; else a ValueError naming ``label`` and ``whose``
    array it replaces."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype) or dtype.kind not in "fiu":
        kind = dtype if isinstance(dtype, np.dtype) else type(value).__name__
        raise ValueError(f"{label} must be a real array (NumPy or CuPy), got {kind}")
    if tuple(np.shape(value)) != tuple(like.shape):
        raise ValueError(f"{label} has shape {tuple(np.shape(value))}, {whose} has "
                         f"{tuple(like.shape)}")
    xp = array_module(like)
    with np.errstate(over="ignore"):
        copied = xp.asarray(value, dtype=like.dtype).copy()
    if like.dtype.kind == "f" and bool((xp.isfinite(xp.asarray(value))
                                        & ~xp.isfinite(copied)).any()):
        raise ValueError(f"{label} holds values beyond the range of {like.dtype} ({whose} "
                         "dtype): they would load as inf")
    return copied


class Parameter:
    """A trainable array ``data`` and ``grad`` = the sum of dL/d(data) since ``zero_grad()``."""

    def __init__(self, data: Array) -> None:
        data = plain_array(data, "data")
        dtype = check_numeric("data", data)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"data must be float32 or float64 to be trained, got {dtype}")
        self.data = data
        self.grad: Array | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def size(self) -> int:
        return int(self.data.size)

    def accumulate(self, grad: Array) -> None:
        """grad <- grad + dL/d(data), in the dtype of ``data``."""
        check_numeric("grad", grad)
        if tuple(grad.shape) != self.shape:
            raise ValueError(f"gradient of shape {tuple(grad.shape)} for a parameter of shape "
                             f"{self.shape}")
        if self.grad is None:
            self.grad = grad.astype(self.data.dtype, copy=True)
        else:
            self.grad += grad

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.data.dtype})"


def _reading_grad_output(backward: Callable[..., Array]) -> Callable[..., Array]:
    """``backward``, given its first argument after self (grad_output, whatever its name) as
    :func:`as_input` reads it (as a forward its input); other arguments pass through."""
    signature = inspect.signature(backward)
    name = list(signature.parameters)[1]

    @functools.wraps(backward)
    def wrapped(*args: Any, **kwargs: Any) -> Array:
        bound = signature.bind(*args, **kwargs)
        bound.arguments[name] = as_input(bound.arguments[name], "grad_output")
        return backward(*bound.args, **bound.kwargs)
    return wrapped


class Module:
    """A layer or a network: ``forward``, ``backward``, parameters, buffers, train/eval mode.

    Subclasses store their parameters as :class:`Parameter` attributes, their sub-layers as
    :class:`Module` attributes, and list the attribute names of their buffers (arrays that are
    state but not trained, such as running statistics) in ``buffer_names``.
    """

    buffer_names: tuple[str, ...] = ()
    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every ``backward`` defined below Module gets grad_output through :func:`as_input`."""
        super().__init_subclass__(**kwargs)
        if "backward" in cls.__dict__:
            cls.backward = _reading_grad_output(cls.__dict__["backward"])

    def forward(self, x: Array) -> Array:
        raise NotImplementedError

    def backward(self, grad_output: Array) -> Array:
        raise NotImplementedError

    def __call__(self, x: Array) -> Array:
        return self.forward(x)

    # -- what the forward pass keeps for the backward pass ------------------------------------
    def remember(self, output: Array, **saved: Any) -> None:
        """Keep the arrays ``backward`` needs, and the shape of ``output`` to check g against."""
        self._saved = dict(saved, output_shape=tuple(output.shape))

    def recall(self, grad_output: Array) -> dict[str, Any]:
        """What ``forward`` kept; refuses a backward before any forward, or a grad_output that
        is no numeric array (a backward defined outside a Module subclass never read it by
        :func:`as_input`) or of the wrong shape."""
        saved = self.__dict__.get("_saved")
        if saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward: "
                               "run forward first, it keeps what backward needs")
        check_numeric("grad_output", grad_output)
        if tuple(grad_output.shape) != saved["output_shape"]:
            raise ValueError(f"grad_output must have the shape of the last output of "
                             f"{type(self).__name__}, {saved['output_shape']}, "
                             f"got {tuple(grad_output.shape)}")
        return saved

    def forget(self) -> None:
        """Drop what the last forward pass kept, here and in every sub-layer."""
        for module in self.modules():
            module.__dict__.pop("_saved", None)

    # -- the tree of layers -------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, parents first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def _named_modules(self, path: str = "") -> Iterator[tuple[str, Module]]:
        """(path, module) for this module and every module below it, parents first, a module
        held twice at each of its places; a child's path is its parent's and its name joined
        by "." ("1.0"), this module's is ``path``."""
        yield path, self
        for name, child in self.named_children():
            yield from child._named_modules(f"{path}.{name}" if path else name)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) below this module; a Parameter held twice is listed once."""
        seen: set[int] = set()
        for path, module in self._named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield f"{prefix}{path}.{name}" if path else prefix + name, value

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for name in self.buffer_names:
            if getattr(self, name, None) is not None:
                yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(f"{prefix}{name}.")

    def parameters(self) -> list[Parameter]:
        return [parameter for _, parameter in self.named_parameters()]

    def grads(self) -> list[Array | None]:
        """The ``grad`` of every parameter, in the order of ``parameters()``."""
        return [parameter.grad for parameter in self.parameters()]

    def parameter_count(self) -> int:
        return sum(parameter.size for parameter in self.parameters())

    def zero_grad(self) -> None:
        for parameter in self.parameters():
            parameter.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Training mode (batch statistics, dropout on) for this module and all below it."""
        mode = check_flag("mode", mode)
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Inference mode: running statistics, dropout off."""
        return self.train(False)

    # -- where the arrays live ----------------------------------------------------------------
    def _convert(self, convert: Any) -> None:
        for module in self.modules():
            for value in vars(module).values():
                if isinstance(value, Parameter):
                    value.data = convert(value.data)
                    value.grad = None if value.grad is None else convert(value.grad)
            for name in module.buffer_names:
                setattr(module, name, convert(getattr(module, name, None)))
        self.forget()

    def to(self, device: str) -> Module:
        """Move every parameter (with its grad) and buffer to "cpu" (NumPy) or "gpu" (CuPy).

        An optimizer keeps its moments on the device of the parameters it first updates:
        move the model before creating its optimizer.
        """
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        self._convert(lambda value: to_device(value, device))
        return self

    def astype(self, dtype: Any) -> Module:
        """Convert every floating parameter and buffer to ``dtype`` (float32 or float64)."""
        dtype = float_dtype(dtype)

        def convert(value: Any) -> Any:
            if getattr(value, "dtype", None) is not None and value.dtype.kind == "f":
                return value.astype(dtype)
            return value

        self._convert(convert)
        return self

    # -- state --------------------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> dict[str, Any]:
        """Parameters and buffers by name (``0.weight``, ``1.running_mean``), in PyTorch's
        order: each module's parameters, then its buffers, then its children's."""
        state = {prefix + name: value.data for name, value in vars(self).items()
                 if isinstance(value, Parameter)}
        state.update((prefix + name, getattr(self, name)) for name in self.buffer_names
                     if getattr(self, name, None) is not None)
        for name, child in self.named_children():
            state.update(child.state_dict(f"{prefix}{name}."))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy arrays into the parameters and buffers of the same names (and shapes): real
        arrays, and non-negative ints for counters; nothing changes when an entry is refused."""
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f"state does not fit {type(self).__name__}: missing {missing}, "
                             f"unexpected {unexpected}")
        checked = {name: _checked_entry(name, value, own[name]) for name, value in state.items()}
        for name, value in checked.items():  # assigned once every entry is known to fit
            self._assign(name, value)
        self.forget()

    def _assign(self, name: str, value: Any) -> None:
        *path, leaf = name.split(".")
        owner: Module = self
        for step in path:
            owner = dict(owner.named_children())[step]
        target = getattr(owner, leaf)
        if isinstance(target, Parameter):
            target.data = value
        else:
            setattr(owner, leaf, value)

    def save(self, path: str) -> None:
        """Write ``state_dict()`` to an ``.npz`` file."""
        save_state(path, {name: as_host(value) for name, value in self.state_dict().items()})

    def load(self, path: str) -> Module:
        """Read parameters and buffers written by :meth:`save`."""
        self.load_state_dict(load_state(path))
        return self

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """y = f_L(... f_2(f_1(x))); backward runs the layers' backward passes in reverse order."""

    def __init__(self, *layers: Module) -> None:
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layer {index} must be a Module, got {type(layer).__name__}")
        self.layers = list(layers)
        _refuse_repeated_layers(self)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, layer in enumerate(self.layers):
            yield str(index), layer

    def forward(self, x: Array) -> Array:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_output: Array) -> Array:
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def __getitem__(self, index: int | slice) -> Module:
        """A layer, or a Sequential of the same layer objects for a slice (as PyTorch's)."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


def _refuse_repeated_layers(container: Module) -> None:
    """A ValueError when one layer object sits at two places below ``container``: a layer keeps
    what its last forward computed for its backward, so it cannot run twice in one pass."""
    places: dict[int, tuple[Module, list[str]]] = {}
    for path, module in container._named_modules():
        if module is not container:
            places.setdefault(id(module), (module, []))[1].append(path)
    for layer, paths in places.values():
        if len(paths) > 1:
            name = type(layer).__name__ if any(layer.named_children()) else repr(layer)
            raise ValueError(
                f"{type(container).__name__} holds the same layer object {name} "
                f"at positions {', '.join(paths)}: weight sharing is not supported (a layer "
                f"keeps what its last forward computed for its backward); use a separate "
                f"layer at each position")


def as_input(x: Any, name: str = "input") -> Array:
    """``x`` as a plain array (:func:`plain_array`) in its compute dtype: float32 stays, float64
    and integers become float64; else (float16, bool, not an array) a TypeError that calls it
    ``name``."""
    x = plain_array(x, name)
    check_numeric(name, x)  # compute_dtype passes None over (an optional bias)
    return x.astype(compute_dtype({name: x}), copy=False)


def check_input(layer: Module, x: Any, layouts: dict[int, str],
                channels: int | None = None, channel_axis: int = 1) -> Array:
    """``x`` in its compute dtype, once it is a real array of one of the ranks in ``layouts``
    (rank -> "(N, C, H, W)") with ``channels`` entries along ``channel_axis`` when given;
    else a TypeError or ValueError that names the layer, the expected and the actual shape."""
    x = as_input(x)
    name = type(layer).__name__
    if x.ndim not in layouts:
        expected = " or ".join(layouts.values())
        raise ValueError(f"{name} expects input of shape {expected}, got shape {tuple(x.shape)} "
                         f"({x.ndim} dims)")
    if channels is not None and x.shape[channel_axis] != channels:
        raise ValueError(f"{name} expects {channels} channels along axis {channel_axis % x.ndim}"
                         f" of input {layouts[x.ndim]}, got shape {tuple(x.shape)}")
    return x
