// CUDA reductions (sum, mean, amax, amin over any dims) and softmax /
// log_softmax along a dim with their backward. Every kernel walks rows: a
// group of blockDim.x threads (one warp for short rows, a whole block for
// long ones) owns one row, each thread folds a strided share of it, then a
// warp-shuffle tree and one pass through shared memory combine the partials.
// Operands are read through their own strides, so transposes and slices need
// no extra pass. Short rows along a leading dim get a thread each instead.
// float16/bfloat16 values are loaded into float (acc_t), every sum and
// exponential is computed in float, and each result is rounded once on store.
#include "cuda/device/rows.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using namespace rows;

template <typename T, typename Op>
__global__ void reduce_kernel(T* __restrict__ out, const T* __restrict__ x, RowGeometry g, Op op,
                              bool mean) {
  using A = acc_t<T>;
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const T* src = x + row_offset(g, 0, row);
    A acc = op.template identity<A>();
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      acc = op(acc, A(src[element_offset(g, 0, i)]));
    }
    acc = row_reduce(acc, op);
    // A mean of nothing is 0 / 0 = NaN, as on the CPU.
    if (valid && threadIdx.x == 0) out[row] = T(mean ? acc / A(g.n) : acc);
  });
}

template <typename T>
__global__ void softmax_kernel(T* __restrict__ out, const T* __restrict__ x, RowGeometry g,
                               bool log) {
  using A = acc_t<T>;
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const T* src = x + row_offset(g, 1, row);
    T* dst = out + row_offset(g, 0, row);
    A peak = MaxOp().identity<A>();
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      peak = MaxOp()(peak, A(src[element_offset(g, 1, i)]));
    }
    // A row of -inf gives NaN (-inf - -inf), as on the CPU and in PyTorch.
    const A shift = row_reduce(peak, MaxOp());
    A total = 0;
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      total += exp_of(A(src[element_offset(g, 1, i)]) - shift);
    }
    total = row_reduce(total, SumOp());
    if (!valid) return;
    const A offset = shift + log_of(total);
    const A scale = A(1) / total;
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      const A v = A(src[element_offset(g, 1, i)]);
      dst[element_offset(g, 0, i)] = T(log ? v - offset : exp_of(v - shift) * scale);
    }
  });
}

// softmax: gx = y * (g - sum(g * y)); log_softmax: gx = g - exp(y) * sum(g).
template <typename T>
__global__ void softmax_backward_kernel(T* __restrict__ grad_x, const T* __restrict__ grad,
                                        const T* __restrict__ y, RowGeometry g, bool log) {
  using A = acc_t<T>;
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const T* gr = grad + row_offset(g, 1, row);
    const T* yr = y + row_offset(g, 2, row);
    T* dst = grad_x + row_offset(g, 0, row);
    A dot = 0;
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      const A gv = A(gr[element_offset(g, 1, i)]);
      dot += log ? gv : gv * A(yr[element_offset(g, 2, i)]);
    }
    dot = row_reduce(dot, SumOp());
    if (!valid) return;
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      const A gv = A(gr[element_offset(g, 1, i)]);
      const A yv = A(yr[element_offset(g, 2, i)]);
      dst[element_offset(g, 0, i)] = T(log ? gv - exp_of(yv) * dot : yv * (gv - dot));
    }
  });
}

template <typename T>
void reduce_typed(ReduceOp op, T* out, const T* x, const RowGeometry& g, int threads_per_row) {
  const char* name = reduce_op_name(op);
  dim3 block = block_for(name, g.n, threads_per_row);
  if (g.rows == 0) return;
  EMBER_CHECK_KIND(index, g.n > 0 || op == ReduceOp::sum || op == ReduceOp::mean, name,
                   ": cannot reduce over an empty extent (the operation has no identity)");
  dim3 grid = grid_for(g.rows, block);
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean:
      return launch(reduce_kernel<T, SumOp>, grid, block, 0, current_stream(), out, x, g, SumOp{},
                    op == ReduceOp::mean);
    case ReduceOp::amax:
      return launch(reduce_kernel<T, MaxOp>, grid, block, 0, current_stream(), out, x, g, MaxOp{},
                    false);
    case ReduceOp::amin:
      return launch(reduce_kernel<T, MinOp>, grid, block, 0, current_stream(), out, x, g, MinOp{},
                    false);
  }
}

[[noreturn]] void bad_dtype(const char* op, DType dtype) {
  EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
             " yet (float32, float64, float16 and bfloat16 have one)");
}

// The geometry of rows along `dim` for softmax-like ops.
RowGeometry dim_geometry(const char* op, int64_t dim, const Tensor* operands, int count) {
  const Tensor& first = operands[0];
  for (int k = 1; k < count; ++k) {
    EMBER_CHECK(operands[k].shape() == first.shape() && operands[k].dtype() == first.dtype(),
                op, ": CUDA kernel expects operands of one shape and dtype, got ",
                operands[k].str(), " and ", first.str());
  }
  Shape dims;
  if (first.dim() > 0) dims.push_back(wrap_dim(dim, first.dim(), op));
  return row_geometry(op, dims, operands, count);
}

