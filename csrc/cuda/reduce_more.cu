// CUDA reductions beyond reduce.cu: sum and prod of any dtype (integers fold
// into int64), amax/amin of integers, max/min with their index and argmax/
// argmin, var/std (Welford per thread, Chan merges across threads),
// logsumexp (one pass with an online rescaled sum) and the p-norms. Each op
// is a "fold": a per-thread State built element by element, merged across
// the row's threads by rows::row_merge, then stored by thread 0. A fold reads
// its storage type In (float16/bfloat16 included) and keeps its state in
// acc_t<In> (float for the 16-bit types), rounding once on store.
#include <cstdint>
#include <limits>

#include "cuda/device/rows.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using namespace rows;

template <typename T>
__device__ __forceinline__ T shfl_xor(T v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}

__device__ __forceinline__ float abs_of(float v) { return fabsf(v); }
__device__ __forceinline__ double abs_of(double v) { return fabs(v); }
__device__ __forceinline__ float sqrt_of(float v) { return sqrtf(v); }
__device__ __forceinline__ double sqrt_of(double v) { return sqrt(v); }
__device__ __forceinline__ float pow_of(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double pow_of(double a, double b) { return pow(a, b); }

template <typename T>
__device__ __forceinline__ bool is_finite(T v) {
  return v > T(-HUGE_VAL) && v < T(HUGE_VAL);
}

template <typename Op>
__global__ void __launch_bounds__(kThreads)
    fold_kernel(const typename Op::In* __restrict__ x, RowGeometry g, Op op) {
  for_each_row(g.rows, [&](int64_t row, bool valid) {
    const typename Op::In* src = x + row_offset(g, 0, row);
    typename Op::State s = op.init();
    for (int64_t i = threadIdx.x; i < g.n; i += blockDim.x) {
      s = op.fold(s, src[element_offset(g, 0, i)], i);
    }
    s = row_merge(s, op);
    if (valid && threadIdx.x == 0) op.store(row, s, g.n);
  });
}

// A fold whose state is one number combined by `Combine`.
template <typename InT, typename Acc, typename Out, typename Combine>
struct ScalarFold {
  using In = InT;
  using State = Acc;
  Out* out;
  Acc start;
  __device__ State init() const { return start; }
  __device__ State fold(State s, In v, int64_t) const { return Combine()(s, Acc(v)); }
  __device__ State merge(State a, State b) const { return Combine()(a, b); }
  __device__ State shuffle(State s, int mask) const { return shfl_xor(s, mask); }
  __device__ void store(int64_t row, State s, int64_t) const { out[row] = Out(s); }
};

struct MulOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a * b; }
};

// The value and index of the first max (min); NaN counts as the extreme and
// the first NaN wins, as on the CPU. Ties go to the lower index, which makes
// merge order-free.
template <typename T, bool kMax>
struct ArgFold {
  using In = T;
  using A = acc_t<T>;
  struct State {
    A value;
    int64_t index;
  };
  T* values;
  int64_t* indices;
  A start;
  __device__ State init() const { return {start, INT64_MAX}; }
  __device__ State merge(State a, State b) const {
    if (is_nan(a.value)) return is_nan(b.value) && b.index < a.index ? b : a;
    if (is_nan(b.value)) return b;
    if (b.value == a.value) return b.index < a.index ? b : a;
    return (kMax ? b.value > a.value : b.value < a.value) ? b : a;
  }
  __device__ State fold(State s, T v, int64_t i) const { return merge(s, State{A(v), i}); }
  __device__ State shuffle(State s, int mask) const {
    return {shfl_xor(s.value, mask), shfl_xor(s.index, mask)};
  }
  __device__ void store(int64_t row, State s, int64_t) const {
    values[row] = T(s.value);
    indices[row] = s.index;
  }
};

