// CUDA fused optimizer updates (SGD, Adam/AdamW, RMSprop, Adagrad): one
// grid-stride pass over the contiguous parameter reads the gradient and
// every state tensor once and writes the parameter and the state back, with
// 16-byte vector loads and stores when every operand is 16-byte aligned.
// The update rules are cpu/optim.cpp's, in the parameter's dtype (in float
// for float16/bfloat16, rounded once on store). Unused optional state is a
// null pointer, never loaded or stored.
#include <math.h>
#include <cmath>

#include "core/check.h"
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using grid::aligned16;
using grid::blocks_for;
using grid::kThreads;
using grid::Pack;

__device__ __forceinline__ float m_sqrt(float v) { return sqrtf(v); }
__device__ __forceinline__ double m_sqrt(double v) { return sqrt(v); }

// Operand 0 is the parameter, 1 the gradient (read only), the rest state.
template <typename T, int N>
struct Operands {
  T* p[N];
};

// Loads the non-null operands of element i (or of pack i), applies `update`
// to the values (widened to acc_t<T>), stores every non-null operand but the
// gradient.
template <typename T, int N, typename Update>
__global__ void __launch_bounds__(kThreads)
    fused_update_kernel(Operands<T, N> ops, int64_t numel, bool vectorised, Update update) {
  using A = acc_t<T>;
  constexpr int kVec = Pack<T>::kSize;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = vectorised ? numel / kVec : 0;
  for (int64_t i = first; i < packs; i += stride) {
    Pack<T> v[N] = {};
    EMBER_UNROLL
    for (int k = 0; k < N; ++k) {
      if (ops.p[k]) v[k] = reinterpret_cast<const Pack<T>*>(ops.p[k])[i];
    }
    EMBER_UNROLL
    for (int j = 0; j < kVec; ++j) {
      A e[N];
      EMBER_UNROLL
      for (int k = 0; k < N; ++k) e[k] = A(v[k].v[j]);
      update(e);
      EMBER_UNROLL
      for (int k = 0; k < N; ++k) v[k].v[j] = T(e[k]);
    }
    EMBER_UNROLL
    for (int k = 0; k < N; ++k) {
      if (k != 1 && ops.p[k]) reinterpret_cast<Pack<T>*>(ops.p[k])[i] = v[k];
    }
  }
  for (int64_t i = packs * kVec + first; i < numel; i += stride) {
    A e[N];
    EMBER_UNROLL
    for (int k = 0; k < N; ++k) e[k] = ops.p[k] ? A(ops.p[k][i]) : A(0);
    update(e);
    EMBER_UNROLL
    for (int k = 0; k < N; ++k) {
      if (k != 1 && ops.p[k]) ops.p[k][i] = T(e[k]);
    }
  }
}

// e: param, grad, momentum_buffer.
template <typename T>
struct SgdUpdate {
  T lr, momentum, keep, weight_decay, sign;
  bool use_momentum, nesterov, first_step;
  __device__ __forceinline__ void operator()(T (&e)[3]) const {
    T d = sign * e[1] + weight_decay * e[0];
    if (use_momentum) {
      const T b = first_step ? d : momentum * e[2] + keep * d;
      e[2] = b;
      d = nesterov ? d + momentum * b : b;
    }
    e[0] -= lr * d;
  }
};

// e: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq.
template <typename T>
struct AdamUpdate {
  T step_size, bias2_sqrt, beta1, beta2, eps, sign, coupled_wd, decay;
  bool amsgrad;
  __device__ __forceinline__ void operator()(T (&e)[5]) const {
    const T w = e[0] * decay;
    const T g = sign * e[1] + coupled_wd * w;
    const T m = beta1 * e[2] + (T(1) - beta1) * g;
    T v = beta2 * e[3] + (T(1) - beta2) * g * g;
    e[2] = m;
    e[3] = v;
    if (amsgrad) {
      v = e[4] > v ? e[4] : v;
      e[4] = v;
    }
    const T denom = m_sqrt(v) / bias2_sqrt + eps;
    e[0] = w - step_size * m / denom;
  }
};

