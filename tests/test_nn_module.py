"""Parameters, the module tree, modes, devices, state files, and clear errors for bad input."""

from __future__ import annotations

import inspect
import re
import sys
import zipfile

import numpy as np
import pytest

from convproof import nn
from test_nn_helpers import assert_close


def small_network(rng, dtype=np.float64) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng, dtype=dtype),
                         nn.BatchNorm2d(4, dtype=dtype), nn.ReLU(), nn.Dropout(0.2, rng=rng),
                         nn.GlobalAvgPool2d(), nn.Linear(4, 3, rng=rng, dtype=dtype))


def test_names_follow_pytorch(rng, torch):
    ours = small_network(rng)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                 torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Identity(),
                                 torch.nn.Linear(4, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [name for name, _ in ours.named_parameters()] == \
        [name for name, _ in theirs.named_parameters()]
    assert ours.parameter_count() == sum(p.numel() for p in theirs.parameters())


def test_gradients_accumulate_until_zero_grad(rng):
    layer = nn.Linear(4, 3, rng=rng, dtype=np.float64)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer.forward(x)
    layer.backward(g)
    once = [grad.copy() for grad in layer.grads()]
    layer.backward(g)
    for grad, first in zip(layer.grads(), once):
        assert_close(grad, 2 * first)
    layer.zero_grad()
    assert layer.grads() == [None, None]


def test_a_slice_of_a_sequential_is_a_sequential_of_the_same_layers(rng):
    model = small_network(rng)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert all(a is b for a, b in zip(head, model.layers[:2]))
    x = rng.standard_normal((2, 2, 5, 5))
    np.testing.assert_array_equal(head.forward(x), model[1].forward(model[0].forward(x)))
    assert model[-1] is model.layers[-1]


def test_train_and_eval_reach_every_layer(rng):
    model = small_network(rng)
    assert model.eval() is model
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())
    with pytest.raises(TypeError, match="mode must be True or False, got 'no'"):
        model.train("no")


def test_save_and_load_round_trip(rng, tmp_path):
    model = small_network(rng)
    x = rng.standard_normal((3, 2, 5, 5))
    model.forward(x)  # moves the running statistics away from their start
    model.eval()
    path = tmp_path / "model.npz"
    model.save(path)
    copy = small_network(np.random.default_rng(rng.integers(2**32))).eval()
    assert not np.array_equal(copy.forward(x), model.forward(x))
    copy.load(path)
    assert np.array_equal(copy.forward(x), model.forward(x))
    assert copy[1].num_batches_tracked == 1
    assert copy[0].weight.data.dtype == np.float64


def test_state_files_keep_every_entry(rng, tmp_path):
    """Names that are keywords of np.savez ('file', 'allow_pickle') are entries like others."""
    from convproof.nn.serialize import load_state, save_state
    state = {"file": rng.standard_normal((2, 3)), "allow_pickle": rng.standard_normal(4),
             "0.weight": rng.standard_normal((3, 1)).astype(np.float32),
             "1.num_batches_tracked": int(rng.integers(1, 99))}
    save_state(tmp_path / "state.npz", state)
    loaded = load_state(tmp_path / "state.npz")
    assert sorted(loaded) == sorted(state)
    for name, value in state.items():
        assert loaded[name].dtype == np.asarray(value).dtype
        assert np.array_equal(loaded[name], value)
    with pytest.raises(ValueError, match=re.escape("state['x'] must be an array of numbers, "
                                                   "got dtype object")):
        save_state(tmp_path / "objects.npz", {"x": np.array([1, "a"], dtype=object)})


class _ForeignTensor:
    """An array of another library: a shape, and a dtype that is no NumPy dtype."""

    def __init__(self, array):
        self.shape, self.dtype = array.shape, "float64"