// Welford's running mean and sum of squared deviations; Chan's formula
// merges two partial states without cancellation.
template <typename T>
struct VarFold {
  using In = T;
  using A = acc_t<T>;
  struct State {
    A mean, m2, count;
  };
  T* out;
  A correction;
  bool take_sqrt;
  __device__ State init() const { return {A(0), A(0), A(0)}; }
  __device__ State fold(State s, T x, int64_t) const {
    const A v = A(x);
    s.count += A(1);
    const A delta = v - s.mean;
    s.mean += delta / s.count;
    s.m2 += delta * (v - s.mean);
    return s;
  }
  __device__ State merge(State a, State b) const {
    if (b.count == A(0)) return a;
    if (a.count == A(0)) return b;
    const A count = a.count + b.count;
    const A delta = b.mean - a.mean;
    const A weight = b.count / count;
    return {a.mean + delta * weight, a.m2 + b.m2 + delta * delta * a.count * weight, count};
  }
  __device__ State shuffle(State s, int mask) const {
    return {shfl_xor(s.mean, mask), shfl_xor(s.m2, mask), shfl_xor(s.count, mask)};
  }
  __device__ void store(int64_t row, State s, int64_t n) const {
    const A dof = A(n) - correction;
    // n <= correction divides by 0 (inf or NaN), as on the CPU.
    const A result = s.m2 / (dof > A(0) ? dof : A(0));
    out[row] = T(take_sqrt ? sqrt_of(result) : result);
  }
};

// log(sum(exp(x))) as (peak, sum of exp(x - peak)), rescaled when the peak
// rises, so the row is read once. An infinite or NaN peak is the answer.
template <typename T>
struct LogSumExpFold {
  using In = T;
  using A = acc_t<T>;
  struct State {
    A peak, sum;
  };
  T* out;
  __device__ State init() const { return {A(-HUGE_VAL), A(0)}; }
  __device__ State fold(State s, T x, int64_t) const {
    const A v = A(x);
    if (is_nan(s.peak)) return s;
    if (is_nan(v)) return {v, A(0)};
    if (v > s.peak) return {v, s.sum * exp_of(s.peak - v) + A(1)};
    // Both -inf, or a +inf peak that the store returns as it is.
    if (!is_finite(s.peak)) return s;
    return {s.peak, s.sum + exp_of(v - s.peak)};
  }
  __device__ State merge(State a, State b) const {
    if (is_nan(a.peak)) return a;
    if (is_nan(b.peak)) return b;
    const A peak = a.peak > b.peak ? a.peak : b.peak;
    if (!is_finite(peak)) return {peak, A(0)};
    return {peak, a.sum * exp_of(a.peak - peak) + b.sum * exp_of(b.peak - peak)};
  }
  __device__ State shuffle(State s, int mask) const {
    return {shfl_xor(s.peak, mask), shfl_xor(s.sum, mask)};
  }
  __device__ void store(int64_t row, State s, int64_t) const {
    out[row] = T(is_finite(s.peak) ? s.peak + log_of(s.sum) : s.peak);
  }
};

enum class NormKind { max_abs, min_abs, nonzero, abs, square, power };

template <typename T, NormKind kKind>
struct NormFold {
  using In = T;
  using State = acc_t<T>;
  T* out;
  State p;
  __device__ State init() const {
    if constexpr (kKind == NormKind::max_abs) return State(-HUGE_VAL);
    if constexpr (kKind == NormKind::min_abs) return State(HUGE_VAL);
    return State(0);
  }
  __device__ State fold(State s, T x, int64_t) const {
    const State v = State(x);
    const State a = abs_of(v);
    if constexpr (kKind == NormKind::max_abs) return MaxOp()(s, a);
    if constexpr (kKind == NormKind::min_abs) return MinOp()(s, a);
    if constexpr (kKind == NormKind::nonzero) return s + State(v != State(0));
    if constexpr (kKind == NormKind::abs) return s + a;
    if constexpr (kKind == NormKind::square) return s + v * v;
    return s + pow_of(a, p);
  }
  __device__ State merge(State a, State b) const {
    if constexpr (kKind == NormKind::max_abs) return MaxOp()(a, b);
    if constexpr (kKind == NormKind::min_abs) return MinOp()(a, b);
    return a + b;
  }
  __device__ State shuffle(State s, int mask) const { return shfl_xor(s, mask); }
  __device__ void store(int64_t row, State s, int64_t) const {
    if constexpr (kKind == NormKind::square) {
      out[row] = T(sqrt_of(s));
    } else if constexpr (kKind == NormKind::power) {
      out[row] = T(pow_of(s, State(1) / p));
    } else {
      out[row] = T(s);
    }
  }
};

