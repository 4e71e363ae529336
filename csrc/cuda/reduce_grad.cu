// CUDA cumsum along a dim (forward and reverse) and the backward helpers of
// the reductions: prod_backward (exact with zeros), extreme_weights (the
// gradient split among tied maxima) and norm_backward. Rows are walked as in
// reduce.cu; the per-row operands (grad, the forward's output) are expanded
// to x's shape and addressed through their own RowGeometry. float16/bfloat16
// operands are computed on in float (acc_t) and rounded once on store.
#include <cstdint>
#include <type_traits>

#include "cuda/device/rows.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using namespace rows;

// Strided rows at least this many get one thread each (coalesced across rows).
constexpr int64_t kColumnScanRows = 256;

template <typename T>
__device__ __forceinline__ T sign_of(T v) {
  return T((v > T(0)) - (v < T(0)));
}
__device__ __forceinline__ float abs_of(float v) { return fabsf(v); }
__device__ __forceinline__ double abs_of(double v) { return fabs(v); }
__device__ __forceinline__ float pow_of(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double pow_of(double a, double b) { return pow(a, b); }

// The inclusive prefix sum of v over the blockDim.x threads of this row, in
// thread order; `total` gets the sum of all of them. Has barriers.
template <typename T>
__device__ T row_scan(T v, T& total) {
  __shared__ T partial[kMaxWarps];
  const int lane = int(threadIdx.x) % 32;
  EMBER_UNROLL
  for (int delta = 1; delta < 32; delta *= 2) {
    const T up = __shfl_up_sync(0xffffffffu, v, delta);
    if (lane >= delta) v += up;
  }
  const int warps = int(blockDim.x) / 32;
  if (warps == 1) {
    total = __shfl_sync(0xffffffffu, v, 31);
    return v;
  }
  const int warp = int(threadIdx.x) / 32;
  const int first = int(threadIdx.y) * warps;
  if (lane == 31) partial[first + warp] = v;
  __syncthreads();
  T before = T(0);
  total = T(0);
  for (int w = 0; w < warps; ++w) {
    const T p = partial[first + w];
    if (w < warp) before += p;
    total += p;
  }
  __syncthreads();
  return v + before;
}

// Scans each row in chunks of blockDim.x elements, carrying the running
// total from chunk to chunk. Operand 0 of g is out, 1 is x.
template <typename In, typename Acc, typename Out>
__global__ void __launch_bounds__(kThreads)
    scan_kernel(Out* __restrict__ out, const In* __restrict__ x, RowGeometry g, bool reverse) {
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const In* src = x + row_offset(g, 1, row);
    Out* dst = out + row_offset(g, 0, row);
    Acc carry = Acc(0);
    for (int64_t base = 0; base < g.n; base += blockDim.x) {
      const int64_t step = base + threadIdx.x;
      const int64_t i = reverse ? g.n - 1 - step : step;
      const bool inside = step < g.n;
      Acc total;
      const Acc prefix = row_scan(inside ? Acc(src[element_offset(g, 1, i)]) : Acc(0), total);
      if (valid && inside) dst[element_offset(g, 0, i)] = Out(carry + prefix);
      carry += total;
    }
  });
}

// One thread per row, walking it in order: for rows strided in memory whose
// neighbours are adjacent, so each step of a warp reads one contiguous run.
template <typename In, typename Acc, typename Out>
__global__ void __launch_bounds__(kThreads) scan_columns_kernel(Out* __restrict__ out,
                                                                const In* __restrict__ x,
                                                                RowGeometry g, bool reverse) {
  const int64_t first = reverse ? g.n - 1 : 0;
  const int64_t out_step = reverse ? -g.inner_strides[0][0] : g.inner_strides[0][0];
  const int64_t x_step = reverse ? -g.inner_strides[1][0] : g.inner_strides[1][0];
  for (int64_t row = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; row < g.rows;
       row += int64_t(gridDim.x) * blockDim.x) {
    const In* src = x + row_offset(g, 1, row) + first * g.inner_strides[1][0];
    Out* dst = out + row_offset(g, 0, row) + first * g.inner_strides[0][0];
    Acc acc = Acc(0);
    for (int64_t k = 0; k < g.n; ++k, src += x_step, dst += out_step) {
      acc += Acc(*src);
      *dst = Out(acc);
    }
  }
}