def test_load_state_dict_refuses_what_does_not_fit(rng):
    model = small_network(rng)
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"missing \['5.bias'\]"):
        model.load_state_dict({k: v for k, v in state.items() if k != "5.bias"})
    with pytest.raises(ValueError, match=r"unexpected \['9.weight'\]"):
        model.load_state_dict({**state, "9.weight": np.ones(3)})
    with pytest.raises(ValueError, match=r"state\['5.weight'\] has shape \(4, 3\)"):
        model.load_state_dict({**state, "5.weight": rng.standard_normal((4, 3))})
    weight = state["0.weight"]
    for name, bad, message in [
            ("0.weight", weight + 1j, r"must be a real array \(NumPy or CuPy\), got complex128"),
            ("0.weight", weight.astype(str), r"must be a real array \(NumPy or CuPy\), got <U"),
            ("0.weight", weight > 0, r"must be a real array \(NumPy or CuPy\), got bool"),
            ("0.weight", _ForeignTensor(weight), r"must be a real array \(NumPy or CuPy\), got "
                                                 "_ForeignTensor"),
            ("1.num_batches_tracked", 2.7, "must be a non-negative int, got 2.7"),
            ("1.num_batches_tracked", "3", "must be a non-negative int, got '3'"),
            ("1.num_batches_tracked", -5, "must be a non-negative int, got -5")]:
        with pytest.raises(ValueError, match=re.escape(f"state[{name!r}] ") + message):
            model.load_state_dict({**state, name: bad})
    np.testing.assert_array_equal(model.state_dict()["0.weight"], weight)  # nothing changed
    model.load_state_dict({**state, "1.num_batches_tracked": np.int64(4)})
    assert model[1].num_batches_tracked == 4


def test_astype_converts_parameters_and_buffers(rng):
    model = small_network(rng, dtype=np.float32)
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    assert model.forward(x).dtype == np.float32
    model.astype(np.float64)
    assert all(p.data.dtype == np.float64 for p in model.parameters())
    assert model[1].running_var.dtype == np.float64
    for dtype in (np.int32, np.float16, "bfloat16"):  # a model that could not run afterwards
        with pytest.raises(TypeError, match="dtype must be float32 or float64, got "):
            model.astype(dtype)
    assert model[1].running_var.dtype == np.float64  # nothing changed by a refused call


def test_devices(rng):
    model = small_network(rng)
    weight = model[0].weight.data
    assert model.to("cpu") is model and model[0].weight.data is weight
    with pytest.raises(ValueError, match="device must be one of .*, got 'tpu'"):
        model.to("tpu")