// Short rows along a leading dim (softmax over dim 0 of a contiguous matrix):
// a warp per row would gather one strided element per lane. One thread per
// row instead walks its row alone while neighbouring threads, owning
// neighbouring rows, read neighbouring addresses.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    softmax_columns_kernel(T* __restrict__ out, const T* __restrict__ x, RowGeometry g, bool log) {
  using A = acc_t<T>;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t row = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; row < g.rows; row += step) {
    const T* src = x + row_offset(g, 1, row);
    T* dst = out + row_offset(g, 0, row);
    const int64_t sx = g.inner_strides[1][0], so = g.inner_strides[0][0];
    A shift = MaxOp().identity<A>();
    for (int64_t i = 0; i < g.n; ++i) shift = MaxOp()(shift, A(src[i * sx]));
    A total = 0;
    for (int64_t i = 0; i < g.n; ++i) total += exp_of(A(src[i * sx]) - shift);
    const A offset = shift + log_of(total);
    const A scale = A(1) / total;
    for (int64_t i = 0; i < g.n; ++i) {
      const A v = A(src[i * sx]);
      dst[i * so] = T(log ? v - offset : exp_of(v - shift) * scale);
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    softmax_backward_columns_kernel(T* __restrict__ grad_x, const T* __restrict__ grad,
                                    const T* __restrict__ y, RowGeometry g, bool log) {
  using A = acc_t<T>;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t row = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; row < g.rows; row += step) {
    const T* gr = grad + row_offset(g, 1, row);
    const T* yr = y + row_offset(g, 2, row);
    T* dst = grad_x + row_offset(g, 0, row);
    const int64_t so = g.inner_strides[0][0], sg = g.inner_strides[1][0];
    const int64_t sy = g.inner_strides[2][0];
    A dot = 0;
    for (int64_t i = 0; i < g.n; ++i) {
      const A gv = A(gr[i * sg]);
      dot += log ? gv : gv * A(yr[i * sy]);
    }
    for (int64_t i = 0; i < g.n; ++i) {
      const A gv = A(gr[i * sg]), yv = A(yr[i * sy]);
      dst[i * so] = T(log ? gv - exp_of(yv) * dot : yv * (gv - dot));
    }
  }
}

// Whether the rows of `g` (its first `count` operands) are short, strided
// along the reduced dim and adjacent to each other: the column kernels'
// layout. threads_per_row == 1 asks for them (the tests), 0 lets this choose.
bool use_columns(const RowGeometry& g, int count, int threads_per_row) {
  if (threads_per_row == 1) return true;
  if (threads_per_row != 0 || g.inner_ndim != 1 || g.n > 64 || g.rows < 128) return false;
  for (int k = 0; k < count; ++k) {
    if (g.inner_strides[k][0] == 1 || g.outer_strides[k][g.outer_ndim - 1] != 1) return false;
  }
  return true;
}

dim3 columns_grid(int64_t rows) {
  return dim3(unsigned(std::min(ceil_div<int64_t>(rows, kThreads), kMaxBlocks)));
}

}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::amax: return "amax";
    default: return "amin";
  }
}

RowGeometry row_geometry(const char* op, const Shape& dims, const Tensor* operands, int count) {
  EMBER_CHECK(count >= 1 && count <= 3, op, ": a row geometry has 1 to 3 operands, got ", count);
  const Tensor& first = operands[0];
  for (int k = 1; k < count; ++k) {
    EMBER_CHECK(operands[k].shape() == first.shape(), op, ": operands ", operands[k].str(),
                " and ", first.str(), " differ in shape");
  }
  RowGeometry g;
  g.rows = 1;
  g.n = 1;
  // Walks the kept (reduced == false) or reduced dims in order, dropping
  // size-1 dims and merging a dim into the previous one when every operand
  // steps through both as one.
  auto collect = [&](bool reduced, int& ndim, int64_t* sizes, int64_t (*strides)[kMaxDims]) {
    for (int64_t d = 0; d < first.dim(); ++d) {
      if (std::binary_search(dims.begin(), dims.end(), d) != reduced) continue;
      int64_t size = first.size(d);
      (reduced ? g.n : g.rows) *= size;
      if (size == 1) continue;
      bool merge = ndim > 0;
      for (int k = 0; k < count && merge; ++k) {
        merge = strides[k][ndim - 1] == operands[k].stride(d) * size;
      }
      if (merge) {
        sizes[ndim - 1] *= size;
        for (int k = 0; k < count; ++k) strides[k][ndim - 1] = operands[k].stride(d);
        continue;
      }
      EMBER_CHECK(ndim < kMaxDims, op, ": the CUDA kernel indexes at most ", kMaxDims,
                  " non-mergeable dimensions, got ", first.str());
      sizes[ndim] = size;
      for (int k = 0; k < count; ++k) strides[k][ndim] = operands[k].stride(d);
      ++ndim;
    }
    if (ndim == 0) {
      sizes[0] = 1;
      ndim = 1;
    }
  };
  collect(false, g.outer_ndim, g.outer_sizes, g.outer_strides);
  collect(true, g.inner_ndim, g.inner_sizes, g.inner_strides);
  return g;
}

