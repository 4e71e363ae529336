// The CUDA fused optimizer kernels run on the harness against the CPU
// kernels: every option combination of SGD, Adam/AdamW, RMSprop and Adagrad
// for a few steps, at sizes around the vector width and the block size, on
// 16-byte aligned (vector path) and misaligned (scalar path) operands,
// every floating dtype, and a shuffled thread order.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/random.h"
#include "cpu/optim.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

const int64_t kSizes[] = {1, 3, 31, 33, 257};

// A few rounding errors of the dtype: the 16-bit types update in float and
// round once per step, so the two sides may differ by an ulp that the next
// steps carry on.
double tolerance(DType dtype) {
  switch (dtype) {
    case DType::float32: return 1e-5;
    case DType::float16: return 2.0 * std::ldexp(1.0, -10);
    case DType::bfloat16: return 2.0 * std::ldexp(1.0, -7);
    default: return 1e-13;
  }
}

// The number of elements that differ beyond a few rounding errors.
int64_t mismatches(const Tensor& got, const Tensor& want, std::string& first) {
  const double tol = tolerance(got.dtype());
  const Tensor got64 = got.to(DType::float64), want64 = want.to(DType::float64);
  int64_t bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = value(got64, i), w = value(want64, i);
    if (std::fabs(g - w) > tol * std::max(1.0, std::fabs(w)) && bad++ == 0) {
      first = "element " + std::to_string(i) + " is " + std::to_string(g) + ", the CPU has " +
              std::to_string(w);
    }
  }
  return bad;
}

// A random tensor of n elements; `misaligned` views it one element into a
// larger buffer so the kernel takes its scalar path.
Tensor random_tensor(int64_t n, DType dtype, bool misaligned, double low = -1, double high = 1) {
  Tensor drawn = Tensor::empty({n + 1}, DType::float64);  // uniform_ has no 16-bit form
  uniform_(drawn, low, high);
  Tensor base = drawn.to(dtype);
  return misaligned ? base.slice(0, 1, n + 1, 1) : base.slice(0, 0, n, 1).contiguous();
}

Tensor copy_of(const Tensor& t, bool misaligned) {
  if (!t.defined()) return t;
  Tensor base = Tensor::empty({t.numel() + 1}, t.dtype());
  Tensor view = base.slice(0, misaligned ? 1 : 0, t.numel() + (misaligned ? 1 : 0), 1);
  view.copy_(t);
  return view;
}

void* ptr(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// Runs `steps` updates on CPU copies (cpu_step) and emulated copies
// (cuda_step) of the state and compares every tensor after each step.
void check_steps(int64_t n, DType dtype, bool misaligned, std::vector<Tensor> state,
                 const std::function<void(const std::vector<Tensor>&, const Tensor&, int)>& cpu_step,
                 const std::function<void(const std::vector<Tensor>&, const Tensor&, int)>& gpu_step,
                 const std::string& what) {
  std::vector<Tensor> cpu_state, gpu_state;
  for (const Tensor& t : state) {
    cpu_state.push_back(copy_of(t, false));
    gpu_state.push_back(copy_of(t, misaligned));
  }
  for (int step = 1; step <= 3; ++step) {
    Tensor grad = random_tensor(n, dtype, misaligned);
    cpu_step(cpu_state, grad, step);
    gpu_step(gpu_state, grad, step);
    for (size_t k = 0; k < state.size(); ++k) {
      if (!state[k].defined()) continue;
      std::string first;
      ASSERT_EQ(mismatches(gpu_state[k], cpu_state[k], first), 0)
          << what << " n=" << n << " " << dtype_name(dtype) << (misaligned ? " misaligned" : "")
          << " step " << step << " operand " << k << ": " << first;
    }
  }
}

template <typename Body>
void for_each_layout(const Body& body) {
  for (DType dtype : {DType::float32, DType::float64, DType::float16, DType::bfloat16}) {
    for (int64_t n : kSizes) {
      for (bool misaligned : {false, true}) body(n, dtype, misaligned);
    }
  }
}

TEST(CudaEmuOptim, SgdEveryOption) {
  for_each_layout([](int64_t n, DType dtype, bool misaligned) {
    for (double momentum : {0.0, 0.9}) {
      for (double dampening : {0.0, 0.2}) {
        for (bool nesterov : {false, true}) {
          if (nesterov && (momentum == 0 || dampening != 0)) continue;
          for (double wd : {0.0, 0.01}) {
            for (bool maximize : {false, true}) {
              Tensor buffer = momentum != 0 ? Tensor::zeros({n}, dtype) : Tensor();
              auto cpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int step) {
                cpu::sgd_step(s[0], g, s[1], 0.1, momentum, dampening, wd, nesterov, maximize,
                              step == 1);
              };
              auto gpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int step) {
                cuda::sgd_step_raw(dtype, n, s[0].raw_data(), g.raw_data(), ptr(s[1]), 0.1,
                                   momentum, dampening, wd, nesterov, maximize, step == 1);
              };
              check_steps(n, dtype, misaligned, {random_tensor(n, dtype, false), buffer},
                          cpu_step, gpu_step, "sgd");
            }
          }
        }
      }
    }
  });
}