def test_gpu_without_cupy_is_refused_by_name(rng, monkeypatch):
    """Checked whether or not CuPy is installed: a None entry in sys.modules makes the import
    fail as it would without CuPy."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    model = small_network(rng)
    with pytest.raises(ImportError, match="device 'gpu' needs CuPy"):
        model.to("gpu")


@pytest.mark.gpu
def test_devices_gpu_round_trip(rng):
    cupy = pytest.importorskip("cupy")
    model = small_network(rng)
    before = {name: value.copy() for name, value in model.state_dict().items()
              if isinstance(value, np.ndarray)}
    assert before and model.to("gpu") is model
    state = model.state_dict()
    for name, value in before.items():
        assert isinstance(state[name], cupy.ndarray), name
        assert np.array_equal(cupy.asnumpy(state[name]), value), name
    assert model.to("cpu") is model
    state = model.state_dict()
    for name, value in before.items():
        assert type(state[name]) is np.ndarray, name
        assert np.array_equal(state[name], value), name


def test_layers_accept_float32_and_integer_inputs(rng):
    layer = nn.Conv2d(1, 2, 3, rng=rng)
    assert layer.forward(rng.standard_normal((1, 1, 5, 5)).astype(np.float32)).dtype == np.float32
    assert layer.forward(rng.integers(-5, 5, (1, 1, 5, 5))).dtype == np.float64


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, shape, message", [
    (lambda: nn.Conv2d(3, 8, 3), (2, 4, 8, 8),
     r"Conv2d expects 3 channels along axis 1 of input \(N, 3, H, W\), got shape \(2, 4, 8, 8\)"),
    (lambda: nn.Conv2d(3, 8, 3), (3, 8, 8),
     r"Conv2d expects input of shape \(N, 3, H, W\), got shape \(3, 8, 8\) \(3 dims\)"),
    (lambda: nn.Conv1d(2, 2, 3), (1, 2, 3, 3), r"Conv1d expects input of shape \(N, 2, L\)"),
    (lambda: nn.ConvTranspose3d(2, 2, 3), (1, 3, 4, 4, 4), "ConvTranspose3d expects 2 channels"),
    (lambda: nn.Conv2d(1, 1, 5), (1, 1, 3, 3), r"kernel_size\[0\] = 5 .* larger than the padded"),
    (lambda: nn.BatchNorm2d(4), (2, 3, 5, 5), "BatchNorm2d expects 4 channels"),
    (lambda: nn.BatchNorm1d(4), (2, 4, 5, 5), r"BatchNorm1d expects input of shape \(N, C\) or"),
    (lambda: nn.BatchNorm1d(4), (1, 4), "needs more than one value per channel"),
    (lambda: nn.MaxPool2d(2), (4, 4), r"MaxPool2d expects input of shape \(N, C, H, W\)"),
    (lambda: nn.Linear(5, 2), (3, 4), r"Linear expects input of shape \(\.\.\., 5\), got shape"),
    (lambda: nn.Flatten(2, 4), (3, 4), "Flatten.* does not fit an input of shape"),
])
def test_bad_input_shapes(layer, shape, message, rng):
    with pytest.raises(ValueError, match=message):
        layer().forward(rng.standard_normal(shape))


def test_non_arrays_and_bad_dtypes_are_refused(rng):
    with pytest.raises(TypeError, match="input must be an array \\(NumPy or CuPy\\), got list"):
        nn.ReLU().forward([1.0, -1.0])
    with pytest.raises(TypeError, match="input has dtype complex128"):
        nn.Linear(2, 2).forward(np.ones((1, 2), dtype=complex))
    for make in (lambda: nn.Conv2d(3, 4, 3, rng="abc"), lambda: nn.Linear(2, 2, rng=1.5),
                 lambda: nn.Dropout(rng="abc")):
        with pytest.raises(TypeError, match="rng must be a numpy Generator, an int seed or None"):
            make()
    for make, error, message in [
            (lambda: nn.Conv2d(1, 1, 3, rng=True), TypeError, "rng must be a numpy Generator"),
            (lambda: nn.Linear((3,), 4), TypeError, "in_features must be a positive integer"),
            (lambda: nn.BatchNorm2d(2.0), TypeError, "num_features must be a positive integer"),
            (lambda: nn.Flatten(start_dim="1"), TypeError, "start_dim must be an integer"),
            (lambda: nn.Parameter(np.arange(3)), TypeError, "data must be float32 or float64 "
                                                           "to be trained, got int64"),
            (lambda: nn.Parameter(np.ones(3)).accumulate(np.ones(3, complex)), TypeError,
             "grad has dtype complex128")]:
        with pytest.raises(error, match=message):
            make()
    assert nn.BatchNorm2d(np.int64(2)).num_features == 2  # NumPy integers are integers
    assert nn.Flatten(start_dim=np.int64(1)).start_dim == 1
    # NumPy reads None as float64, and a value as its own type
    for dtype in ("float16", "bfloat16", "no such type", None, np.float32(0.5)):
        with pytest.raises(TypeError, match=re.escape(f"dtype must be float32 or float64, got "
                                                      f"{dtype!r}")):
            nn.Linear(2, 2, dtype=dtype)
        with pytest.raises(TypeError, match=re.escape(f"dtype must be float32 or float64, got "
                                                      f"{dtype!r}")):
            nn.Conv2d(1, 1, 3, dtype=dtype)
    with pytest.raises(TypeError, match="got >f8 \\(not native byte order\\)"):
        nn.Conv2d(1, 1, 3, dtype=np.dtype(">f8"))


@pytest.mark.parametrize("layer", [
    nn.Conv2d(1, 1, 1), nn.ConvTranspose1d(1, 1, 1), nn.MaxPool2d(2), nn.AvgPool2d(2),
    nn.AdaptiveMaxPool2d(2), nn.BatchNorm2d(1), nn.Dropout(), nn.ReLU(), nn.Flatten(),
    nn.Linear(1, 1), nn.GlobalAvgPool2d(), nn.Sequential(nn.ReLU(), nn.Tanh()),
], ids=lambda layer: type(layer).__name__)
def test_backward_before_forward(layer):
    with pytest.raises(RuntimeError, match=r"backward was called before forward"):
        layer.backward(np.ones((1, 1, 1, 1)))


def test_grad_output_of_the_wrong_shape(rng):
    layer = nn.Conv2d(1, 2, 3, rng=rng)
    layer.forward(rng.standard_normal((2, 1, 6, 6)))
    with pytest.raises(ValueError, match=r"grad_output must have the shape of the last output "
                                         r"of Conv2d, \(2, 2, 4, 4\), got \(2, 2, 5, 5\)"):
        layer.backward(rng.standard_normal((2, 2, 5, 5)))


SQUARE_LAYERS = {  # (4, 4) in and out: for np.matrix, * is a matrix product there, no error
    "ReLU": lambda seed: nn.ReLU(),
    "Tanh": lambda seed: nn.Tanh(),
    "Sigmoid": lambda seed: nn.Sigmoid(),
    "Dropout": lambda seed: nn.Dropout(0.5, rng=seed),
    "Flatten": lambda seed: nn.Flatten(),
    "Linear": lambda seed: nn.Linear(4, 4, rng=seed),
    "BatchNorm1d": lambda seed: nn.BatchNorm1d(4),
    "Sequential": lambda seed: nn.Sequential(nn.Linear(4, 4, rng=seed), nn.Tanh(),
                                             nn.Dropout(0.3, rng=seed), nn.BatchNorm1d(4)),
}


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
@pytest.mark.parametrize("name", SQUARE_LAYERS)
def test_numpy_matrices_compute_as_plain_arrays(name, rng):
    """np.matrix x and grad_output give the plain arrays' output, input gradient and parameter
    gradients, as plain arrays (a layer's * stays elementwise)."""
    seed = int(rng.integers(2**63))
    x, g = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    plain, ours = SQUARE_LAYERS[name](seed), SQUARE_LAYERS[name](seed)
    expected = [plain.forward(x), plain.backward(g)]
    for result, want in zip([ours.forward(np.asmatrix(x)), ours.backward(np.asmatrix(g))],
                            expected):
        assert type(result) is np.ndarray
        np.testing.assert_array_equal(result, want)
    for parameter, want in zip(ours.parameters(), plain.parameters()):
        np.testing.assert_array_equal(parameter.grad, want.grad)


def _backward_of(layer, a, m):
    layer.forward(a)
    return layer.backward(m)


@pytest.mark.parametrize("call, name", [
    (lambda a, m: nn.ReLU().forward(m), "input"),
    (lambda a, m: nn.BatchNorm1d(4).forward(m), "input"),
    (lambda a, m: nn.Linear(4, 2).forward(m), "input"),
    (lambda a, m: nn.Dropout(0.5).forward(m), "input"),
    (lambda a, m: nn.Conv1d(3, 2, 2).forward(m[None]), "input"),
    (lambda a, m: _backward_of(nn.Tanh(), a, m), "grad_output"),
    (lambda a, m: _backward_of(nn.Linear(4, 4), a, m), "grad_output"),
    (lambda a, m: _backward_of(nn.Sequential(nn.Sigmoid(), nn.Flatten()), a, m), "grad_output"),
], ids=["ReLU", "BatchNorm1d", "Linear", "Dropout", "Conv1d", "Tanh.backward", "Linear.backward",
        "Sequential.backward"])
def test_masked_arrays_are_refused_by_name(call, name, rng):
    """As in the functional API: a layer would ignore the mask (or, in BatchNorm, half-honour
    it), so a masked input or grad_output is a TypeError naming it."""
    a = rng.standard_normal((3, 4))
    with pytest.raises(TypeError, match=re.escape(
            f"{name} is a masked array, whose mask convproof would ignore: pass "
            f"{name}.filled(value) or {name}.data")):
        call(a, np.ma.masked_less(a, 0))


GRAD_LAYERS = [  # (a layer of a seed, the shape of its input)
    (lambda seed: nn.ReLU(), (3, 4)), (lambda seed: nn.Sigmoid(), (3, 4)),
    (lambda seed: nn.Flatten(), (3, 2, 2)), (lambda seed: nn.Dropout(0.5, rng=seed), (3, 4)),
    (lambda seed: nn.Linear(4, 2, rng=seed), (3, 4)), (lambda seed: nn.BatchNorm1d(4), (3, 4)),
    (lambda seed: nn.Sequential(nn.Linear(4, 4, rng=seed), nn.ReLU()), (3, 4)),
    (lambda seed: nn.Sequential(nn.Conv1d(3, 2, 2, rng=seed), nn.Tanh()), (2, 3, 5)),
]


@pytest.mark.parametrize("build, shape", GRAD_LAYERS, ids=[
    "ReLU", "Sigmoid", "Flatten", "Dropout", "Linear", "BatchNorm1d", "Linear-ReLU",
    "Conv1d-Tanh"])
def test_grad_output_is_read_as_a_forward_reads_its_input(build, shape, rng):
    """In every layer's backward, float16 is refused by name and integers are computed as
    float64, as every forward (and the functional API) reads its input."""
    seed = int(rng.integers(2**63))
    x = rng.standard_normal(shape).astype(np.float32)
    layer, plain = build(seed), build(seed)
    g = rng.standard_normal(layer.forward(x).shape)
    plain.forward(x)
    with pytest.raises(TypeError, match=r"grad_output has dtype float16; supported here: "
                                        r"float32, float64"):
        layer.backward(g.astype(np.float16))
    g_int = rng.integers(-9, 10, g.shape).astype(np.int8)
    result, expected = layer.backward(g_int), plain.backward(g_int.astype(np.float64))
    assert result.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(result, expected)
    for parameter, want in zip(layer.parameters(), plain.parameters()):
        np.testing.assert_array_equal(parameter.grad, want.grad)


@pytest.mark.parametrize("build, error, message", [
    (lambda: nn.Conv2d(3, 8, 3, stride=0), ValueError, "stride must be a positive integer, got 0"),
    (lambda: nn.Conv2d(3, 8, 3, groups=2), ValueError, "in_channels = 3 is not divisible by "
                                                       "groups = 2"),
    (lambda: nn.Conv2d(3, 8, (3, 3, 3)), ValueError,
     re.escape("kernel_size has 3 entries, but there are 2 spatial dims: (3, 3, 3)")),
    (lambda: nn.Conv2d(3, 8, 3, padding_mode="mirror"), ValueError,
     re.escape("padding_mode must be one of ('zeros', 'reflect', 'replicate', "
               "'circular'), got 'mirror'")),
    (lambda: nn.Conv2d(3, 8, 3, bias=1), TypeError, "bias must be True or False, got 1"),
    (lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=2), ValueError,
     r"output_padding\[0\] = 2 must be smaller than max\(stride, dilation\) = 2"),
    (lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, padding="same"), ValueError,
     "padding='same' with stride"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError,
     re.escape("padding[0] = 2 is more than half the kernel size 2")),
    (lambda: nn.AdaptiveAvgPool2d(0), ValueError,
     "output_size must be a positive integer, got 0"),
    (lambda: nn.BatchNorm2d(0), ValueError, "num_features must be a positive integer, got 0"),
    (lambda: nn.BatchNorm2d(3, momentum=2.0), ValueError,
     re.escape("momentum must be a number in [0.0, 1.0] or None, got 2.0")),
    (lambda: nn.BatchNorm2d(3, momentum="0.1"), ValueError,
     re.escape("momentum must be a number in [0.0, 1.0] or None, got '0.1'")),
    (lambda: nn.BatchNorm2d(3, momentum=[0.1]), ValueError,
     re.escape("momentum must be a number in [0.0, 1.0] or None, got [0.1]")),
    (lambda: nn.BatchNorm1d(3, momentum=True), ValueError,
     re.escape("momentum must be a number in [0.0, 1.0] or None, got True")),
    (lambda: nn.BatchNorm2d(3, eps="1e-5"), ValueError,
     re.escape("eps must be a number in (0.0, inf), got '1e-5'")),
    (lambda: nn.BatchNorm2d(3, eps=None), ValueError,
     re.escape("eps must be a number in (0.0, inf), got None")),
    (lambda: nn.BatchNorm2d(3, eps=True), ValueError,
     re.escape("eps must be a number in (0.0, inf), got True")),
    (lambda: nn.BatchNorm1d(3, eps=0.0), ValueError,
     re.escape("eps must be a number in (0.0, inf), got 0.0")),
    (lambda: nn.Dropout(1.5), ValueError, r"p must be a probability in \[0, 1\], got 1.5"),
    (lambda: nn.Linear(0, 3), ValueError, "in_features must be a positive integer, got 0"),
    (lambda: nn.Sequential(nn.ReLU(), "relu"), TypeError, "layer 1 must be a Module, got str"),
])
def test_bad_constructor_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_parameter_rejects_a_gradient_of_another_shape(rng):
    parameter = nn.Parameter(rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 2\) for a parameter of shape"):
        parameter.accumulate(rng.standard_normal((3, 2)))