// e: param, grad, square_avg, grad_avg, momentum_buffer.
template <typename T>
struct RmspropUpdate {
  T lr, alpha, eps, weight_decay, momentum, sign;
  bool centered, use_momentum;
  __device__ __forceinline__ void operator()(T (&e)[5]) const {
    const T g = sign * e[1] + weight_decay * e[0];
    const T sq = alpha * e[2] + (T(1) - alpha) * g * g;
    e[2] = sq;
    T var = sq;
    if (centered) {
      const T mu = alpha * e[3] + (T(1) - alpha) * g;
      e[3] = mu;
      var = sq - mu * mu;
    }
    const T avg = m_sqrt(var) + eps;
    if (use_momentum) {
      const T b = momentum * e[4] + g / avg;
      e[4] = b;
      e[0] -= lr * b;
    } else {
      e[0] -= lr * g / avg;
    }
  }
};

// e: param, grad, state_sum.
template <typename T>
struct AdagradUpdate {
  T clr, eps, weight_decay, sign;
  __device__ __forceinline__ void operator()(T (&e)[3]) const {
    const T g = sign * e[1] + weight_decay * e[0];
    const T s = e[2] + g * g;
    e[2] = s;
    e[0] -= clr * g / (m_sqrt(s) + eps);
  }
};

template <typename T, int N, typename Update>
void run(int64_t numel, const Operands<T, N>& ops, const Update& update) {
  if (numel == 0) return;
  bool vectorised = true;
  for (int k = 0; k < N; ++k) vectorised = vectorised && (!ops.p[k] || aligned16(ops.p[k]));
  const int64_t work = vectorised ? ceil_div<int64_t>(numel, Pack<T>::kSize) : numel;
  launch(fused_update_kernel<T, N, Update>, dim3(blocks_for(work)), dim3(kThreads), 0,
         current_stream(), ops, numel, vectorised, update);
}

template <typename T>
T* typed(void* p) {
  return static_cast<T*>(p);
}
template <typename T>
T* typed(const void* p) {
  return static_cast<T*>(const_cast<void*>(p));
}

// Calls body(T{}) for the floating dtypes, throws a TypeError naming `op` otherwise.
template <typename Body>
void dispatch(const char* op, DType dtype, const Body& body) {
  switch (dtype) {
    case DType::float32: return body(float{});
    case DType::float64: return body(double{});
    case DType::float16: return body(Half{});
    case DType::bfloat16: return body(BFloat16{});
    default:
      EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " (the floating dtypes have one)");
  }
}

Tensor contiguous_operand(const char* op, const Tensor& t, const Tensor& param) {
  if (!t.defined()) return t;
  EMBER_CHECK(t.is_contiguous() && t.numel() == param.numel() && t.dtype() == param.dtype(), op,
              ": the CUDA kernel expects contiguous operands like the parameter ", param.str(),
              ", got ", t.str());
  return t;
}

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

}  // namespace

void sgd_step_raw(DType dtype, int64_t numel, void* param, const void* grad,
                  void* momentum_buffer, double lr, double momentum, double dampening,
                  double weight_decay, bool nesterov, bool maximize, bool first_step) {
  dispatch("sgd_step", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = acc_t<T>;
    const bool use_momentum = momentum != 0;
    SgdUpdate<A> update{A(lr), A(momentum), A(1 - dampening), A(weight_decay),
                        maximize ? A(-1) : A(1), use_momentum, nesterov, first_step};
    run<T, 3>(numel, {{typed<T>(param), typed<T>(grad),
                       use_momentum ? typed<T>(momentum_buffer) : nullptr}},
              update);
  });
}