TEST(CudaEmuOptim, AdamAndAdamWEveryOption) {
  for_each_layout([](int64_t n, DType dtype, bool misaligned) {
    for (bool decoupled : {false, true}) {
      for (bool amsgrad : {false, true}) {
        for (double wd : {0.0, 0.05}) {
          for (bool maximize : {false, true}) {
            auto cpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int step) {
              cpu::adam_step(s[0], g, s[1], s[2], s[3], 1e-2, 0.9, 0.999, 1e-8, wd, step,
                             decoupled, maximize);
            };
            auto gpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int step) {
              cuda::adam_step_raw(dtype, n, s[0].raw_data(), g.raw_data(), s[1].raw_data(),
                                  s[2].raw_data(), ptr(s[3]), 1e-2, 0.9, 0.999, 1e-8, wd, step,
                                  decoupled, maximize);
            };
            check_steps(n, dtype, misaligned,
                        {random_tensor(n, dtype, false), Tensor::zeros({n}, dtype),
                         Tensor::zeros({n}, dtype),
                         amsgrad ? Tensor::zeros({n}, dtype) : Tensor()},
                        cpu_step, gpu_step, "adam");
          }
        }
      }
    }
  });
}

TEST(CudaEmuOptim, RmspropEveryOption) {
  for_each_layout([](int64_t n, DType dtype, bool misaligned) {
    for (bool centered : {false, true}) {
      for (double momentum : {0.0, 0.5}) {
        for (double wd : {0.0, 0.01}) {
          for (bool maximize : {false, true}) {
            auto cpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int) {
              cpu::rmsprop_step(s[0], g, s[1], s[2], s[3], 1e-2, 0.99, 1e-8, wd, momentum,
                                maximize);
            };
            auto gpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int) {
              cuda::rmsprop_step_raw(dtype, n, s[0].raw_data(), g.raw_data(), s[1].raw_data(),
                                     ptr(s[2]), ptr(s[3]), 1e-2, 0.99, 1e-8, wd, momentum,
                                     maximize);
            };
            check_steps(n, dtype, misaligned,
                        {random_tensor(n, dtype, false), Tensor::zeros({n}, dtype),
                         centered ? Tensor::zeros({n}, dtype) : Tensor(),
                         momentum != 0 ? Tensor::zeros({n}, dtype) : Tensor()},
                        cpu_step, gpu_step, "rmsprop");
          }
        }
      }
    }
  });
}

TEST(CudaEmuOptim, AdagradEveryOption) {
  for_each_layout([](int64_t n, DType dtype, bool misaligned) {
    for (double wd : {0.0, 0.01}) {
      for (bool maximize : {false, true}) {
        auto clr = [](int step) { return 0.1 / (1 + (step - 1) * 0.01); };
        auto cpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int step) {
          cpu::adagrad_step(s[0], g, s[1], clr(step), 1e-10, wd, maximize);
        };
        auto gpu_step = [&](const std::vector<Tensor>& s, const Tensor& g, int step) {
          cuda::adagrad_step_raw(dtype, n, s[0].raw_data(), g.raw_data(), s[1].raw_data(),
                                 clr(step), 1e-10, wd, maximize);
        };
        check_steps(n, dtype, misaligned,
                    {random_tensor(n, dtype, false), Tensor::full({n}, Scalar(0.1), dtype)},
                    cpu_step, gpu_step, "adagrad");
      }
    }
  });
}

TEST(CudaEmuOptim, ShuffledThreadOrderAndPlantedBug) {
  cuda_emu::set_shuffle(true, 29);
  const int64_t n = 1029;
  Tensor param = random_tensor(n, DType::float32, false);
  Tensor want = param.clone(), want_m = Tensor::zeros({n}), want_v = Tensor::zeros({n});
  Tensor m = Tensor::zeros({n}), v = Tensor::zeros({n});
  Tensor grad = random_tensor(n, DType::float32, false);
  cpu::adam_step(want, grad, want_m, want_v, Tensor(), 1e-2, 0.9, 0.99, 1e-8, 0.0, 1, true,
                 false);
  cuda::adam_step_raw(DType::float32, n, param.raw_data(), grad.raw_data(), m.raw_data(),
                      v.raw_data(), nullptr, 1e-2, 0.9, 0.99, 1e-8, 0.0, 1, true, false);
  cuda_emu::set_shuffle(false);
  std::string first;
  EXPECT_EQ(mismatches(param, want, first), 0) << first;
  EXPECT_EQ(mismatches(v, want_v, first), 0) << first;
  static_cast<float*>(param.raw_data())[n - 1] += 1e-3f;
  EXPECT_EQ(mismatches(param, want, first), 1);
}

TEST(CudaEmuOptim, RejectsIntegerDtypes) {
  Tensor i = Tensor::zeros({4}, DType::int64);
  EXPECT_THROW(cuda::sgd_step_raw(DType::int64, 4, i.raw_data(), i.raw_data(), nullptr, 0.1, 0,
                                  0, 0, false, false, true),
               Error);
  EXPECT_THROW(cuda::adagrad_step_raw(DType::int32, 4, i.raw_data(), i.raw_data(), i.raw_data(),
                                      0.1, 0, 0, false),
               Error);
}

}  // namespace
}  // namespace ember