struct ZeroProduct {
  double others;  // the product of the non-zero elements
  int64_t zeros;
};

struct ZeroProductMerge {
  __device__ ZeroProduct merge(ZeroProduct a, ZeroProduct b) const {
    return {a.others * b.others, a.zeros + b.zeros};
  }
  __device__ ZeroProduct shuffle(ZeroProduct s, int mask) const {
    return {__shfl_xor_sync(0xffffffffu, s.others, mask),
            __shfl_xor_sync(0xffffffffu, s.zeros, mask)};
  }
};

// g: grad_x (0), x (1); per_row: grad (0). The product is in double, as on
// the CPU, so the quotient others / x stays exact where a float would not.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    prod_backward_kernel(T* __restrict__ grad_x, const T* __restrict__ x,
                         const T* __restrict__ grad, RowGeometry g, RowGeometry per_row) {
  using A = acc_t<T>;
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const T* src = x + row_offset(g, 1, row);
    ZeroProduct s{1.0, 0};
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      const A v = A(src[element_offset(g, 1, i)]);
      if (v == A(0)) {
        ++s.zeros;
      } else {
        s.others *= double(v);
      }
    }
    s = row_merge(s, ZeroProductMerge{});
    if (!valid) return;
    T* dst = grad_x + row_offset(g, 0, row);
    const double gr = double(grad[row_offset(per_row, 0, row)]);
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      const A v = A(src[element_offset(g, 1, i)]);
      A r = A(0);
      if (s.zeros == 0) {
        r = A(gr * (s.others / double(v)));
      } else if (s.zeros == 1 && v == A(0)) {
        r = A(gr * s.others);
      }
      dst[element_offset(g, 0, i)] = T(r);
    }
  });
}

// g: weights (0), x (1); per_row: the max/min (0). NaN matches NaN.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    extreme_weights_kernel(T* __restrict__ weights, const T* __restrict__ x,
                           const T* __restrict__ target, RowGeometry g, RowGeometry per_row) {
  using A = acc_t<T>;
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const T* src = x + row_offset(g, 1, row);
    const A want = A(target[row_offset(per_row, 0, row)]);
    const bool want_nan = is_nan(want);
    auto hit = [&](T stored) {
      const A v = A(stored);
      return want_nan ? is_nan(v) : v == want;
    };
    int64_t count = 0;
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      count += hit(src[element_offset(g, 1, i)]);
    }
    count = row_reduce(count, SumOp());
    if (!valid) return;
    T* dst = weights + row_offset(g, 0, row);
    const A share = count ? A(1) / A(count) : A(0);
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      dst[element_offset(g, 0, i)] = T(hit(src[element_offset(g, 1, i)]) ? share : A(0));
    }
  });
}

enum class NormGrad { zero, inf, abs, square, power };

// g: grad_x (0), x (1); per_row: grad (0), the norm (1). The inf norms split
// the gradient among the elements whose |x| is the norm.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    norm_backward_kernel(T* __restrict__ grad_x, const T* __restrict__ x,
                         const T* __restrict__ grad, const T* __restrict__ norms, RowGeometry g,
                         RowGeometry per_row, NormGrad kind, acc_t<T> p) {
  using A = acc_t<T>;
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const T* src = x + row_offset(g, 1, row);
    const A gr = A(grad[row_offset(per_row, 0, row)]);
    const A norm = A(norms[row_offset(per_row, 1, row)]);
    A scale = A(0);
    if (kind == NormGrad::inf) {
      int64_t count = 0;
      for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
        count += abs_of(A(src[element_offset(g, 1, i)])) == norm;
      }
      count = row_reduce(count, SumOp());
      scale = count ? gr / A(count) : A(0);
    } else if (kind == NormGrad::abs) {
      scale = gr;
    } else if (kind == NormGrad::square) {
      scale = gr / norm;
    } else if (kind == NormGrad::power) {
      scale = gr / pow_of(norm, p - A(1));
    }
    if (!valid) return;
    // A zero 2- or p-norm has a zero gradient (pow(0, p - 1) may be inf).
    const bool zero = norm == A(0) && (kind == NormGrad::square || kind == NormGrad::power);
    const NormGrad row_kind = zero ? NormGrad::zero : kind;
    T* dst = grad_x + row_offset(g, 0, row);
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      const A v = A(src[element_offset(g, 1, i)]);
      A r = A(0);
      switch (row_kind) {
        case NormGrad::zero: break;
        case NormGrad::inf: r = abs_of(v) == norm ? scale * sign_of(v) : A(0); break;
        case NormGrad::abs: r = scale * sign_of(v); break;
        case NormGrad::square: r = scale * v; break;
        case NormGrad::power: r = scale * sign_of(v) * pow_of(abs_of(v), p - A(1)); break;
      }
      dst[element_offset(g, 0, i)] = T(r);
    }
  });
}

