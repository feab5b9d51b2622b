"""Optimizers: SGD with momentum in the notes' form, and Adam with bias correction.

SGD (learning rate eta, momentum mu, weight decay lambda; g = grad + lambda w):

    v <- mu v - eta g,     w <- w + v                      (v starts at 0)

This is PyTorch's b <- mu b + g (b_1 = g), w <- w - eta b: by induction v_k = -eta b_k, so the
two produce the same trajectory while eta is constant (with a schedule they differ: the notes'
velocity keeps the learning rate it was accumulated with).

Adam (``adam-bias-correction``; step k = 1, 2, ... of each parameter):

    m <- beta1 m + (1 - beta1) g,          v <- beta2 v + (1 - beta2) g^2
    mhat = m / (1 - beta1^k),              vhat = v / (1 - beta2^k)
    w <- w - eta mhat / (sqrt(vhat) + eps)

For stationary gradients E[m_k] = (1 - beta1^k) E[g], so mhat is unbiased.  The notes write
the numerator as mhat + eps; ``numerator_eps=True`` selects that variant, which moves every
weight by about -eta eps / (sqrt(vhat) + eps) even when g = 0.  It is not the default.

State (moments, step counts, hyperparameters) round-trips through ``state_dict`` /
``load_state_dict`` and ``.npz`` files (``save`` / ``load``), so training resumes exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..arrays import array_module, check_numeric
from ..spec import check_flag
from .module import Array, Parameter, as_host, number_in, saved_array, saved_count
from .serialize import load_state, save_state


def _plain(value: Any) -> Any:
    """A saved value as Python objects: a 0-d or 1-d array read back from a file as its
    number or list (a tuple for a pair such as betas)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    return tuple(value) if isinstance(value, list) else value


class Optimizer:
    """Skeleton: ``step()`` applies ``update`` to every parameter that has a gradient.

    ``hyperparameters`` names the attributes saved with the state (``lr`` can be changed
    between steps by assigning it; the value is checked as the constructor checks it).
    """

    hyperparameters: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    """The per-parameter state, all present once a parameter has been updated (``step`` is a
    count, the others arrays of the parameter's shape)."""

    def __init__(self, params: Iterable[Parameter]) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty: pass model.parameters()")
        seen: dict[int, int] = {}
        for index, parameter in enumerate(self.params):
            if not isinstance(parameter, Parameter):
                raise TypeError(f"params[{index}] must be a Parameter, got "
                                f"{type(parameter).__name__}")
            if id(parameter) in seen:
                raise ValueError(f"params[{index}] is params[{seen[id(parameter)]}] again: it "
                                 "would be updated twice a step")
            seen[id(parameter)] = index
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def configure(self, **hyperparameters: Any) -> None:
        """Check and set the hyperparameters (the constructor's checks, also on loading)."""
        raise NotImplementedError

    def update(self, w: Array, g: Array, state: dict[str, Any]) -> None:
        """Change ``w`` in place, given its gradient and its slots."""
        raise NotImplementedError

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: Any) -> None:
        self._lr = number_in("lr", value, 0.0)

    def zero_grad(self) -> None:
        for parameter in self.params:
            parameter.zero_grad()

    def step(self) -> None:
        """Every gradient checked first: a refused step changes no parameter."""
        for index, parameter in enumerate(self.params):
            if parameter.grad is None:
                continue
            check_numeric(f"params[{index}].grad", parameter.grad)  # a list set by hand
            if tuple(parameter.grad.shape) != parameter.shape:
                raise ValueError(f"params[{index}].grad has shape {tuple(parameter.grad.shape)}, "
                                 f"its parameter {parameter.shape}")
        for parameter, state in zip(self.params, self.state):
            if parameter.grad is not None:
                self.update(parameter.data, parameter.grad, state)

    def _decayed(self, w: Array, g: Array) -> Array:
        """g + lambda w (L2 weight decay, as PyTorch's ``weight_decay``)."""
        return g + self.weight_decay * w if self.weight_decay else g

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters by name, slots as ``"<parameter index>.<slot>"``."""
        state = {name: getattr(self, name) for name in self.hyperparameters}
        for index, slots in enumerate(self.state):
            state.update({f"{index}.{slot}": value for slot, value in slots.items()})
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Hyperparameters and slots from :meth:`state_dict`, each checked as the constructor
        checks it; nothing changes when an entry is refused."""
        for name in self.hyperparameters:
            if name not in state:
                raise ValueError(f"state lacks the hyperparameter {name!r}")
        slots: list[dict[str, Any]] = [{} for _ in self.params]
        for key, value in state.items():
            if key in self.hyperparameters:
                continue
            index, _, slot = key.partition(".") if isinstance(key, str) else ("", "", "")
            if not index.isdigit() or int(index) >= len(self.params):
                raise ValueError(f"state entry {key!r} is neither a hyperparameter of "
                                 f"{type(self).__name__} ({', '.join(self.hyperparameters)}) "
                                 f"nor a parameter's slot ('<index>.<slot>', "
                                 f"{len(self.params)} parameters)")
            slots[int(index)][slot] = self._slot(key, slot, value, self.params[int(index)].data)
        for index, kept in enumerate(slots):
            if kept and set(kept) != set(self.slots):
                missing = [slot for slot in self.slots if slot not in kept]
                raise ValueError(f"state of parameter {index} lacks {missing}: a parameter's "
                                 f"state is all of {list(self.slots)} or nothing")
        previous = {name: getattr(self, name) for name in self.hyperparameters}
        try:
            self.configure(**{name: _plain(state[name]) for name in self.hyperparameters})
        except (TypeError, ValueError) as exc:
            self.configure(**previous)
            raise ValueError(f"state: {exc}") from None
        self.state = slots

    def _slot(self, key: str, slot: str, value: Any, w: Array) -> Any:
        """A slot of the saved state, checked against its parameter ``w``."""
        if slot not in self.slots:
            raise ValueError(f"state entry {key!r}: {type(self).__name__} keeps no slot "
                             f"{slot!r} (it keeps {', '.join(self.slots)})")
        if slot == "step":
            return saved_count(f"state[{key!r}]", value)
        return saved_array(f"state[{key!r}]", value, w, f"parameter {key.partition('.')[0]}")

    def save(self, path: str) -> None:
        save_state(path, {key: as_host(value) for key, value in self.state_dict().items()})

    def load(self, path: str) -> Optimizer:
        self.load_state_dict(load_state(path))
        return self


