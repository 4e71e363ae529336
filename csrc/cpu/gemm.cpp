// CPU GEMM, BLIS-style: B is packed into KC x NC panels (L3-sized), A into
// MC x KC blocks (L2-sized), and a register-blocked MR x NR micro-kernel runs
// over the packed panels (L1-sized slivers). The micro-kernel is one C++ body
// compiled for three instruction sets (SSE2 baseline, AVX2+FMA, AVX-512) and
// picked at run time; packing pads edge tiles with zeros so the kernel never
// branches. Threads split C by rows or columns; matrix-vector shapes skip
// packing.
#include "cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/parallel.h"

namespace ember {
namespace cpu {
namespace {

// Cache blocking for a Zen 4 core (32 KiB L1d, 1 MiB L2, 32 MiB L3): a KC x NR
// sliver of B stays in L1, the MC x KC block of A in L2, KC x NC of B in L3.
template <typename T>
struct Blocking;
template <>
struct Blocking<float> {
  static constexpr int64_t MC = 192, KC = 384, NC = 4096;
};
template <>
struct Blocking<double> {
  static constexpr int64_t MC = 96, KC = 384, NC = 2048;
};

// Below this many multiply-adds a GEMM stays on the calling thread.
constexpr int64_t kParallelFlops = int64_t(1) << 18;

template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* a, const T* b, T* out);

// out (MR x NR, row-major) = sum over p of a[p][:] (outer) b[p][:]. The
// accumulators are GCC/Clang vector-extension values of VB bytes, so the same
// source becomes SSE2, AVX2+FMA or AVX-512 code depending on the target it is
// inlined into (plain scalar loops get SLP-vectorised with shuffles instead).
template <int MR, int NR, int VB, typename T>
__attribute__((always_inline)) inline void micro_body(int64_t kc, const T* __restrict a,
                                                      const T* __restrict b, T* __restrict out) {
  constexpr int lanes = VB / int(sizeof(T)), vectors = NR / lanes;
  static_assert(NR % lanes == 0, "NR must be a whole number of vectors");
  typedef T Vec __attribute__((vector_size(VB)));
  Vec acc[MR][vectors];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < vectors; ++v) acc[i][v] = Vec{};
  for (int64_t p = 0; p < kc; ++p) {
    Vec bv[vectors];
    for (int v = 0; v < vectors; ++v) std::memcpy(&bv[v], b + v * lanes, VB);
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i];
      for (int v = 0; v < vectors; ++v) acc[i][v] += ai * bv[v];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < vectors; ++v) std::memcpy(out + i * NR + v * lanes, &acc[i][v], VB);
}

template <int MR, int NR, typename T>
void micro_generic(int64_t kc, const T* a, const T* b, T* out) {
  micro_body<MR, NR, 16, T>(kc, a, b, out);
}

template <int MR, int NR, typename T>
__attribute__((target("avx2,fma"))) void micro_avx2(int64_t kc, const T* a, const T* b, T* out) {
  micro_body<MR, NR, 32, T>(kc, a, b, out);
}

template <int MR, int NR, typename T>
__attribute__((target("avx512f"))) void micro_avx512(int64_t kc, const T* a, const T* b,
                                                     T* out) {
  micro_body<MR, NR, 64, T>(kc, a, b, out);
}

template <typename T>
struct Kernel {
  int64_t mr;
  int64_t nr;
  MicroKernel<T> run;
};

bool cpu_has(GemmIsa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case GemmIsa::generic: return true;
    case GemmIsa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GemmIsa::avx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
}

GemmIsa best_isa() {
  if (cpu_has(GemmIsa::avx512)) return GemmIsa::avx512;
  if (cpu_has(GemmIsa::avx2)) return GemmIsa::avx2;
  return GemmIsa::generic;
}

std::atomic<GemmIsa> active_isa{best_isa()};

// Tile shapes fill the register file: accumulators plus one row of B in
// vector registers (16 of them for SSE2/AVX2, 32 for AVX-512).
template <typename T>
Kernel<T> kernel() {
  constexpr int lanes128 = 16 / sizeof(T);
  switch (active_isa.load(std::memory_order_relaxed)) {
    case GemmIsa::avx512: return {8, 4 * lanes128 * 2, micro_avx512<8, 4 * lanes128 * 2, T>};
    case GemmIsa::avx2: return {6, 4 * lanes128, micro_avx2<6, 4 * lanes128, T>};
    case GemmIsa::generic: break;
  }
  return {4, 2 * lanes128, micro_generic<4, 2 * lanes128, T>};
}

