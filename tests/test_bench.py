"""The benchmark runner on a tiny suite (no timed assertions: only what it reports and how)."""

from __future__ import annotations

import json
import math
import re
import resource
import shlex
import sys
import time

import numpy as np
import pytest

from convproof import bench
from convproof.cpu import threads as cpu_threads


def _tiny_suite(quick: bool) -> bench.Suite:
    """Two cases whose 'peer' is another NumPy function, and a fixed peak."""
    def matmul(rng):
        a = rng.standard_normal((64, 64)).astype(np.float32)
        return (lambda: a @ a), (lambda: np.dot(a, a))

    def sums(rng):
        a = rng.standard_normal(10_000)
        return (lambda: a.sum()), (lambda: np.add.reduce(a))

    cases = [bench.Case("mm 64", "forward", 2 * 64 ** 3, matmul),
             bench.Case("mm 64", "backward-data", 2 * 64 ** 3, matmul),
             bench.Case("sum 1e4", "forward", 1e4, sums, gemm_bound=False)]
    return bench.Suite("tiny", "numpy", cases, lambda: 100.0, lambda: {"threads": 1})


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """The tests do not wait for a quiet machine, nor for threads to settle."""
    monkeypatch.setattr(bench, "PATIENCE", 0.0)
    monkeypatch.setattr(bench, "SETTLE", 0.0)
    monkeypatch.setattr(bench, "WARMUP", 0.0)


def test_the_runner_prints_the_command_the_setting_and_every_row(capsys, monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)  # it would head the command
    assert bench.main(["--repeats", "2"], factories=[_tiny_suite]) == 0
    captured = capsys.readouterr()
    out = captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(progress) == 3
    assert all(re.search(r"ratio +\d+\.\d\d  load \d+\.\d\d  others (\d+%|-)$", line)
               for line in progress), progress
    assert "- command: `convproof bench --repeats 2`" in out
    assert "threads=1" in out and "measured SGEMM peak: 100 GFLOP/s" in out
    rows = [line for line in out.splitlines() if line.startswith("| mm 64") or
            line.startswith("| sum 1e4")]
    assert len(rows) == 3
    assert rows[2].split("|")[7].strip() == "-"  # no fraction of the GEMM peak for a sum
    assert "geometric mean, forward (convolutions and pooling):" in out and "lowest:" in out