template <typename Op>
void run_fold(const char* name, const void* x, const RowGeometry& g, const Op& op,
              int threads_per_row) {
  dim3 block = block_for(name, g.n, threads_per_row);
  if (g.rows == 0) return;
  launch(fold_kernel<Op>, grid_for(g.rows, block), block, 0, current_stream(),
         static_cast<const typename Op::In*>(x), g, op);
}

const char* fold_op_name(FoldOp op) {
  switch (op) {
    case FoldOp::sum: return "sum";
    case FoldOp::prod: return "prod";
    case FoldOp::amax: return "amax";
    default: return "amin";
  }
}

// Integers add and multiply as uint64 (wrapping like PyTorch, without the
// UB of signed overflow); float products accumulate in double, as on the
// CPU, so long products do not overflow or flush to 0 midway. 16-bit sums
// accumulate in float.
template <typename T>
void fold_typed(FoldOp op, void* out, const void* x, const RowGeometry& g, int threads_per_row) {
  const char* name = fold_op_name(op);
  constexpr bool kFloat = is_floating_v<T>;
  using Out = std::conditional_t<kFloat, T, int64_t>;
  using Wide = std::conditional_t<kFloat, double, uint64_t>;
  using SumAcc = std::conditional_t<kFloat, acc_t<T>, uint64_t>;
  Out* o = static_cast<Out*>(out);
  switch (op) {
    case FoldOp::sum:
      return run_fold(name, x, g, ScalarFold<T, SumAcc, Out, SumOp>{o, SumAcc(0)},
                      threads_per_row);
    case FoldOp::prod:
      return run_fold(name, x, g, ScalarFold<T, Wide, Out, MulOp>{o, Wide(1)}, threads_per_row);
    default: break;
  }
  if constexpr (std::is_same<T, bool>::value) {
    unsupported_dtype(name, DType::bool_);
  } else {
    EMBER_CHECK_KIND(index, g.n > 0 || g.rows == 0, name,
                     ": cannot reduce over an empty extent (the operation has no identity)");
    using A = acc_t<T>;
    T* t = static_cast<T*>(out);
    if (op == FoldOp::amax) {
      return run_fold(name, x, g,
                      ScalarFold<T, A, T, MaxOp>{t, A(std::numeric_limits<T>::lowest())},
                      threads_per_row);
    }
    run_fold(name, x, g, ScalarFold<T, A, T, MinOp>{t, A(std::numeric_limits<T>::max())},
             threads_per_row);
  }
}

template <typename T, NormKind kKind>
void norm_kind(void* out, const void* x, const RowGeometry& g, double p, int threads_per_row) {
  run_fold("norm", x, g, NormFold<T, kKind>{static_cast<T*>(out), acc_t<T>(p)}, threads_per_row);
}