// Matrix-vector shapes (N == 1 or M == 1) skip packing: a tile would be
// mostly zero padding.
template <typename T>
void gemv_column(int64_t M, int64_t K, T alpha, MatrixRef<const T> A, MatrixRef<const T> B,
                 T beta, MatrixRef<T> C, bool parallel) {
  parallel_for(0, M, parallel ? std::max<int64_t>(1, kParallelFlops / K) : M,
               [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* a = A.data + i * A.row_stride;
      // Eight independent partial sums: vectorisable and more accurate.
      T partial[8] = {};
      int64_t p = 0;
      for (; p + 8 <= K; p += 8)
        for (int u = 0; u < 8; ++u)
          partial[u] += a[(p + u) * A.col_stride] * B.data[(p + u) * B.row_stride];
      for (; p < K; ++p) partial[0] += a[p * A.col_stride] * B.data[p * B.row_stride];
      T total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
                ((partial[4] + partial[5]) + (partial[6] + partial[7]));
      T& c = C.data[i * C.row_stride];
      c = beta == T(0) ? alpha * total : alpha * total + beta * c;
    }
  });
}

template <typename T>
void gemv_row(int64_t N, int64_t K, T alpha, MatrixRef<const T> A, MatrixRef<const T> B,
              T beta, MatrixRef<T> C, bool parallel) {
  parallel_for(0, N, parallel ? std::max<int64_t>(64, kParallelFlops / K) : N,
               [&](int64_t lo, int64_t hi) {
    std::vector<T> row(hi - lo, T(0));
    for (int64_t p = 0; p < K; ++p) {
      const T ap = A.data[p * A.col_stride];
      const T* b = B.data + p * B.row_stride + lo * B.col_stride;
      if (B.col_stride == 1) {
        for (int64_t j = 0; j < hi - lo; ++j) row[j] += ap * b[j];
      } else {
        for (int64_t j = 0; j < hi - lo; ++j) row[j] += ap * b[j * B.col_stride];
      }
    }
    for (int64_t j = lo; j < hi; ++j) {
      T& c = C.data[j * C.col_stride];
      c = beta == T(0) ? alpha * row[j - lo] : alpha * row[j - lo] + beta * c;
    }
  });
}

// Packs rows [0, mc) x cols [0, kc) of A into MR-row panels, each stored
// column by column (MR values per k), zero-padded past mc.
template <typename T>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, int64_t mr, T* out) {
  for (int64_t ir = 0; ir < mc; ir += mr) {
    int64_t rows = std::min(mr, mc - ir);
    const T* panel = a + ir * rs;
    for (int64_t p = 0; p < kc; ++p) {
      const T* col = panel + p * cs;
      int64_t i = 0;
      for (; i < rows; ++i) out[i] = col[i * rs];
      for (; i < mr; ++i) out[i] = T(0);
      out += mr;
    }
  }
}

// Packs rows [0, kc) x cols [0, nc) of B into NR-column panels, each stored
// row by row (NR values per k), zero-padded past nc.
template <typename T>
void pack_b_panel(int64_t kc, int64_t cols, const T* b, int64_t rs, int64_t cs, int64_t nr,
                  T* out) {
  for (int64_t p = 0; p < kc; ++p) {
    const T* row = b + p * rs;
    int64_t j = 0;
    if (cs == 1) {
      for (; j < cols; ++j) out[j] = row[j];
    } else {
      for (; j < cols; ++j) out[j] = row[j * cs];
    }
    for (; j < nr; ++j) out[j] = T(0);
    out += nr;
  }
}

// C tile (rows x cols) = alpha * acc + beta * C, never reading C when beta == 0.
template <typename T>
void store_tile(const T* acc, int64_t nr, int64_t rows, int64_t cols, T alpha, T beta,
                MatrixRef<T> C, int64_t row0, int64_t col0) {
  for (int64_t i = 0; i < rows; ++i) {
    T* c = C.data + (row0 + i) * C.row_stride + col0 * C.col_stride;
    const T* src = acc + i * nr;
    if (beta == T(0)) {
      for (int64_t j = 0; j < cols; ++j) c[j * C.col_stride] = alpha * src[j];
    } else {
      for (int64_t j = 0; j < cols; ++j)
        c[j * C.col_stride] = alpha * src[j] + beta * c[j * C.col_stride];
    }
  }
}

template <typename T>
void scale_matrix(int64_t M, int64_t N, T beta, MatrixRef<T> C) {
  for (int64_t i = 0; i < M; ++i) {
    T* row = C.data + i * C.row_stride;
    for (int64_t j = 0; j < N; ++j) {
      T& c = row[j * C.col_stride];
      c = beta == T(0) ? T(0) : beta * c;
    }
  }
}