def test_json_output_and_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)  # it would head the command
    target = tmp_path / "result.json"
    argv = ["--json", "--repeats", "1", "--only", "mm", "--output", str(target)]
    assert bench.main(argv, factories=[_tiny_suite]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(target.read_text())
    (report,) = printed
    assert report["command"] == "convproof bench " + " ".join(argv)  # nothing to quote
    assert [(r["layer"], r["op"]) for r in report["rows"]] == [("mm 64", "forward"),
                                                               ("mm 64", "backward-data")]
    for row in report["rows"]:
        assert math.isclose(row["ratio"], row["peer_ms"] / row["ours_ms"])
        assert row["ours_peak"] == pytest.approx(row["ours_gflops"] / 100.0)
        assert row["attempts"] >= 1 and row["load"] >= 0


@pytest.mark.parametrize("coretype", [None, "SkylakeX"])
def test_the_printed_command_reruns_in_a_shell(coretype, tmp_path, capsys, monkeypatch):
    """Layer names hold spaces (and, in the suite, '>'): the command above the table quotes
    them; the variables that chose the BLAS kernels and the threads come first."""
    for name in bench.BLAS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    if coretype is not None:
        monkeypatch.setenv("OPENBLAS_CORETYPE", coretype)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
    argv = ["--repeats", "1", "--only", "mm 64", "--output", str(tmp_path / "t.md")]
    assert bench.main(argv, factories=[_tiny_suite]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith("- command:")]
    assert "'mm 64'" in line
    environment = [] if coretype is None else [f"OPENBLAS_CORETYPE={coretype}",
                                               "OMP_NUM_THREADS=1"]
    assert shlex.split(line.removeprefix("- command: `").removesuffix("`")) == [
        *environment, "convproof", "bench", *argv]


@pytest.mark.parametrize("flags, blas, coretype, hint", [
    ({"avx2", "avx512f"}, "openblas 0.3.31 (Haswell kernels)", "Haswell",
     "note: NumPy's OpenBLAS runs its Haswell (AVX2) kernels on this CPU with AVX-512 "
     "(OPENBLAS_CORETYPE=Haswell); OPENBLAS_CORETYPE=SkylakeX, set before Python starts, "
     "selects its AVX-512 kernels"),
    ({"avx2", "avx512f"}, "openblas 0.3.31 (Haswell kernels)", None, "AVX-512; OPENBLAS"),
    ({"avx2", "avx512f"}, "openblas 0.3.31 (SkylakeX kernels)", None, None),
    ({"avx2"}, "openblas 0.3.31 (Haswell kernels)", "Haswell", None),
    (set(), "unknown", None, None),
])
def test_a_hint_where_openblas_leaves_avx512_unused(flags, blas, coretype, hint):
    given = bench.blas_hint(flags, blas, coretype)
    assert given is None if hint is None else hint in given


def test_only_matching_no_layer_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--only", "7x7 -> 9"], factories=[_tiny_suite])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "only='7x7 -> 9' matches no layer of the tiny suite: mm 64, sum 1e4" in err
    assert not [line for line in err.splitlines() if "ratio" in line]  # nothing measured
    with pytest.raises(ValueError, match="matches no layer"):
        bench.run_suite(_tiny_suite(False), 1, "conv9", "convproof bench", print)


def test_summary_geometric_means():
    def row(layer, op, ours, peer):
        return bench.Row(layer, op, ours, peer, peer / ours, 0, 0, None, None, None, None, 0, 0,
                         None, 1)

    rows = [row("a", "forward", 1.0, 2.0), row("a", "backward-data", 3.0, 1.0),
            row("b", "forward", 2.0, 1.0)]
    summary = bench.summarize(rows)
    assert summary["forward_geomean"] == pytest.approx(math.sqrt(2.0 * 0.5))
    assert summary["step_geomean"] == pytest.approx(math.sqrt((3.0 / 4.0) * 0.5))
    assert summary["lowest"] == {"layer": "a", "op": "backward-data", "ratio": pytest.approx(1 / 3)}


def test_time_pair_in_two_rounds_of_alternating_order(monkeypatch):
    monkeypatch.setattr(bench, "SETTLE", 0.0)
    calls = []
    ours, peer = (lambda: calls.append("ours")), (lambda: calls.append("peer"))
    times = bench.time_pair(ours, peer, repeats=3, warmup=1)
    assert [len(t) for t in times] == [3, 3]
    assert calls == ["ours"] * 3 + ["peer"] * 3 + ["peer"] * 2 + ["ours"] * 2


def test_waiting_for_a_quiet_machine_is_said(monkeypatch):
    """The wait for other processes to go quiet (up to PATIENCE seconds, before the suite and
    each attempt of a row) printed nothing: minutes of silence on a busy machine."""
    readings = iter([0.9, 0.5, 0.1])
    monkeypatch.setattr(bench, "PATIENCE", 60.0)  # the tests' setting is 0
    monkeypatch.setattr(bench, "others_busy", lambda: next(readings))
    monkeypatch.setattr(bench.time, "sleep", lambda seconds: None)
    said = []
    assert bench.wait_for_quiet(said.append) == 0.1
    assert said == ["other processes use 90% of the machine: waiting up to 60 s for them to go "
                    "quiet"]
    monkeypatch.setattr(bench, "others_busy", lambda: 0.05)
    assert bench.wait_for_quiet(said.append) == 0.05 and len(said) == 1  # quiet: nothing said


def test_warm_up_lasts_warmup_seconds(monkeypatch):
    """Untimed calls go on until WARMUP seconds have passed (and at least ``warmup`` of them)."""
    monkeypatch.setattr(bench, "WARMUP", 0.05)
    started = time.perf_counter()
    times = bench.time_pair(lambda: time.sleep(0.001), lambda: None, repeats=2, warmup=1)
    assert [len(t) for t in times] == [2, 2]
    # 4 warm-ups of 0.05 s at least; a single call each would take ~0.004 s in all
    assert time.perf_counter() - started >= 4 * 0.05


def test_steady_allocator_serves_large_blocks_from_the_heap():
    """After steady_allocator(), a 24 MiB array allocated, filled and freed again takes
    (almost) no fresh pages from the kernel (glibc; from a setting where such blocks are
    mapped anew)."""
    libc = bench._glibc()
    if libc is None or not hasattr(resource, "getrusage"):
        pytest.skip("needs glibc's mallopt and getrusage")

    def faults() -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        np.empty(6 * 2**20, dtype=np.float32).fill(1.0)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    libc.mallopt(bench._M_MMAP_THRESHOLD, 64 * 2**10)
    try:
        faults()
        fresh = faults()  # the 24 MiB mapped anew (in 4 KiB or 2 MiB pages)
        assert fresh >= 10
        bench.steady_allocator()
        faults()
        assert faults() <= fresh // 10
    finally:
        bench.steady_allocator()


def test_steady_allocator_keeps_the_heap_a_call_frees():
    """72 MiB of blocks under the mmap threshold, freed at the top of the heap, are kept: the
    next call takes them back without page faults (glibc hands back free heap beyond the trim
    threshold, and a call that frees more faults it all in again)."""
    libc = bench._glibc()
    if libc is None or not hasattr(resource, "getrusage"):
        pytest.skip("needs glibc's mallopt and getrusage")

    def faults() -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        blocks = [np.empty(6 * 2**20, dtype=np.float32) for _ in range(3)]
        for block in blocks:
            block.fill(1.0)
        del blocks
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    try:
        libc.mallopt(bench._M_TRIM_THRESHOLD, 64 * 2**20)
        libc.mallopt(bench._M_MMAP_THRESHOLD, 32 * 2**20)
        faults()
        handed_back = faults()
        bench.steady_allocator()
        faults()
        assert faults() <= max(handed_back // 10, 64)
    finally:
        bench.steady_allocator()


def test_peak_memory_of_a_call():
    """A call that touches 64 MiB shows at least most of it (None where Linux has no
    /proc/self/clear_refs)."""
    measured = bench.peak_memory_mib(lambda: np.ones(2**23).sum())
    assert measured is None or 48 <= measured < 1024


def test_peak_memory_does_not_count_the_free_heap_given_back():
    """24 MiB freed into the heap and given back to the kernel when the measurement starts is
    no growth of a call that allocates nothing."""
    if bench._glibc() is None:
        pytest.skip("needs glibc's mallopt and malloc_trim")
    bench.steady_allocator()
    np.empty(6 * 2**20, dtype=np.float32).fill(1.0)  # from the heap, then freed into it
    measured = bench.peak_memory_mib(lambda: None)
    assert measured is None or measured < 4


def test_gpu_without_a_device_says_so(capsys, monkeypatch):
    monkeypatch.setattr(bench, "gpu_unavailable", lambda: "no CUDA device")
    assert bench.main(["--gpu"]) == 2
    assert "no GPU available: no CUDA device" in capsys.readouterr().err


def test_without_pytorch_the_suites_say_so(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails, find_spec says None
    assert bench.main(["--quick"]) == 2
    assert "convproof bench --cpu: needs PyTorch" in capsys.readouterr().err
    assert bench.gpu_unavailable() == bench.NO_PEER


def test_registered_gpu_suites_run(capsys, monkeypatch):
    monkeypatch.setattr(bench, "_GPU_SUITES", [])
    bench.register_gpu_suite(_tiny_suite)
    monkeypatch.setattr(bench, "gpu_unavailable", lambda: None)
    assert bench.main(["--gpu", "--repeats", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["suite"] == "tiny"


def test_a_suite_measures_memory_its_own_way_and_says_how(capsys, monkeypatch):
    """A suite's peak_mib fills the MiB columns (the GPU suite's: device memory) and its
    memory text is the table's legend."""
    import dataclasses

    calls = []

    def peak_mib(thunk):
        calls.append(thunk)
        return 7.0
    suite = dataclasses.replace(_tiny_suite(False), peak_mib=peak_mib,
                                memory="bytes of the tiny pool")
    monkeypatch.setattr(bench, "_GPU_SUITES", [lambda quick: suite])
    monkeypatch.setattr(bench, "gpu_unavailable", lambda: None)
    assert bench.main(["--gpu", "--repeats", "1"]) == 0
    text = capsys.readouterr().out
    assert len(calls) == 2 * len(suite.cases)
    assert "| 7.0 | 7.0 |" in text and "MiB: bytes of the tiny pool." in text


def test_quick_cpu_suite_beside_torch(torch, capsys):
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--quick", "--repeats", "1", "--only", "1x1", "--json"]) == 0
    finally:
        torch.set_num_threads(threads)
    (report,) = json.loads(capsys.readouterr().out)
    assert report["peer"] == "torch" and report["setting"]["dtype"] == "float32"
    assert report["setting"]["blas"] == cpu_threads.blas() != ""
    assert [r["op"] for r in report["rows"]] == ["forward", "backward-data", "backward-weight"]
    assert all(r["ours_ms"] > 0 and r["peer_ms"] > 0 for r in report["rows"])


def _gpu_validate():
    """benchmarks/gpu_validate.py as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_validate.py"
    spec = importlib.util.spec_from_file_location("gpu_validate", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_gpu_validation_log_shows_the_tile_tables():
    """benchmarks/gpu_validate.py's Markdown, on a report as its GPU run makes one: the
    kernels, the tests, the speed rows, the tile tables and the index widths with the fastest
    of each row; failed rows say why, and count as failures."""
    report = {
        "date": "2026-11-24", "machine": {"gpu": "H200"}, "seed": 1,
        "commands": ["python benchmarks/gpu_validate.py"], "seconds": {"kernels": 30.2},
        "kernels": [{"kernel": "conv2d_fwd_a", "ok": True, "max_rel_err": 1e-7},
                    {"kernel": "conv2d_fwd_b", "ok": False, "max_rel_err": float("inf"),
                     "error": "CudaLaunchError: too many resources"}],
        "tests": {"command": "pytest -m gpu", "summary": "9 passed", "failures": []},
        "bench": [{"layer": "3x3 64->64 56 N=64", "op": "forward", "ours_ms": 2.0,
                   "peer_ms": 1.0, "ratio": 0.5, "ours_gflops": 900.0, "ours_peak": 0.02,
                   "peak_gflops": 50000.0, "ours_mib": 98.0, "peer_mib": 120.5},
                  {"layer": "3x3 64->64 56 N=64", "op": "forward-tf32",
                   "error": "AssertionError: ours differs"}],
        "tiles": [{"layer": "3x3 64->64 56 N=64", "4x4 a thread": 2.0, "8x8 a thread": 1.5},
                  {"layer": "1x1 256->64 56 N=64", "4x4 a thread": 0.7, "8x8 a thread": 0.9},
                  {"layer": "dw 3x3 128 56 N=64", "4x4 a thread": 0.4, "8x8 a thread": None,
                   "errors": {"8x8 a thread": "CudaLaunchError: x"}}],
        "widths": [{"layer": "3x3 64->64 56 N=64", "64-bit": 1.2, "32-bit": 0.7,
                    "32-bit Winograd": 0.4},
                   {"layer": "3x3 64->64 56 N=64 TF32", "64-bit": 0.9, "32-bit": None,
                    "errors": {"32-bit": "AssertionError: ours differs"}}]}
    text = _gpu_validate().markdown(report)
    assert "- steps: kernels 30 s" in text
    assert "- standard set: 1 of 2 cases match" in text
    assert "| conv2d_fwd_a | yes | 1.00e-07 |" in text
    assert "| conv2d_fwd_b | NO (CudaLaunchError: too many resources) | inf |" in text
    assert "| layer | 4x4 a thread | 8x8 a thread | fastest |" in text
    assert "| 3x3 64->64 56 N=64 | 2.000 | 1.500 | 8x8 a thread |" in text
    assert "| 1x1 256->64 56 N=64 | 0.700 | 0.900 | 4x4 a thread |" in text
    assert ("| dw 3x3 128 56 N=64 | 0.400 | failed | 4x4 a thread (8x8 a thread: "
            "CudaLaunchError: x) |") in text
    assert ("| 3x3 64->64 56 N=64 | forward | 2.000 | 1.000 | 0.50 | 900 | 2% | 98.0 | 120.5 |"
            in text)
    assert "| ours MiB | torch MiB |" in text and "MiB: peak device memory" in text
    assert "| 3x3 64->64 56 N=64 | forward-tf32 | failed: AssertionError: ours differs |" in text
    assert "## Index widths and Winograd (forward, strict FP32 and TF32" in text
    assert "| layer | 64-bit | 32-bit | 32-bit Winograd | fastest |" in text
    assert "| 3x3 64->64 56 N=64 | 1.200 | 0.700 | 0.400 | 32-bit Winograd |" in text
    assert ("| 3x3 64->64 56 N=64 TF32 | 0.900 | failed | - | 64-bit (32-bit: AssertionError: "
            "ours differs) |") in text
    assert _gpu_validate().failures(report) == [
        "conv2d_fwd_b", "3x3 64->64 56 N=64 forward-tf32", "dw 3x3 128 56 N=64 tile tables",
        "3x3 64->64 56 N=64 TF32 index widths"]


def test_gpu_validation_writes_after_every_step_and_adds_to_a_previous_run(
        tmp_path, monkeypatch, capsys):
    """A step that dies leaves the summary of the steps before it; --previous adds the steps
    of a later call to it; the exit status counts every failure."""
    script = _gpu_validate()
    monkeypatch.setattr(script, "machine", lambda: {"gpu": "H200"})
    kernels = [{"kernel": "conv2d_fwd_a", "ok": True, "max_rel_err": 1e-7}]
    tiles = [{"layer": "3x3 64->64 56 N=64", "4x4 a thread": 2.0}]

    def dies(args):
        raise RuntimeError("device lost")
    monkeypatch.setattr(script, "STEPS", {"kernels": lambda args: kernels, "bench": dies,
                                          "tiles": lambda args: tiles})
    monkeypatch.setattr(script, "context_lost", lambda: False)
    out = tmp_path / "gpu_validation.md"
    with pytest.raises(RuntimeError, match="device lost"):
        script.main(["--steps", "kernels,bench", "--out", str(out)])
    first = json.loads(out.with_suffix(".json").read_text())
    assert first["kernels"] == kernels and "bench" not in first
    assert "1 of 1 cases match" in out.read_text()

    later = tmp_path / "later.md"
    assert script.main(["--steps", "tiles", "--out", str(later),
                        "--previous", str(out.with_suffix(".json"))]) == 0
    both = json.loads(later.with_suffix(".json").read_text())
    assert both["kernels"] == kernels and both["tiles"] == tiles
    assert set(both["seconds"]) == {"kernels", "tiles"}
    assert len(both["commands"]) == 2 and "--previous" in both["commands"][1]

    kernels[0]["ok"] = False
    assert script.main(["--steps", "kernels", "--out", str(out)]) == 1
    assert "conv2d_fwd_a" in capsys.readouterr().out


def test_gpu_validation_stops_where_the_cuda_context_is_lost(tmp_path, monkeypatch, capsys):
    """After a fault that CUDA keeps every later call fails: the steps after it are not run,
    the summary says which, and --previous resumes them in a new process."""
    script = _gpu_validate()
    monkeypatch.setattr(script, "machine", lambda: {"gpu": "H200"})
    ran, lost = [], [True]
    monkeypatch.setattr(script, "STEPS", {step: lambda args, step=step: ran.append(step) or []
                                          for step in ("kernels", "bench", "tiles")})
    monkeypatch.setattr(script, "context_lost", lambda: lost[0])
    out = tmp_path / "gpu_validation.md"
    assert script.main(["--steps", "kernels,bench,tiles", "--out", str(out)]) == 1
    previous = out.with_suffix(".json")
    expected = (f"the CUDA context was lost in step kernels; not run: --steps bench,tiles "
                f"--previous {previous}")
    assert ran == ["kernels"] and json.loads(previous.read_text())["lost"] == expected
    assert f"- stopped: {expected}" in out.read_text() and expected in capsys.readouterr().out
    lost[0] = False
    assert script.main(["--steps", "bench,tiles", "--out", str(out), "--previous",
                        str(previous)]) == 0
    assert ran == ["kernels", "bench", "tiles"] and "lost" not in json.loads(previous.read_text())


def test_gpu_validation_refuses_an_unknown_step(capsys):
    with pytest.raises(SystemExit):
        _gpu_validate().main(["--steps", "kernels,speed"])
    assert "steps must be among kernels, tests, bench, tiles, widths, got 'kernels,speed'" in (
        capsys.readouterr().err)


def _gpu_suite(monkeypatch, cases: list, lost: bool):
    """convproof.gpu.bench with ``cases`` as its suite, a peak of 50 TFLOP/s, and a device
    that has (or has not) lost its context after a failure."""
    from convproof.gpu import bench as gpu_bench
    monkeypatch.setattr(gpu_bench, "fp32_peak", lambda size: 50_000.0)
    monkeypatch.setattr(gpu_bench, "gpu_cases", lambda quick: cases)
    monkeypatch.setattr(gpu_bench, "context_lost", lambda: lost)
    return gpu_bench


def test_event_rows_record_a_failing_case_and_run_the_others(monkeypatch):
    def good(rng):
        return (lambda: None), (lambda: None)

    def wrong(rng):
        raise AssertionError("forward-tf32: ours differs from PyTorch by 0.5 (relative)")
    gpu_bench = _gpu_suite(monkeypatch, [bench.Case("3x3 N=8", "forward-tf32", 2e9, wrong),
                                         bench.Case("3x3 N=8", "forward", 2e9, good)], False)
    monkeypatch.setattr(gpu_bench, "event_times", lambda thunk, repeats: [2.0, 1.0, 3.0])
    monkeypatch.setattr(gpu_bench, "device_peak_mib", lambda thunk: 1.5)
    lines = []
    rows = gpu_bench.event_rows(progress=lines.append)
    assert rows[0] == {"layer": "3x3 N=8", "op": "forward-tf32", "error": (
        "AssertionError: forward-tf32: ours differs from PyTorch by 0.5 (relative)")}
    assert rows[1]["ours_ms"] == rows[1]["peer_ms"] == 2.0 and rows[1]["ours_gflops"] == 1000
    assert rows[1]["ours_mib"] == rows[1]["peer_mib"] == 1.5
    assert "FAILED AssertionError" in lines[0]


def test_event_rows_end_where_the_cuda_context_is_lost(monkeypatch):
    """A fault that CUDA keeps fails every later call: the row says so and the step ends."""
    def faults(rng):
        raise RuntimeError("cudaErrorIllegalAddress: an illegal memory access")
    gpu_bench = _gpu_suite(monkeypatch, [bench.Case("3x3 N=8", "forward", 2e9, faults),
                                         bench.Case("3x3 N=8", "backward-data", 2e9, faults)],
                           True)
    assert gpu_bench.event_rows() == [{"layer": "3x3 N=8", "op": "forward", "error": (
        "RuntimeError: cudaErrorIllegalAddress: an illegal memory access; " + gpu_bench.LOST)}]


def test_candidate_tables_end_where_the_cuda_context_is_lost(monkeypatch):
    """The tile step's TF32 table is not begun after its strict table lost the context."""
    from convproof.gpu import bench as gpu_bench
    tables = []

    def candidate_rows(candidates, repeats, only, progress, tf32=False, suffix=""):
        tables.append(suffix)
        return [{"layer": "3x3" + suffix, "errors": {"a": f"RuntimeError: x; {gpu_bench.LOST}"}}]
    monkeypatch.setattr(gpu_bench, "_candidate_rows", candidate_rows)
    for rows in (gpu_bench.tile_rows, gpu_bench.width_rows):
        tables.clear()
        assert [row["layer"] for row in rows()] == ["3x3"] and tables == [""]


def test_events_refuse_to_time_ours_on_another_stream_than_torchs(monkeypatch):
    """Our kernels run on CuPy's current stream, the events on PyTorch's."""
    from types import SimpleNamespace

    from convproof.gpu import bench as gpu_bench
    cupy = SimpleNamespace(cuda=SimpleNamespace(
        get_current_stream=lambda: SimpleNamespace(ptr=0x10)))
    torch = SimpleNamespace(cuda=SimpleNamespace(
        current_stream=lambda: SimpleNamespace(cuda_stream=0)))
    monkeypatch.setattr(gpu_bench, "_modules", lambda: (cupy, torch))
    with pytest.raises(RuntimeError, match=r"CuPy's current stream \(0x10\) is not PyTorch's"):
        gpu_bench.event_times(lambda: None, 3)


def test_device_peak_counts_the_most_pooled_bytes_live_at_once_and_torchs_peak(monkeypatch):
    """device_peak_mib on stand-ins for CuPy's memory hooks and PyTorch's allocator counters:
    a malloc adds its size, a free takes it off, the peak is the most live at once; PyTorch's
    part is its peak over what was allocated before the call."""
    import sys
    import types

    from convproof.gpu import bench as gpu_bench

    active = []

    class MemoryHook:
        def __enter__(self):
            active.append(self)

        def __exit__(self, *exc):
            active.remove(self)

    def pooled(event: str, size: int) -> None:
        for hook in active:
            getattr(hook, f"{event}_postprocess")(device_id=0, size=size, mem_size=size,
                                                 mem_ptr=1, pmem_id=1)

    stats = {"allocated": 3 * 2**20, "peak": 3 * 2**20}
    torch = types.SimpleNamespace(cuda=types.SimpleNamespace(
        synchronize=lambda: None, reset_peak_memory_stats=lambda: stats.update(peak=3 * 2**20),
        memory_allocated=lambda: stats["allocated"], max_memory_allocated=lambda: stats["peak"]))
    stream = types.SimpleNamespace(synchronize=lambda: None)
    cupy = types.SimpleNamespace(cuda=types.SimpleNamespace(get_current_stream=lambda: stream))
    hooks = types.ModuleType("cupy.cuda.memory_hook")
    hooks.MemoryHook = MemoryHook
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    monkeypatch.setitem(sys.modules, "cupy.cuda", types.ModuleType("cupy.cuda"))
    monkeypatch.setitem(sys.modules, "cupy.cuda.memory_hook", hooks)
    monkeypatch.setattr(gpu_bench, "_modules", lambda: (cupy, torch))

    def ours():  # 1 MiB, then 2 more, 1 freed, 0.5 more: at most 3 MiB live
        pooled("malloc", 2**20)
        pooled("malloc", 2 * 2**20)
        pooled("free", 2**20)
        pooled("malloc", 2**19)

    def theirs():
        stats["peak"] += 5 * 2**20
    assert gpu_bench.device_peak_mib(ours) == 3.0
    assert gpu_bench.device_peak_mib(theirs) == 5.0
    assert not active
