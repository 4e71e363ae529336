// CPU GEMM: C = alpha * A * B + beta * C on strided operands, single and
// batched. Transposed operands are expressed through the strides alone.
#pragma once

#include <cstdint>

namespace ember {
namespace cpu {

// A matrix operand: element (i, j) lives at data[i * row_stride + j * col_stride].
template <typename T>
struct MatrixRef {
  T* data;
  int64_t row_stride;
  int64_t col_stride;
};

// The micro-kernel's instruction set: the best the CPU has, chosen at start-up.
enum class GemmIsa { generic, avx2, avx512 };
GemmIsa gemm_isa();
// Switches the micro-kernel (tests run each one); false, and no change, when
// the CPU lacks `isa`.
bool set_gemm_isa(GemmIsa isa);

// C (M x N) = alpha * A (M x K) * B (K x N) + beta * C. When beta is zero, C
// is only written (NaNs in it do not propagate). Defined for float and double.
template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, MatrixRef<const T> A, MatrixRef<const T> B,
          T beta, MatrixRef<T> C);

// `batch` independent GEMMs of the same sizes; problem b uses the matrices at
// element offsets a_offsets[b], b_offsets[b], c_offsets[b] from the bases.
// Distinct problems must write disjoint C elements.
template <typename T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, MatrixRef<const T> A,
                  const int64_t* a_offsets, MatrixRef<const T> B, const int64_t* b_offsets,
                  T beta, MatrixRef<T> C, const int64_t* c_offsets);

}  // namespace cpu
}  // namespace ember