template <typename In>
void cumsum_typed(void* out, const void* x, const RowGeometry& g, bool reverse,
                  int threads_per_row) {
  constexpr bool kFloat = is_floating_v<In>;
  using Out = std::conditional_t<kFloat, In, int64_t>;
  // Integers add as uint64: wrapping, without the UB of signed overflow;
  // 16-bit floats add in float.
  using Acc = std::conditional_t<kFloat, acc_t<In>, uint64_t>;
  Out* o = static_cast<Out*>(out);
  const In* src = static_cast<const In*>(x);
  const bool strided = g.inner_strides[0][0] != 1 || g.inner_strides[1][0] != 1;
  if (threads_per_row == 0 && strided && g.n > 1 && g.rows >= kColumnScanRows) {
    const unsigned blocks = unsigned(std::min(ceil_div<int64_t>(g.rows, kThreads), kMaxBlocks));
    return launch(scan_columns_kernel<In, Acc, Out>, dim3(blocks), dim3(kThreads), 0,
                  current_stream(), o, src, g, reverse);
  }
  dim3 block = block_for("cumsum", g.n, threads_per_row);
  launch(scan_kernel<In, Acc, Out>, grid_for(g.rows, block), block, 0, current_stream(), o, src,
         g, reverse);
}

NormGrad norm_grad_kind(double p) {
  if (p == 0) return NormGrad::zero;
  if (p == HUGE_VAL || p == -HUGE_VAL) return NormGrad::inf;
  if (p == 1) return NormGrad::abs;
  if (p == 2) return NormGrad::square;
  return NormGrad::power;
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK_KIND(type, a.dtype() == b.dtype(), op, ": CUDA kernel expects ", a.str(),
                   " to have the dtype of ", b.str());
}

}  // namespace

void cumsum_raw(DType dtype, void* out, const void* x, const RowGeometry& g, bool reverse,
                int threads_per_row) {
  block_for("cumsum", g.n, threads_per_row);
  if (g.rows == 0 || g.n == 0) return;
  switch (dtype) {
    case DType::float32: return cumsum_typed<float>(out, x, g, reverse, threads_per_row);
    case DType::float64: return cumsum_typed<double>(out, x, g, reverse, threads_per_row);
    case DType::float16: return cumsum_typed<Half>(out, x, g, reverse, threads_per_row);
    case DType::bfloat16: return cumsum_typed<BFloat16>(out, x, g, reverse, threads_per_row);
    case DType::int64: return cumsum_typed<int64_t>(out, x, g, reverse, threads_per_row);
    case DType::int32: return cumsum_typed<int32_t>(out, x, g, reverse, threads_per_row);
    case DType::bool_: return cumsum_typed<bool>(out, x, g, reverse, threads_per_row);
  }
  unsupported_dtype("cumsum", dtype);
}

void cumsum(const Tensor& out, const Tensor& x, int64_t dim, bool reverse) {
  const DType want = is_floating(x.dtype()) ? x.dtype() : DType::int64;
  EMBER_CHECK(out.dtype() == want && out.shape() == x.shape(), "cumsum: CUDA kernel expects a ",
              dtype_name(want), " output of x's shape, got ", out.str(), " for ", x.str());
  const Tensor operands[] = {out, x};
  Shape dims;
  if (x.dim() > 0) dims.push_back(wrap_dim(dim, x.dim(), "cumsum"));
  RowGeometry g = row_geometry("cumsum", dims, operands, 2);
  cumsum_raw(x.dtype(), out.raw_data(), x.raw_data(), g, reverse);
}

