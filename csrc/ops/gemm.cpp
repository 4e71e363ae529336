// Matrix product entry points: argument checks, batch broadcasting, output
// allocation, then the device's GEMM.
#include "ops/gemm.h"

#include <vector>

#include "cpu/gemm.h"
#include "cpu/widen.h"
#include "cuda/kernels.h"

namespace ember {
namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.device() == b.device(), op, ": tensors are on different devices: ", a.str(),
              " and ", b.str());
  EMBER_CHECK_KIND(type, a.dtype() == b.dtype(), op,
                   ": expected both operands to have the same dtype, got ", a.str(), " and ",
                   b.str());
  EMBER_CHECK_KIND(type, is_floating(a.dtype()), op, ": unsupported dtype ",
                   dtype_name(a.dtype()), " (float32, float64, float16 and bfloat16 only)");
}

// Element offsets of every batch entry of `t` (whose leading dims are the
// batch shape), in row-major batch order.
std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  int64_t count = 1;
  for (int64_t s : batch) count *= s;
  std::vector<int64_t> offsets(count);
  Shape index(batch.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < batch.size(); ++d) off += index[d] * t.stride(int64_t(d));
    offsets[i] = off;
    for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}

// a (..., M, K) x b (..., K, N) with both at least 2-D and batch dims
// broadcast; the result is contiguous (batch..., M, N). A defined `addend`
// (broadcast to the result) is added by the GEMM itself: it is copied into
// the output, which the kernel then accumulates into (beta = 1), so a linear
// layer's bias costs no pass of its own.
Tensor batched_product(const char* op, const Tensor& a, const Tensor& b,
                       const Tensor& addend = Tensor()) {
  // The CPU multiplies 16-bit operands as their float32 widenings (before
  // broadcasting, so expanded batch dims are not materialised) and rounds the
  // float32 product once: float accumulation, as on CUDA.
  if (a.device().type == DeviceType::cpu && is_half(a.dtype())) {
    return batched_product(op, cpu::widen(a), cpu::widen(b), cpu::widen(addend)).to(a.dtype());
  }
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  EMBER_CHECK(b.size(-2) == K, op, ": inner dimensions don't match: ", shape_str(a.shape()),
              " and ", shape_str(b.shape()), " (", K, " != ", b.size(-2), ")");
  Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, op);
  Shape a_shape = batch, b_shape = batch, out_shape = batch;
  a_shape.insert(a_shape.end(), {M, K});
  b_shape.insert(b_shape.end(), {K, N});
  out_shape.insert(out_shape.end(), {M, N});
  checked_numel(out_shape, op);
  Tensor ax = a.expand(a_shape), bx = b.expand(b_shape);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  double beta = 0.0;
  if (addend.defined()) {
    out.copy_(addend.expand(out_shape));
    beta = 1.0;
  }
  std::vector<int64_t> a_off = batch_offsets(ax, batch);
  std::vector<int64_t> b_off = batch_offsets(bx, batch);
  std::vector<int64_t> c_off = batch_offsets(out, batch);
  switch (a.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(a.dtype(), op, [&] {
        cpu::gemm_batched<scalar_t>(
            int64_t(a_off.size()), M, N, K, scalar_t(1),
            {ax.data<scalar_t>(), ax.stride(-2), ax.stride(-1)}, a_off.data(),
            {bx.data<scalar_t>(), bx.stride(-2), bx.stride(-1)}, b_off.data(), scalar_t(beta),
            {out.data<scalar_t>(), out.stride(-2), out.stride(-1)}, c_off.data());
      });
      break;
    case DeviceType::cuda:
      cuda::gemm_batched(out, ax, bx, int64_t(a_off.size()), a_off.data(), b_off.data(),
                         c_off.data(), 1.0, beta);
      break;
    default: no_kernel(op, a.device());
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b);
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  if (a.dim() == 1 && b.dim() == 1) {
    EMBER_CHECK(a.size(0) == b.size(0), "matmul: inner dimensions don't match: ",
                shape_str(a.shape()), " and ", shape_str(b.shape()));
    return batched_product("matmul", a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) {
    EMBER_CHECK(a.size(0) == b.size(-2), "matmul: inner dimensions don't match: ",
                shape_str(a.shape()), " and ", shape_str(b.shape()));
    return batched_product("matmul", a.unsqueeze(0), b).squeeze(-2);
  }
  if (b.dim() == 1) {
    EMBER_CHECK(a.size(-1) == b.size(0), "matmul: inner dimensions don't match: ",
                shape_str(a.shape()), " and ", shape_str(b.shape()));
    return batched_product("matmul", a, b.unsqueeze(1)).squeeze(-1);
  }
  return batched_product("matmul", a, b);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_operands("mm", a, b);
  EMBER_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected 2-D matrices, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  return batched_product("mm", a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands("bmm", a, b);
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-D tensors, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  EMBER_CHECK(a.size(0) == b.size(0), "bmm: batch sizes don't match: ", shape_str(a.shape()),
              " and ", shape_str(b.shape()));
  return batched_product("bmm", a, b);
}

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  check_operands("linear", input, weight);
  EMBER_CHECK(weight.dim() == 2, "linear: weight must be 2-D, got ", shape_str(weight.shape()));
  EMBER_CHECK(input.dim() >= 1, "linear: input must have at least 1 dim, got a 0-d tensor");
  EMBER_CHECK(input.size(-1) == weight.size(1), "linear: input features don't match the weight: ",
              shape_str(input.shape()), " and ", shape_str(weight.shape()));
  if (bias.defined()) {
    check_operands("linear", input, bias);
    EMBER_CHECK(bias.numel() == weight.size(0) || bias.numel() == 1, "linear: bias shape ",
                shape_str(bias.shape()), " doesn't match the weight ", shape_str(weight.shape()));
  }
  Tensor b = bias.defined() && bias.numel() == 1 ? bias.reshape({1}) : bias;
  if (input.dim() == 1) {
    return batched_product("linear", input.unsqueeze(0), weight.t(), b).squeeze(0);
  }
  return batched_product("linear", input, weight.t(), b);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  check_operands("dot", a, b);
  EMBER_CHECK(a.dim() == 1 && b.dim() == 1, "dot: expected 1-D tensors, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  EMBER_CHECK(a.size(0) == b.size(0), "dot: inner dimensions don't match: ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  return batched_product("dot", a.unsqueeze(0), b.unsqueeze(1)).reshape({});
}

}  // namespace ember