void reduce_raw(ReduceOp op, DType dtype, void* out, const void* x, const RowGeometry& g,
                int threads_per_row) {
  switch (dtype) {
    case DType::float32:
      return reduce_typed(op, static_cast<float*>(out), static_cast<const float*>(x), g,
                          threads_per_row);
    case DType::float64:
      return reduce_typed(op, static_cast<double*>(out), static_cast<const double*>(x), g,
                          threads_per_row);
    case DType::float16:
      return reduce_typed(op, static_cast<Half*>(out), static_cast<const Half*>(x), g,
                          threads_per_row);
    case DType::bfloat16:
      return reduce_typed(op, static_cast<BFloat16*>(out), static_cast<const BFloat16*>(x), g,
                          threads_per_row);
    default: bad_dtype(reduce_op_name(op), dtype);
  }
}

void reduce(ReduceOp op, const Tensor& out, const Tensor& x, const Shape& dims) {
  const char* name = reduce_op_name(op);
  EMBER_CHECK(out.dtype() == x.dtype() && out.is_contiguous(), name,
              ": CUDA kernel expects a contiguous output in the input's dtype, got ", out.str(),
              " for ", x.str());
  RowGeometry g = row_geometry(name, dims, &x, 1);
  EMBER_CHECK(out.numel() == g.rows, name, ": output ", out.str(),
              " does not hold one element per kept position of ", x.str());
  reduce_raw(op, x.dtype(), out.raw_data(), x.raw_data(), g);
}

void softmax_raw(bool log, DType dtype, void* out, const void* x, const RowGeometry& g,
                 int threads_per_row) {
  const char* name = log ? "log_softmax" : "softmax";
  const bool columns = use_columns(g, 2, threads_per_row);
  dim3 block = columns ? dim3(kThreads) : block_for(name, g.n, threads_per_row);
  if (g.rows == 0 || g.n == 0) return;
  dim3 grid = columns ? columns_grid(g.rows) : grid_for(g.rows, block);
  auto run = [&](auto* typed_out) {
    using T = std::remove_pointer_t<decltype(typed_out)>;
    launch(columns ? softmax_columns_kernel<T> : softmax_kernel<T>, grid, block, 0,
           current_stream(), typed_out, static_cast<const T*>(x), g, log);
  };
  switch (dtype) {
    case DType::float32: return run(static_cast<float*>(out));
    case DType::float64: return run(static_cast<double*>(out));
    case DType::float16: return run(static_cast<Half*>(out));
    case DType::bfloat16: return run(static_cast<BFloat16*>(out));
    default: bad_dtype(name, dtype);
  }
}

void softmax_backward_raw(bool log, DType dtype, void* grad_x, const void* grad, const void* y,
                          const RowGeometry& g, int threads_per_row) {
  const char* name = log ? "log_softmax_backward" : "softmax_backward";
  const bool columns = use_columns(g, 3, threads_per_row);
  dim3 block = columns ? dim3(kThreads) : block_for(name, g.n, threads_per_row);
  if (g.rows == 0 || g.n == 0) return;
  dim3 grid = columns ? columns_grid(g.rows) : grid_for(g.rows, block);
  auto run = [&](auto* typed_grad_x) {
    using T = std::remove_pointer_t<decltype(typed_grad_x)>;
    launch(columns ? softmax_backward_columns_kernel<T> : softmax_backward_kernel<T>, grid,
           block, 0, current_stream(), typed_grad_x, static_cast<const T*>(grad),
           static_cast<const T*>(y), g, log);
  };
  switch (dtype) {
    case DType::float32: return run(static_cast<float*>(grad_x));
    case DType::float64: return run(static_cast<double*>(grad_x));
    case DType::float16: return run(static_cast<Half*>(grad_x));
    case DType::bfloat16: return run(static_cast<BFloat16*>(grad_x));
    default: bad_dtype(name, dtype);
  }
}

void softmax(const Tensor& out, const Tensor& x, int64_t dim, bool log) {
  const Tensor operands[] = {out, x};
  RowGeometry g = dim_geometry(log ? "log_softmax" : "softmax", dim, operands, 2);
  softmax_raw(log, x.dtype(), out.raw_data(), x.raw_data(), g);
}

void softmax_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& y, int64_t dim,
                      bool log) {
  const Tensor operands[] = {grad_x, grad, y};
  RowGeometry g =
      dim_geometry(log ? "log_softmax_backward" : "softmax_backward", dim, operands, 3);
  softmax_backward_raw(log, y.dtype(), grad_x.raw_data(), grad.raw_data(), y.raw_data(), g);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