template <typename T>
void norm_typed(void* out, const void* x, const RowGeometry& g, double p, int threads_per_row) {
  if (p == HUGE_VAL) return norm_kind<T, NormKind::max_abs>(out, x, g, p, threads_per_row);
  if (p == -HUGE_VAL) return norm_kind<T, NormKind::min_abs>(out, x, g, p, threads_per_row);
  if (p == 0) return norm_kind<T, NormKind::nonzero>(out, x, g, p, threads_per_row);
  if (p == 1) return norm_kind<T, NormKind::abs>(out, x, g, p, threads_per_row);
  if (p == 2) return norm_kind<T, NormKind::square>(out, x, g, p, threads_per_row);
  norm_kind<T, NormKind::power>(out, x, g, p, threads_per_row);
}

// Checks out (contiguous, one element per row of x over `dims`) and returns the geometry.
RowGeometry fold_geometry(const char* op, const Tensor& out, const Tensor& x, const Shape& dims,
                          DType out_dtype) {
  EMBER_CHECK(out.dtype() == out_dtype && out.is_contiguous(), op,
              ": CUDA kernel expects a contiguous ", dtype_name(out_dtype), " output, got ",
              out.str(), " for ", x.str());
  RowGeometry g = row_geometry(op, dims, &x, 1);
  EMBER_CHECK(out.numel() == g.rows, op, ": output ", out.str(),
              " does not hold one element per kept position of ", x.str());
  return g;
}

DType fold_dtype(FoldOp op, DType dtype) {
  const bool widen = op == FoldOp::sum || op == FoldOp::prod;
  return widen && !is_floating(dtype) ? DType::int64 : dtype;
}

}  // namespace

void fold_raw(FoldOp op, DType dtype, void* out, const void* x, const RowGeometry& g,
              int threads_per_row) {
  switch (dtype) {
    case DType::float32: return fold_typed<float>(op, out, x, g, threads_per_row);
    case DType::float64: return fold_typed<double>(op, out, x, g, threads_per_row);
    case DType::float16: return fold_typed<Half>(op, out, x, g, threads_per_row);
    case DType::bfloat16: return fold_typed<BFloat16>(op, out, x, g, threads_per_row);
    case DType::int64: return fold_typed<int64_t>(op, out, x, g, threads_per_row);
    case DType::int32: return fold_typed<int32_t>(op, out, x, g, threads_per_row);
    case DType::bool_: return fold_typed<bool>(op, out, x, g, threads_per_row);
  }
  unsupported_dtype(fold_op_name(op), dtype);
}

void fold(FoldOp op, const Tensor& out, const Tensor& x, const Shape& dims) {
  const char* name = fold_op_name(op);
  RowGeometry g = fold_geometry(name, out, x, dims, fold_dtype(op, x.dtype()));
  fold_raw(op, x.dtype(), out.raw_data(), x.raw_data(), g);
}

void arg_extreme_raw(bool is_max, DType dtype, void* values, int64_t* indices, const void* x,
                     const RowGeometry& g, int threads_per_row) {
  const char* name = is_max ? "max" : "min";
  EMBER_CHECK_KIND(index, g.n > 0 || g.rows == 0, name,
                   ": cannot reduce over an empty extent (the operation has no identity)");
  auto run = [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    T* v = static_cast<T*>(values);
    if (is_max) {
      A start = is_floating_v<T> ? A(-HUGE_VAL) : A(std::numeric_limits<T>::lowest());
      return run_fold(name, x, g, ArgFold<T, true>{v, indices, start}, threads_per_row);
    }
    A start = is_floating_v<T> ? A(HUGE_VAL) : A(std::numeric_limits<T>::max());
    run_fold(name, x, g, ArgFold<T, false>{v, indices, start}, threads_per_row);
  };
  switch (dtype) {
    case DType::float32: return run(float());
    case DType::float64: return run(double());
    case DType::float16: return run(Half());
    case DType::bfloat16: return run(BFloat16());
    case DType::int64: return run(int64_t());
    case DType::int32: return run(int32_t());
    default: unsupported_dtype(name, dtype);
  }
}

