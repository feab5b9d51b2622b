"""The pytest plugin of convproof.testing, used from a user's test file in a fresh pytest run.

The runs load the plugin with ``-p convproof.pytest_plugin`` and without entry-point plugins,
so they test the module itself whether or not the ``pytest11`` entry point is installed.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import numpy as np
import pytest


def correlate(x, w, b, stride=2, padding=1):
    """A plain-loop conv2d of a user."""
    n, _, height, width = x.shape
    c_out, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    y = np.zeros((n, c_out, out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    return y


def test_correct(conv_checker):
    result = conv_checker.conv2d(correlate, stride=2, padding=1)
    assert result.calls == 24


def test_flipped(conv_checker):
    conv_checker.conv2d(lambda x, w, b: correlate(x, w[..., ::-1, ::-1], b), stride=2, padding=1)


@pytest.mark.convproof(dtype=np.float32, trials=1, seed=11)
def test_marker_defaults(conv_checker):
    result = conv_checker.conv2d(correlate, stride=2, padding=1)
    assert (result.tolerance, result.calls, result.seed) == (1e-4, 8, 11)


@pytest.mark.convproof(trials=1)
def test_marker_options_yield_to_call_options(conv_checker):
    assert conv_checker.conv2d(correlate, stride=2, padding=1, trials=2).calls == 16


def test_pooling(conv_checker):
    conv_checker.max_pool2d(lambda x: x[:, :, ::2, ::2], kernel_size=1, stride=2)


@pytest.mark.convproof(trials=1, bias=False)
def test_marker_options_go_to_the_checks_that_take_them(conv_checker):
    conv_checker.conv2d(lambda x, w, b: correlate(x, w, 0.0), stride=2, padding=1)
    conv_checker.max_pool2d(lambda x: x[:, :, ::2, ::2], kernel_size=1, stride=2)


@pytest.mark.convproof(trails=5)
def test_a_marker_option_no_check_takes(conv_checker):
    pass


def test_unknown_check(conv_checker):
    with pytest.raises(AttributeError, match="conv_checker has no check 'conv4d'"):
        conv_checker.conv4d(correlate)
'''


@pytest.fixture
def run_user_tests(pytester, monkeypatch):
    """Runs USER_TESTS in a fresh pytest process with the plugin loaded explicitly."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_user=USER_TESTS)
    return lambda *args: pytester.runpytest_subprocess(
        "-p", "convproof.pytest_plugin", "--strict-markers", "-p", "no:cacheprovider", *args)


def test_a_user_test_file_gets_the_fixture_the_marker_and_the_diagnosis(run_user_tests):
    result = run_user_tests()
    result.assert_outcomes(passed=6, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*TypeError: the convproof marker has options that no check takes: trails; the checks "
        "take *"])
    result.stdout.fnmatch_lines([
        "*test_flipped*",
        "E*EquivalenceError: conv2d(stride=2, padding=1): your kernel is flipped: you compute a "
        "true convolution*",
        "E*checked on x ([45], 2, 6, 8), w (2, 2, 3, 3), b (2,) -> y ([45], 2, 3, 4); seed=* "
        "reproduces this check",
    ])
    assert "convproof/testing/checks.py" not in result.stdout.str()  # frames hidden


def test_the_marker_is_registered(run_user_tests):
    result = run_user_tests("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.convproof(**options): default keyword options*"])


@pytest.mark.skipif(not any(e.value == "convproof.pytest_plugin"
                            for e in entry_points(group="pytest11")),
                    reason="the pytest11 entry point of convproof is not installed")
def test_the_entry_point_loads_the_plugin_without_options(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    outcomes = dict(passed=6, failed=1, errors=1)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(**outcomes)
    # naming it as well, on the command line or in a conftest, is no second registration
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "convproof.pytest_plugin"
                                  ).assert_outcomes(**outcomes)
    pytester.makeconftest('pytest_plugins = ["convproof.pytest_plugin"]')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(**outcomes)
