// The WMMA API (nvcuda::wmma) for the CUDA-on-CPU harness, with float
// accumulators: the m16n16k8 shape with tf32 inputs (ember's TF32 GEMM) and
// the m16n16k16 shape with 16-bit inputs (the float16/bfloat16 GEMM), whose
// element type is any 2-byte type convertible to float (the kernels pass
// their own storage types where a GPU takes __half / __nv_bfloat16). A
// fragment is warp-collective on a GPU; here every lane holds the whole tile
// (row-major in x[]) and computes it, so the results match and per-element
// loops over num_elements / x[] (the tf32 conversion) still work. Misuse a GPU
// rejects (ldm not a multiple of 16 bytes, a pointer not 32-byte aligned, a
// shape the element type lacks) throws cuda_emu::Error or fails to compile.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "cuda_emu.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

namespace detail {

template <typename Use, int M, int N, int K>
struct Extent;
template <int M, int N, int K>
struct Extent<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct Extent<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct Extent<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

// What a fragment of element type T holds: tf32 values are floats.
template <typename T>
struct Storage {
  using type = T;
};
template <>
struct Storage<precision::tf32> {
  using type = float;
};

template <typename E>
void check_access(const E* p, unsigned ldm, const char* what) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0 || ldm * sizeof(E) % 16 != 0) {
    throw cuda_emu::Error(std::string(what) + ": WMMA needs a 32-byte aligned pointer and ldm a "
                          "multiple of 16 bytes, got ldm " + std::to_string(ldm));
  }
}

}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && (K == 8 || K == 16),
                "the harness implements WMMA m16n16k8 and m16n16k16 only");
  static_assert(std::is_same<Use, accumulator>::value ||
                    (K == 8) == std::is_same<T, precision::tf32>::value,
                "tf32 fragments are m16n16k8, 16-bit ones m16n16k16");
  static_assert(!std::is_same<Use, accumulator>::value || std::is_same<T, float>::value,
                "the harness implements float accumulators only");
  static constexpr int rows = detail::Extent<Use, M, N, K>::rows;
  static constexpr int cols = detail::Extent<Use, M, N, K>::cols;
  using element_type = typename detail::Storage<T>::type;
  static_assert(std::is_same<element_type, float>::value || sizeof(element_type) == 2,
                "matrix fragments hold tf32 or a 16-bit type");
  static constexpr int num_elements = rows * cols;
  element_type x[num_elements];
};

template <typename Use, int M, int N, int K, typename T, typename Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f,
                   typename fragment<Use, M, N, K, T, Layout>::element_type v) {
  for (auto& e : f.x) e = v;
}

template <typename Use, int M, int N, int K, typename T, typename Layout>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f,
                      const typename detail::Storage<T>::type* p, unsigned ldm) {
  detail::check_access(p, ldm, "load_matrix_sync");
  using F = fragment<Use, M, N, K, T, Layout>;
  for (int r = 0; r < F::rows; ++r) {
    for (int c = 0; c < F::cols; ++c) {
      f.x[r * F::cols + c] = std::is_same<Layout, col_major>::value ? p[size_t(c) * ldm + r]
                                                                    : p[size_t(r) * ldm + c];
    }
  }
}

template <int M, int N, int K>
void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm,
                      layout_t layout) {
  detail::check_access(p, ldm, "load_matrix_sync");
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) {
      f.x[r * N + c] = layout == mem_col_major ? p[size_t(c) * ldm + r] : p[size_t(r) * ldm + c];
    }
  }
}

template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm,
                       layout_t layout) {
  detail::check_access(p, ldm, "store_matrix_sync");
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) {
      (layout == mem_col_major ? p[size_t(c) * ldm + r] : p[size_t(r) * ldm + c]) =
          f.x[r * N + c];
    }
  }
}

// d = a * b + c; the products of tf32 or 16-bit values are exact in float,
// the sums are float adds as on the tensor cores (whose order is
// unspecified).
template <int M, int N, int K, typename T, typename LayoutA, typename LayoutB>
void mma_sync(fragment<accumulator, M, N, K, float>& d,
              const fragment<matrix_a, M, N, K, T, LayoutA>& a,
              const fragment<matrix_b, M, N, K, T, LayoutB>& b,
              const fragment<accumulator, M, N, K, float>& c) {
  float out[M * N];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float acc = c.x[i * N + j];
      for (int k = 0; k < K; ++k) acc += float(a.x[i * K + k]) * float(b.x[k * N + j]);
      out[i * N + j] = acc;
    }
  }
  std::memcpy(d.x, out, sizeof(out));
}

// Rounds to tf32 (10 explicit mantissa bits), to nearest with ties away from
// zero like cvt.rna.tf32.f32; infinities and NaNs pass through.
inline float __float_to_tf32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

}  // namespace wmma
}  // namespace nvcuda