class SGD(Optimizer):
    """v <- mu v - lr (g + weight_decay w); w <- w + v (plain SGD for momentum 0)."""

    hyperparameters = ("lr", "momentum", "weight_decay")
    slots = ("velocity",)

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self.configure(lr=lr, momentum=momentum, weight_decay=weight_decay)

    def configure(self, *, lr: Any, momentum: Any, weight_decay: Any) -> None:
        self.lr = lr
        self.momentum = number_in("momentum", momentum, 0.0)
        self.weight_decay = number_in("weight_decay", weight_decay, 0.0)

    def update(self, w: Array, g: Array, state: dict[str, Any]) -> None:
        g = self._decayed(w, g)
        if not self.momentum:
            w -= self.lr * g
            return
        velocity = state.setdefault("velocity", array_module(w).zeros_like(w))
        velocity *= self.momentum
        velocity -= self.lr * g
        w += velocity


class Adam(Optimizer):
    """Adam with bias correction (``numerator_eps=True``: the notes' (mhat + eps) variant)."""

    hyperparameters = ("lr", "betas", "eps", "weight_decay", "numerator_eps")
    slots = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, numerator_eps: bool = False) -> None:
        super().__init__(params)
        self.configure(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       numerator_eps=numerator_eps)

    def configure(self, *, lr: Any, betas: Any, eps: Any, weight_decay: Any,
                  numerator_eps: Any) -> None:
        if not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        numerator_eps = check_flag("numerator_eps", numerator_eps)
        self.lr = lr
        self.betas = (number_in("betas[0]", betas[0], 0.0, 1.0),
                      number_in("betas[1]", betas[1], 0.0, 1.0))
        self.eps = number_in("eps", eps, 0.0)
        self.weight_decay = number_in("weight_decay", weight_decay, 0.0)
        self.numerator_eps = numerator_eps

    def update(self, w: Array, g: Array, state: dict[str, Any]) -> None:
        xp = array_module(w)
        g = self._decayed(w, g)
        beta1, beta2 = self.betas
        step = state["step"] = state.get("step", 0) + 1
        m = state.setdefault("exp_avg", xp.zeros_like(w))
        v = state.setdefault("exp_avg_sq", xp.zeros_like(w))
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        if self.numerator_eps:
            m_hat = m_hat + self.eps
        w -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