void adam_step_raw(DType dtype, int64_t numel, void* param, const void* grad, void* exp_avg,
                   void* exp_avg_sq, void* max_exp_avg_sq, double lr, double beta1, double beta2,
                   double eps, double weight_decay, int64_t step, bool decoupled, bool maximize) {
  dispatch("adam_step", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = acc_t<T>;
    const double bias1 = 1 - std::pow(beta1, double(step));
    const double bias2 = 1 - std::pow(beta2, double(step));
    AdamUpdate<A> update{A(lr / bias1),
                         A(std::sqrt(bias2)),
                         A(beta1),
                         A(beta2),
                         A(eps),
                         maximize ? A(-1) : A(1),
                         decoupled ? A(0) : A(weight_decay),
                         decoupled ? A(1 - lr * weight_decay) : A(1),
                         max_exp_avg_sq != nullptr};
    run<T, 5>(numel, {{typed<T>(param), typed<T>(grad), typed<T>(exp_avg), typed<T>(exp_avg_sq),
                       typed<T>(max_exp_avg_sq)}},
              update);
  });
}

void rmsprop_step_raw(DType dtype, int64_t numel, void* param, const void* grad,
                      void* square_avg, void* grad_avg, void* momentum_buffer, double lr,
                      double alpha, double eps, double weight_decay, double momentum,
                      bool maximize) {
  dispatch("rmsprop_step", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = acc_t<T>;
    RmspropUpdate<A> update{A(lr),       A(alpha), A(eps), A(weight_decay), A(momentum),
                            maximize ? A(-1) : A(1), grad_avg != nullptr,
                            momentum_buffer != nullptr};
    run<T, 5>(numel, {{typed<T>(param), typed<T>(grad), typed<T>(square_avg), typed<T>(grad_avg),
                       typed<T>(momentum_buffer)}},
              update);
  });
}

void adagrad_step_raw(DType dtype, int64_t numel, void* param, const void* grad, void* state_sum,
                      double clr, double eps, double weight_decay, bool maximize) {
  dispatch("adagrad_step", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = acc_t<T>;
    AdagradUpdate<A> update{A(clr), A(eps), A(weight_decay), maximize ? A(-1) : A(1)};
    run<T, 3>(numel, {{typed<T>(param), typed<T>(grad), typed<T>(state_sum)}}, update);
  });
}

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step) {
  const char* op = "sgd_step";
  Tensor p = contiguous_operand(op, param, param), g = contiguous_operand(op, grad, param);
  Tensor b = contiguous_operand(op, momentum_buffer, param);
  sgd_step_raw(param.dtype(), param.numel(), p.raw_data(), g.raw_data(), data_or_null(b), lr,
               momentum, dampening, weight_decay, nesterov, maximize, first_step);
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, double lr, double beta1,
               double beta2, double eps, double weight_decay, int64_t step, bool decoupled,
               bool maximize) {
  const char* op = "adam_step";
  Tensor p = contiguous_operand(op, param, param), g = contiguous_operand(op, grad, param);
  Tensor m = contiguous_operand(op, exp_avg, param), v = contiguous_operand(op, exp_avg_sq, param);
  Tensor vmax = contiguous_operand(op, max_exp_avg_sq, param);
  adam_step_raw(param.dtype(), param.numel(), p.raw_data(), g.raw_data(), m.raw_data(),
                v.raw_data(), data_or_null(vmax), lr, beta1, beta2, eps, weight_decay, step,
                decoupled, maximize);
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& grad_avg, const Tensor& momentum_buffer, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool maximize) {
  const char* op = "rmsprop_step";
  Tensor p = contiguous_operand(op, param, param), g = contiguous_operand(op, grad, param);
  Tensor sq = contiguous_operand(op, square_avg, param);
  Tensor mu = contiguous_operand(op, grad_avg, param);
  Tensor b = contiguous_operand(op, momentum_buffer, param);
  rmsprop_step_raw(param.dtype(), param.numel(), p.raw_data(), g.raw_data(), sq.raw_data(),
                   data_or_null(mu), data_or_null(b), lr, alpha, eps, weight_decay, momentum,
                   maximize);
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, double clr,
                  double eps, double weight_decay, bool maximize) {
  const char* op = "adagrad_step";
  Tensor p = contiguous_operand(op, param, param), g = contiguous_operand(op, grad, param);
  Tensor s = contiguous_operand(op, state_sum, param);
  adagrad_step_raw(param.dtype(), param.numel(), p.raw_data(), g.raw_data(), s.raw_data(), clr,
                   eps, weight_decay, maximize);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