# --------------------------------------------------------------------------------------------
# One layer object at two places: refused (weight sharing is not supported)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, layer, positions", [
    (lambda lin: nn.Sequential(lin, nn.Tanh(), lin), "Linear(in_features=3, out_features=3, "
                                                     "bias=True)", "0, 2"),
    (lambda lin: nn.Sequential(lin, nn.Sequential(nn.ReLU(), lin)), "Linear(", "0, 1.1"),
    (lambda lin: nn.Sequential(nn.Sequential(lin, nn.Tanh()), nn.ReLU(), nn.Sequential(lin)),
     "Linear(", "0.0, 2.0"),
    (lambda lin: (lambda inner: nn.Sequential(inner, inner))(nn.Sequential(lin)), "Sequential",
     "0, 1"),
], ids=["direct", "nested", "both nested", "repeated Sequential"])
def test_a_layer_object_at_two_places_is_refused(build, layer, positions):
    """Its second forward would overwrite what the first kept for backward (wrong gradients),
    and an optimizer would step its parameters twice."""
    with pytest.raises(ValueError, match=re.escape(f"holds the same layer object {layer}") +
                       ".*" + re.escape(f"at positions {positions}: weight sharing is not "
                                        "supported")):
        build(nn.Linear(3, 3))


def test_two_layers_instead_of_one_shared_layer_match_torch(rng, torch):
    """The documented alternative: two layers with equal weights; their gradients sum to the
    gradient PyTorch computes for one shared layer."""
    first, second = nn.Linear(3, 3, rng=rng, dtype=np.float64), nn.Linear(3, 3, dtype=np.float64)
    second.load_state_dict(first.state_dict())
    model = nn.Sequential(first, nn.Tanh(), second)
    shared = torch.nn.Linear(3, 3).double()
    shared.load_state_dict({k: torch.tensor(v) for k, v in first.state_dict().items()})
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = shared(torch.tanh(shared(x_t)))
    y_t.backward(torch.tensor(g))
    assert_close(model.forward(x), y_t)
    assert_close(model.backward(g), x_t.grad)
    assert_close(first.weight.grad + second.weight.grad, shared.weight.grad)
    assert_close(first.bias.grad + second.bias.grad, shared.bias.grad)