void arg_extreme(const Tensor& values, const Tensor& indices, const Tensor& x, const Shape& dims,
                 bool is_max) {
  const char* name = is_max ? "max" : "min";
  RowGeometry g = fold_geometry(name, values, x, dims, x.dtype());
  fold_geometry(name, indices, x, dims, DType::int64);
  arg_extreme_raw(is_max, x.dtype(), values.raw_data(), indices.data<int64_t>(), x.raw_data(), g);
}

void var_raw(DType dtype, void* out, const void* x, const RowGeometry& g, double correction,
             bool take_sqrt, int threads_per_row) {
  const char* name = take_sqrt ? "std" : "var";
  switch (dtype) {
    case DType::float32:
      return run_fold(name, x, g,
                      VarFold<float>{static_cast<float*>(out), float(correction), take_sqrt},
                      threads_per_row);
    case DType::float64:
      return run_fold(name, x, g, VarFold<double>{static_cast<double*>(out), correction, take_sqrt},
                      threads_per_row);
    case DType::float16:
      return run_fold(name, x, g,
                      VarFold<Half>{static_cast<Half*>(out), float(correction), take_sqrt},
                      threads_per_row);
    case DType::bfloat16:
      return run_fold(name, x, g,
                      VarFold<BFloat16>{static_cast<BFloat16*>(out), float(correction), take_sqrt},
                      threads_per_row);
    default: unsupported_dtype(name, dtype);
  }
}

void var(const Tensor& out, const Tensor& x, const Shape& dims, double correction,
         bool take_sqrt) {
  RowGeometry g = fold_geometry(take_sqrt ? "std" : "var", out, x, dims, x.dtype());
  var_raw(x.dtype(), out.raw_data(), x.raw_data(), g, correction, take_sqrt);
}

void logsumexp_raw(DType dtype, void* out, const void* x, const RowGeometry& g,
                   int threads_per_row) {
  switch (dtype) {
    case DType::float32:
      return run_fold("logsumexp", x, g, LogSumExpFold<float>{static_cast<float*>(out)},
                      threads_per_row);
    case DType::float64:
      return run_fold("logsumexp", x, g, LogSumExpFold<double>{static_cast<double*>(out)},
                      threads_per_row);
    case DType::float16:
      return run_fold("logsumexp", x, g, LogSumExpFold<Half>{static_cast<Half*>(out)},
                      threads_per_row);
    case DType::bfloat16:
      return run_fold("logsumexp", x, g, LogSumExpFold<BFloat16>{static_cast<BFloat16*>(out)},
                      threads_per_row);
    default: unsupported_dtype("logsumexp", dtype);
  }
}

void logsumexp(const Tensor& out, const Tensor& x, const Shape& dims) {
  RowGeometry g = fold_geometry("logsumexp", out, x, dims, x.dtype());
  logsumexp_raw(x.dtype(), out.raw_data(), x.raw_data(), g);
}

void norm_raw(DType dtype, void* out, const void* x, const RowGeometry& g, double p,
              int threads_per_row) {
  EMBER_CHECK(p == p, "norm: p must be a number, got nan");
  EMBER_CHECK_KIND(index, g.n > 0 || g.rows == 0 || (p != HUGE_VAL && p != -HUGE_VAL), "norm",
                   ": an infinity norm of nothing is undefined");
  switch (dtype) {
    case DType::float32: return norm_typed<float>(out, x, g, p, threads_per_row);
    case DType::float64: return norm_typed<double>(out, x, g, p, threads_per_row);
    case DType::float16: return norm_typed<Half>(out, x, g, p, threads_per_row);
    case DType::bfloat16: return norm_typed<BFloat16>(out, x, g, p, threads_per_row);
    default: unsupported_dtype("norm", dtype);
  }
}

void norm(const Tensor& out, const Tensor& x, const Shape& dims, double p) {
  RowGeometry g = fold_geometry("norm", out, x, dims, x.dtype());
  norm_raw(x.dtype(), out.raw_data(), x.raw_data(), g, p);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
