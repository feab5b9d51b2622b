"""Every kernel of the standard set compiles for sm_90 with nvcc (no GPU needed).

The kernels go through a few batched nvcc runs; the test skips cleanly where nvcc is absent.
"""

from __future__ import annotations

import pytest

from convproof.codegen.compile import CompileError, compile_check, nvcc
from convproof.codegen.kernels import ConvGeometry, conv_forward
from convproof.codegen.skeleton import Kernel, tile_table
from convproof.gpu.bench import TILE_CANDIDATES
from convproof.gpu.standard import standard_kernels

pytestmark = pytest.mark.skipif(nvcc() is None, reason="nvcc is not installed")


def test_every_standard_kernel_compiles_for_sm_90():
    compile_check(standard_kernels(), "sm_90")


def test_a_kernel_nvcc_refuses_is_reported_with_its_message():
    broken = Kernel("broken", 'extern "C" __global__ void broken(float* y) { y[0] = undeclared; }',
                    (), 32, ())
    with pytest.raises(CompileError, match="undeclared"):
        compile_check([broken])


@pytest.mark.parametrize("candidate", list(TILE_CANDIDATES))
def test_the_candidate_tile_tables_compile_for_sm_90(candidate):
    """The forwards that the GPU bench builds under each candidate table (tile_rows)."""
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    with tile_table(TILE_CANDIDATES[candidate]):
        compile_check([conv_forward(geometry, bound) for bound, _ in TILE_CANDIDATES[candidate]])
