"""The python examples of README.md, docs/index.md, docs/kernels.md and docs/layers.md run as
written and show what their comments say (docs/checking.md's run in test_testing_cli.py).
Where an example uses names its page defines in prose (the training data of docs/layers.md),
the test binds them first."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from convproof import functional
from convproof.gpu.emulate import compiler_available

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(page: str, count: int) -> list[str]:
    """The page's ```python blocks, in order; ``count`` of them, so that none goes unrun."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text("utf-8"), flags=re.S)
    assert len(blocks) == count, f"{page} has {len(blocks)} python blocks"
    return blocks


def run(block: str, namespace: dict, page: str) -> dict:
    exec(compile(block, page, "exec"), namespace)
    return namespace


def test_the_readme_example(capsys):
    (block,) = python_blocks("README.md", 1)
    namespace = run(block, {}, "README.md")
    assert namespace["y"].shape == (8, 16, 16, 16)
    assert namespace["gx"].shape == namespace["x"].shape
    assert namespace["A"].shape == (25, 25)
    assert capsys.readouterr().out.split("\n")[0] == "True"


def test_the_guide_examples(tmp_path, monkeypatch):
    report, check, layers = python_blocks("docs/index.md", 3)
    monkeypatch.chdir(tmp_path)
    namespace = run(report, {}, "docs/index.md")
    assert namespace["report"].ok and (tmp_path / "out" / "report.html").is_file()
    assert "flip" in namespace["section"].markdown().lower()

    def my_conv2d(x, w, b):
        return functional.conv2d(x, w, b, stride=2, padding=1)
    run(check, {"my_conv2d": my_conv2d}, "docs/index.md")
    model = run(layers, {}, "docs/index.md")["model"]
    assert len(model) == 3


def test_the_kernel_guide_examples(capsys):
    printed, named, emulated, on_gpu, tf32 = python_blocks("docs/kernels.md", 5)
    namespace = run(printed, {}, "docs/kernels.md")
    assert eval('printer("float").index((j + 1 - m) / 2)', namespace) \
        == "cp_floordiv(j0 - m0 + 1, 2)"
    run(named, {}, "docs/kernels.md")
    shown = capsys.readouterr().out
    assert shown.startswith("conv2d_fwd_k3x3_s1_p1_d1_g1_bias_relu_f32_t64x64\n// "
                            "conv2d_fwd_k3x3_s1_p1_d1_g1_bias_relu_f32_t64x64")


@pytest.mark.skipif(not compiler_available(), reason="no C++ compiler with OpenMP")
def test_the_emulator_example():
    emulated = python_blocks("docs/kernels.md", 5)[2]
    namespace = run(emulated, {}, "docs/kernels.md")
    x, w = namespace["x"], namespace["w"]
    np.testing.assert_allclose(namespace["y"], functional.conv2d(x, w, padding=1), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.gpu
def test_the_gpu_examples():
    on_gpu, tf32 = python_blocks("docs/kernels.md", 5)[3:]
    namespace = run(on_gpu, {}, "docs/kernels.md")
    cupy, x, w = namespace["cp"], namespace["x"], namespace["w"]
    expected = functional.conv2d(cupy.asnumpy(x), cupy.asnumpy(w), padding=1)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(cupy.asnumpy(namespace["y"]), expected, atol=1e-5 * scale)
    run(tf32, namespace, "docs/kernels.md")
    np.testing.assert_allclose(cupy.asnumpy(namespace["y"]), expected, atol=1e-2 * scale)


def test_the_layer_guide_examples(rng, tmp_path, monkeypatch):
    built, initialized, trained, saved, checked, function = python_blocks("docs/layers.md", 6)
    monkeypatch.chdir(tmp_path)
    namespace = run(built, {}, "docs/layers.md")
    model, nn = namespace["model"], namespace["nn"]
    assert model.parameter_count() == 63802
    assert nn.Conv2d(3, 10, 5, padding=2).parameter_count() == 760
    run(initialized, namespace, "docs/layers.md")
    np.testing.assert_array_equal(model[7].bias.data, np.float32(0.1))
    namespace.update(rng=rng, x=rng.standard_normal((64, 1, 32, 32)).astype(np.float32),
                     labels=rng.integers(0, 10, 64))
    before = model[0].weight.data.copy()
    run(trained, namespace, "docs/layers.md")
    assert not np.array_equal(model[0].weight.data, before) and not model.training
    run(saved, namespace, "docs/layers.md")
    assert (tmp_path / "lenet.npz").is_file() and (tmp_path / "adam.npz").is_file()
    assert list(namespace["state"])[:2] == ["0.weight", "0.bias"]
    # all 63,802 entries take minutes: the same call on a sample of each array
    run(checked.replace("x[:2])", "x[:2], max_entries=20)"), namespace, "docs/layers.md")
    assert namespace["report"].ok
    namespace.update(x=rng.standard_normal((2, 1, 9, 9)), w=rng.standard_normal((4, 1, 3, 3)))
    run(function, namespace, "docs/layers.md")
