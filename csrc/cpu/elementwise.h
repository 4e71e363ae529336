// CPU elementwise kernels. Operands arrive with the output's shape (inputs
// already expanded) and the compute dtype; the kernels pick a contiguous
// vectorisable loop or the general strided one per run.
#pragma once

#include "core/tensor.h"
#include "ops/elementwise.h"

namespace ember {
namespace cpu {

// out = a (op) b.
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);

}  // namespace cpu
}  // namespace ember