// The blocked loops over one whole problem, on the calling thread.
template <typename T>
void gemm_blocked(const Kernel<T>& k, int64_t M, int64_t N, int64_t K, T alpha,
                  MatrixRef<const T> A, MatrixRef<const T> B, T beta, MatrixRef<T> C) {
  const int64_t mr = k.mr, nr = k.nr;
  const int64_t MC = Blocking<T>::MC, KC = Blocking<T>::KC;
  const int64_t NC = std::min(Blocking<T>::NC, (N + nr - 1) / nr * nr);
  std::vector<T> b_pack(KC * NC), a_pack(MC * KC), acc(mr * nr);
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t n_panels = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const T beta_block = pc == 0 ? beta : T(1);
      const T* b_block = B.data + pc * B.row_stride + jc * B.col_stride;
      for (int64_t jp = 0; jp < n_panels; ++jp) {
        pack_b_panel(kc, std::min(nr, nc - jp * nr), b_block + jp * nr * B.col_stride,
                     B.row_stride, B.col_stride, nr, b_pack.data() + jp * nr * kc);
      }
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack_a(mc, kc, A.data + ic * A.row_stride + pc * A.col_stride, A.row_stride,
               A.col_stride, mr, a_pack.data());
        for (int64_t jp = 0; jp < n_panels; ++jp) {
          const int64_t cols = std::min(nr, nc - jp * nr);
          const T* b_panel = b_pack.data() + jp * nr * kc;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            k.run(kc, a_pack.data() + ir * kc, b_panel, acc.data());
            store_tile(acc.data(), nr, std::min(mr, mc - ir), cols, alpha, beta_block, C,
                       ic + ir, jc + jp * nr);
          }
        }
      }
    }
  }
}

}  // namespace

GemmIsa gemm_isa() { return active_isa.load(); }

bool set_gemm_isa(GemmIsa isa) {
  if (!cpu_has(isa)) return false;
  active_isa.store(isa);
  return true;
}

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, MatrixRef<const T> A, MatrixRef<const T> B,
          T beta, MatrixRef<T> C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    scale_matrix(M, N, beta, C);
    return;
  }
  const bool parallel = M * N * K >= kParallelFlops;
  if (N == 1) return gemv_column(M, K, alpha, A, B, beta, C, parallel);
  if (M == 1) return gemv_row(N, K, alpha, A, B, beta, C, parallel);
  const Kernel<T> k = kernel<T>();
  if (!parallel || get_num_threads() <= 1) {
    gemm_blocked(k, M, N, K, alpha, A, B, beta, C);
    return;
  }
  // One parallel region per GEMM: each thread takes a slice of C's rows (or
  // columns, for a short wide C) and packs its own panels. Re-packing B per
  // thread costs little next to the multiply, and it avoids a barrier per
  // block, which is what hurts on a loaded machine.
  const bool split_rows = M / k.mr >= N / k.nr;
  const int64_t unit = split_rows ? k.mr : k.nr;
  const int64_t extent = split_rows ? M : N;
  parallel_for(0, (extent + unit - 1) / unit, 1, [&](int64_t lo, int64_t hi) {
    const int64_t begin = lo * unit, size = std::min(extent, hi * unit) - begin;
    if (split_rows) {
      gemm_blocked(k, size, N, K, alpha, {A.data + begin * A.row_stride, A.row_stride,
                   A.col_stride}, B, beta, {C.data + begin * C.row_stride, C.row_stride,
                   C.col_stride});
    } else {
      gemm_blocked(k, M, size, K, alpha, A, {B.data + begin * B.col_stride, B.row_stride,
                   B.col_stride}, beta, {C.data + begin * C.col_stride, C.row_stride,
                   C.col_stride});
    }
  });
}

template <typename T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, MatrixRef<const T> A,
                  const int64_t* a_offsets, MatrixRef<const T> B, const int64_t* b_offsets,
                  T beta, MatrixRef<T> C, const int64_t* c_offsets) {
  auto one = [&](int64_t i) {
    gemm<T>(M, N, K, alpha, {A.data + a_offsets[i], A.row_stride, A.col_stride},
            {B.data + b_offsets[i], B.row_stride, B.col_stride}, beta,
            {C.data + c_offsets[i], C.row_stride, C.col_stride});
  };
  // Many problems: one thread per problem (each GEMM then runs serially).
  // Few large ones: one after the other, each parallel inside.
  const int64_t threads = get_num_threads();
  if (batch >= threads && batch > 1) {
    const int64_t work = M * N * std::max<int64_t>(K, 1);
    const int64_t grain = std::max<int64_t>(1, kParallelFlops / std::max<int64_t>(work, 1));
    parallel_for(0, batch, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) one(i);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, MatrixRef<const float>,
                          MatrixRef<const float>, float, MatrixRef<float>);
template void gemm<double>(int64_t, int64_t, int64_t, double, MatrixRef<const double>,
                           MatrixRef<const double>, double, MatrixRef<double>);
template void gemm_batched<float>(int64_t, int64_t, int64_t, int64_t, float,
                                  MatrixRef<const float>, const int64_t*, MatrixRef<const float>,
                                  const int64_t*, float, MatrixRef<float>, const int64_t*);
template void gemm_batched<double>(int64_t, int64_t, int64_t, int64_t, double,
                                   MatrixRef<const double>, const int64_t*,
                                   MatrixRef<const double>, const int64_t*, double,
                                   MatrixRef<double>, const int64_t*);

}  // namespace cpu
}  // namespace ember