def test_a_parameter_held_twice_is_listed_once(rng, torch):
    """As PyTorch's named_parameters: the first name only, so an optimizer steps it once."""

    class Tied(nn.Module):
        def __init__(self, first, second):
            self.encode, self.decode = first, second
            self.decode.weight = self.encode.weight

    ours = Tied(nn.Linear(3, 3, rng=rng), nn.Linear(3, 3, rng=rng))
    theirs = torch.nn.Module()
    theirs.encode, theirs.decode = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    theirs.decode.weight = theirs.encode.weight
    assert [name for name, _ in ours.named_parameters()] == \
        [name for name, _ in theirs.named_parameters()]
    assert ours.parameter_count() == sum(p.numel() for p in theirs.parameters())
    assert len({id(p) for p in ours.parameters()}) == len(ours.parameters())


def test_a_layer_of_ones_own_reads_its_grad_output_and_keeps_its_signature(rng):
    """A backward with another name for grad_output and more arguments: grad_output is read
    as a forward's input (int8 computed in float64), by position or by name, and the others
    pass through."""
    class Scaled(nn.ReLU):
        def backward(self, g: np.ndarray, scale: float = 1.0) -> np.ndarray:
            return super().backward(g) * scale

    x = rng.standard_normal((3, 4))
    g = rng.integers(-9, 10, (3, 4)).astype(np.int8)
    layer = Scaled()
    layer.forward(x)
    expected = 2.5 * (x > 0) * g.astype(np.float64)
    for result in (layer.backward(g, 2.5), layer.backward(g=g, scale=2.5)):
        assert result.dtype == np.float64
        np.testing.assert_array_equal(result, expected)
    assert list(inspect.signature(Scaled.backward).parameters) == ["self", "g", "scale"]


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_a_parameter_holds_a_plain_array(rng):
    w = rng.standard_normal((2, 2))
    assert type(nn.Parameter(np.asmatrix(w)).data) is np.ndarray
    with pytest.raises(TypeError, match="data is a masked array"):
        nn.Parameter(np.ma.array(w))


