// Matrix products: matmul (numpy/PyTorch semantics, batch broadcasting), mm,
// bmm and dot. All of them run on the strided GEMM kernel.
#pragma once

#include "core/tensor.h"

namespace ember {

// 1-D . 1-D -> 0-d, 2-D x 2-D, 1-D x N-D and N-D x 1-D (the vector gains and
// then loses a dim), N-D x N-D with the batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// (M, K) x (K, N) -> (M, N); both operands exactly 2-D.
Tensor mm(const Tensor& a, const Tensor& b);
// (B, M, K) x (B, K, N) -> (B, M, N); no broadcasting.
Tensor bmm(const Tensor& a, const Tensor& b);
// input (..., K) x weight (N, K)^T + bias (N,) -> (..., N), the bias added
// by the GEMM (optional: an undefined bias adds nothing).
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias);
// (K,) . (K,) -> 0-d.
Tensor dot(const Tensor& a, const Tensor& b);

}  // namespace ember