void prod_backward_raw(DType dtype, void* grad_x, const void* grad, const void* x,
                       const RowGeometry& g, const RowGeometry& per_row, int threads_per_row) {
  dim3 block = block_for("prod_backward", g.n, threads_per_row);
  if (g.rows == 0 || g.n == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    launch(prod_backward_kernel<T>, grid_for(g.rows, block), block, 0, current_stream(),
           static_cast<T*>(grad_x), static_cast<const T*>(x), static_cast<const T*>(grad), g,
           per_row);
  };
  switch (dtype) {
    case DType::float32: return run(float());
    case DType::float64: return run(double());
    case DType::float16: return run(Half());
    case DType::bfloat16: return run(BFloat16());
    default: unsupported_dtype("prod_backward", dtype);
  }
}

void extreme_weights_raw(DType dtype, void* weights, const void* x, const void* out,
                         const RowGeometry& g, const RowGeometry& per_row, int threads_per_row) {
  dim3 block = block_for("extreme_weights", g.n, threads_per_row);
  if (g.rows == 0 || g.n == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    launch(extreme_weights_kernel<T>, grid_for(g.rows, block), block, 0, current_stream(),
           static_cast<T*>(weights), static_cast<const T*>(x), static_cast<const T*>(out), g,
           per_row);
  };
  switch (dtype) {
    case DType::float32: return run(float());
    case DType::float64: return run(double());
    case DType::float16: return run(Half());
    case DType::bfloat16: return run(BFloat16());
    default: unsupported_dtype("extreme_weights", dtype);
  }
}

void norm_backward_raw(DType dtype, void* grad_x, const void* grad, const void* x,
                       const void* out, const RowGeometry& g, const RowGeometry& per_row,
                       double p, int threads_per_row) {
  dim3 block = block_for("norm_backward", g.n, threads_per_row);
  if (g.rows == 0 || g.n == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    launch(norm_backward_kernel<T>, grid_for(g.rows, block), block, 0, current_stream(),
           static_cast<T*>(grad_x), static_cast<const T*>(x), static_cast<const T*>(grad),
           static_cast<const T*>(out), g, per_row, norm_grad_kind(p), acc_t<T>(p));
  };
  switch (dtype) {
    case DType::float32: return run(float());
    case DType::float64: return run(double());
    case DType::float16: return run(Half());
    case DType::bfloat16: return run(BFloat16());
    default: unsupported_dtype("norm_backward", dtype);
  }
}

namespace {

// The geometry of (result, x) over `dims` and of the per-row operands
// expanded to x's shape; result must be contiguous with x's shape and dtype.
std::pair<RowGeometry, RowGeometry> backward_geometry(const char* op, const Tensor& result,
                                                      const Tensor& x, const Shape& dims,
                                                      const Tensor* per_row, int count) {
  check_same_dtype(op, result, x);
  EMBER_CHECK(result.shape() == x.shape() && result.is_contiguous(), op,
              ": CUDA kernel expects a contiguous result of x's shape, got ", result.str());
  const Tensor operands[] = {result, x};
  Tensor expanded[2];
  for (int k = 0; k < count; ++k) {
    check_same_dtype(op, per_row[k], x);
    expanded[k] = per_row[k].expand(x.shape());
  }
  return {row_geometry(op, dims, operands, 2), row_geometry(op, dims, expanded, count)};
}

}  // namespace

void prod_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Shape& dims) {
  auto [g, per_row] = backward_geometry("prod_backward", grad_x, x, dims, &grad, 1);
  prod_backward_raw(x.dtype(), grad_x.raw_data(), grad.raw_data(), x.raw_data(), g, per_row);
}

void extreme_weights(const Tensor& weights, const Tensor& x, const Tensor& out,
                     const Shape& dims) {
  auto [g, per_row] = backward_geometry("extreme_weights", weights, x, dims, &out, 1);
  extreme_weights_raw(x.dtype(), weights.raw_data(), x.raw_data(), out.raw_data(), g, per_row);
}

void norm_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Tensor& out,
                   const Shape& dims, double p) {
  const Tensor per_row_operands[] = {grad, out};
  auto [g, per_row] = backward_geometry("norm_backward", grad_x, x, dims, per_row_operands, 2);
  norm_backward_raw(x.dtype(), grad_x.raw_data(), grad.raw_data(), x.raw_data(), out.raw_data(),
                    g, per_row, p);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