def test_a_file_that_is_no_state_file_is_refused_by_name(tmp_path):
    """A text file was read as 'pickled data' (with advice to load it unsafely), a .npy as a
    missing context manager, a truncated archive as zipfile.BadZipFile."""
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    model.save(tmp_path / "good.npz")
    whole = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "text.npz").write_text("not an archive\n")
    np.save(tmp_path / "one.npy", np.ones(3))
    (tmp_path / "cut.npz").write_bytes(whole[:len(whole) // 2])
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    for name in ("text.npz", "one.npy", "cut.npz"):
        for target in (model, optimizer):
            with pytest.raises(ValueError, match=f"{name}' is not a state file written by save"):
                target.load(tmp_path / name)
    with zipfile.ZipFile(tmp_path / "mixed.npz", "w") as archive:
        archive.writestr("a.npy", b"")
        archive.writestr("notes.txt", "not an array")
    with pytest.raises(ValueError, match="it holds 'notes.txt'"):
        model.load(tmp_path / "mixed.npz")
    with pytest.raises(IsADirectoryError):  # the OS's own words for a folder
        model.load(tmp_path)
    np.savez_compressed(tmp_path / "packed.npz", **{k: v for k, v in
                                                     np.load(tmp_path / "good.npz").items()})
    model.load(tmp_path / "packed.npz")


@pytest.mark.parametrize("call", [
    lambda: nn.Conv2d(1, 1, 3).forward(None), lambda: nn.ReLU().forward(None),
    lambda: nn.losses.softmax_cross_entropy(None, np.array([0])),
    lambda: nn.data.random_translation(None, 1)], ids=["conv", "relu", "loss", "data"])
def test_none_for_an_array_is_a_type_error(call):
    """It raised AttributeError: 'NoneType' object has no attribute 'astype'."""
    with pytest.raises(TypeError, match="must be an array .*got NoneType"):
        call()


def test_a_gradient_set_by_hand_must_be_an_array_and_a_refused_step_changes_nothing():
    """The second parameter's grad refused after the first had been updated (Adam's moments
    too): a step retried after the fix updated it twice."""
    first, second = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(3))
    first.grad, second.grad = np.ones(3), [1.0, 1.0, 1.0]
    optimizer = nn.optim.Adam([first, second], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\].grad must be an array"):
        optimizer.step()
    np.testing.assert_array_equal(first.data, np.ones(3))
    second.grad = np.ones(3)
    optimizer.step()
    np.testing.assert_allclose(first.data, second.data)


def test_a_saved_value_beyond_the_parameter_s_dtype_is_refused():
    """1e300 loaded into a float32 weight became inf, with only NumPy's RuntimeWarning."""
    model = nn.Linear(2, 2, rng=0, dtype=np.float32)
    state = {name: np.array(value) for name, value in model.state_dict().items()}
    before = model.weight.data.copy()
    state["weight"] = np.full(state["weight"].shape, 1e300)
    beyond = r"weight'\] holds values beyond the range of float32 \(the module's dtype\)"
    with pytest.raises(ValueError, match=beyond):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.weight.data, before)
    state["weight"] = np.full(state["weight"].shape, np.inf)  # infinite already: loaded as such
    model.load_state_dict(state)
    assert np.isinf(model.weight.data).all()
