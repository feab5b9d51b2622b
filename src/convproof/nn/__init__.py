"""Layers with readable backward passes, initializers, optimizers, losses and augmentation.

    import convproof as cp
    model = cp.nn.Sequential(cp.nn.Conv2d(1, 6, 5), cp.nn.ReLU(), cp.nn.MaxPool2d(2),
                             cp.nn.Flatten(), cp.nn.Linear(6 * 14 * 14, 10))
    optimizer = cp.nn.optim.Adam(model.parameters(), lr=1e-3)
    loss, grad = cp.nn.losses.softmax_cross_entropy(model.forward(x), labels)
    optimizer.zero_grad(); model.backward(grad); optimizer.step()

Every layer's ``backward`` is the derivative stated in its docstring, computed with the
gradients of :mod:`convproof.functional`; the same code runs on NumPy and CuPy arrays.
"""

from __future__ import annotations

from . import data, init, losses, optim
from .activation import ReLU, Sigmoid, Tanh
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import Dropout
from .flatten import Flatten
from .gradient_check import GradcheckError, GradcheckReport, gradcheck
from .linear import Linear
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d
from .pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "Dropout", "Flatten", "GlobalAvgPool2d", "GradcheckError", "GradcheckReport", "Linear",
    "MaxPool2d", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh", "data",
    "gradcheck", "init", "losses", "optim",
]
