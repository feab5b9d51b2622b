"""Every kernel of the standard set compiles for sm_90 (no GPU needed), with nvcc and with
NVRTC through CuPy (the options CuPy's RawModule uses at run time).

The kernels go through a few batched compiler runs; each compiler's tests skip cleanly where it
is absent.
"""

from __future__ import annotations

import sys

import pytest

from convproof.codegen.compile import CompileError, compile_check, nvcc, nvrtc
from convproof.codegen.kernels import ConvGeometry, conv_forward
from convproof.codegen.skeleton import Kernel, tile_table
from convproof.gpu.bench import TILE_CANDIDATES
from convproof.gpu.module import CUPY_OPTIONS, OPTIONS
from convproof.gpu.standard import standard_kernels


NO_NVRTC = nvrtc() is None
COMPILERS = [
    pytest.param("nvcc", marks=pytest.mark.skipif(nvcc() is None, reason="nvcc is not installed")),
    pytest.param("nvrtc", marks=pytest.mark.skipif(NO_NVRTC,
                                                   reason="CuPy with NVRTC is not installed")),
]


@pytest.mark.parametrize("compiler", COMPILERS)
def test_every_standard_kernel_compiles_for_sm_90(compiler):
    compile_check(standard_kernels(), "sm_90", compiler=compiler)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_the_64_bit_kernels_compile_beside_the_32_bit_variants(compiler):
    """The 64-bit kernels of the standard cases (those layers too large for 32-bit indices
    run), in the same translation units as the 32-bit variants the standard set launches
    (the prelude's helpers are templates over the index type)."""
    narrow, wide = standard_kernels(), standard_kernels(index32=False)
    assert not any(k.name.endswith("_i32") for k in wide)
    assert sum(k.name.endswith("_i32") for k in narrow) > len(wide) // 2
    compile_check([item for pair in zip(wide, narrow) for item in pair], "sm_90",
                  compiler=compiler)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_a_kernel_the_compiler_refuses_is_reported_with_its_message(compiler):
    broken = Kernel("broken", 'extern "C" __global__ void broken(float* y) { y[0] = undeclared; }',
                    (), 32, ())
    with pytest.raises(CompileError, match="undeclared"):
        compile_check([broken], compiler=compiler)


@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("candidate", list(TILE_CANDIDATES))
def test_the_candidate_tile_tables_compile_for_sm_90(candidate, compiler):
    """The forwards that the GPU bench builds under each candidate table (tile_rows)."""
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    with tile_table(TILE_CANDIDATES[candidate]):
        compile_check([conv_forward(geometry, bound) for bound, _ in TILE_CANDIDATES[candidate]],
                      compiler=compiler)


@pytest.mark.skipif(NO_NVRTC, reason="CuPy with NVRTC is not installed")
def test_nvrtc_takes_the_last_of_repeated_options_so_cupys_flush_to_zero_holds():
    """CuPy appends CUPY_OPTIONS after OPTIONS; NVRTC keeps the last of two -ftz, so float32
    fused multiply-adds flush subnormals (fma.rn.ftz.f32) whatever OPTIONS say."""
    binding = nvrtc()
    source = ('extern "C" __global__ void fma32(float* y, const float* a) '
              '{ y[0] = a[0] * a[1] + y[0]; }')

    def ptx(options):
        program = binding.createProgram(source, "fma32.cu", (), ())
        try:
            binding.compileProgram(program, (*options, "-arch=compute_90"))
            return binding.getPTX(program).decode()
        finally:
            binding.destroyProgram(program)

    assert "fma.rn.ftz.f32" in ptx((*OPTIONS, "-ftz=false", *CUPY_OPTIONS))
    assert "fma.rn.ftz.f32" not in ptx((*OPTIONS, "-ftz=false"))


def test_nvrtc_without_cupy_is_a_clear_compile_error(monkeypatch):
    for name in ["cupy", "cupy.cuda", "cupy.cuda.nvrtc"]:
        monkeypatch.setitem(sys.modules, name, None)  # import cupy... raises ImportError
    assert nvrtc() is None
    with pytest.raises(CompileError, match="NVRTC is not available through CuPy"):
        compile_check(standard_kernels()[:1], compiler="nvrtc")


def test_an_unknown_compiler_is_refused_by_name():
    with pytest.raises(ValueError, match="compiler must be one of nvcc, nvrtc, got 'clang'"):
        compile_check(standard_kernels()[:1], compiler="clang")
