// CPU GEMM, BLIS-style: B is packed into KC x NC panels (L3-sized), A into
// MC x KC blocks (L2-sized), and a register-blocked MR x NR micro-kernel runs
// over the packed panels and writes C directly; only edge tiles and C with a
// non-unit column stride go through a tile buffer. The micro-kernel is one
// C++ body compiled for three instruction sets (SSE2 baseline, AVX2+FMA,
// AVX-512) and picked at run time; packing pads edge panels with zeros so the
// kernel never branches. Blocks of B of at most two panels read A in place
// instead of packing it. Threads share each packed block of B (split by rows
// of C) or take disjoint panels of it (split by columns). A C at most 16
// columns wide with contiguous rows of A is computed as dot products along K,
// and matrix-vector shapes skip packing.
#include "cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <immintrin.h>

#include "core/parallel.h"

namespace ember {
namespace cpu {
namespace {

// Cache blocking for a Zen 4 core (32 KiB L1d, 1 MiB L2, 32 MiB L3): the
// MC x KC block of A (384 KiB) stays in L2, KC x NC of B in L3, and each
// KC x NR sliver of B (64 KiB) streams from L2 through L1. Measured on Zen 4,
// a KC of 512 beats 256 (an L1-sized sliver) and 384 by 3-5%: fewer passes
// over C outweigh the L2 traffic.
template <typename T>
struct Blocking;
template <>
struct Blocking<float> {
  static constexpr int64_t MC = 192, KC = 512, NC = 4096;
};
template <>
struct Blocking<double> {
  static constexpr int64_t MC = 96, KC = 512, NC = 2048;
};

// Below this many multiply-adds a GEMM stays on the calling thread.
constexpr int64_t kParallelFlops = int64_t(1) << 21;

// The largest micro-tile (MR x NR elements) of any kernel below.
constexpr int kMaxTile = 512;

// c (MR x NR, row stride ldc, unit column stride) = alpha * A B + beta * c,
// where A's element (i, p) is a[i * rs_a + p * cs_a] and b holds NR values
// per p. beta == 0 never reads c.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
                             T* c, int64_t ldc, T alpha, T beta);

// The accumulators are GCC/Clang vector-extension values of VB bytes, so the
// same source becomes SSE2, AVX2+FMA or AVX-512 code depending on the target
// it is inlined into (plain scalar loops get SLP-vectorised with shuffles
// instead). Packed A has compile-time strides (1, MR), which keeps its
// addressing out of the general-purpose registers.
template <int MR, int NR, int VB, bool Packed, typename T>
__attribute__((always_inline)) inline void micro_body(int64_t kc, const T* __restrict a,
                                                      int64_t rs_a, int64_t cs_a,
                                                      const T* __restrict b, T* __restrict c,
                                                      int64_t ldc, T alpha, T beta) {
  constexpr int lanes = VB / int(sizeof(T)), vectors = NR / lanes;
  static_assert(NR % lanes == 0, "NR must be a whole number of vectors");
  static_assert(MR * NR <= kMaxTile, "tile larger than the edge buffer");
  typedef T Vec __attribute__((vector_size(VB)));
  const int64_t rs = Packed ? 1 : rs_a, cs = Packed ? MR : cs_a;
  for (int i = 0; i < MR; ++i) __builtin_prefetch(c + i * ldc, 1);
  Vec acc[MR][vectors];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < vectors; ++v) acc[i][v] = Vec{};
  for (int64_t p = 0; p < kc; ++p) {
    Vec bv[vectors];
    for (int v = 0; v < vectors; ++v) std::memcpy(&bv[v], b + v * lanes, VB);
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i * rs];
      for (int v = 0; v < vectors; ++v) acc[i][v] += ai * bv[v];
    }
    a += cs;
    b += NR;
  }
  if (beta == T(0)) {
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < vectors; ++v) {
        const Vec r = alpha * acc[i][v];
        std::memcpy(c + i * ldc + v * lanes, &r, VB);
      }
  } else {
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < vectors; ++v) {
        Vec r;
        std::memcpy(&r, c + i * ldc + v * lanes, VB);
        r = alpha * acc[i][v] + beta * r;
        std::memcpy(c + i * ldc + v * lanes, &r, VB);
      }
  }
}

template <int MR, int NR, bool Packed, typename T>
void micro_generic(int64_t kc, const T* a, int64_t rs_a, int64_t cs_a, const T* b, T* c,
                   int64_t ldc, T alpha, T beta) {
  micro_body<MR, NR, 16, Packed, T>(kc, a, rs_a, cs_a, b, c, ldc, alpha, beta);
}

template <int MR, int NR, bool Packed, typename T>
__attribute__((target("avx2,fma"))) void micro_avx2(int64_t kc, const T* a, int64_t rs_a,
                                                    int64_t cs_a, const T* b, T* c, int64_t ldc,
                                                    T alpha, T beta) {
  micro_body<MR, NR, 32, Packed, T>(kc, a, rs_a, cs_a, b, c, ldc, alpha, beta);
}

template <int MR, int NR, bool Packed, typename T>
__attribute__((target("avx512f"))) void micro_avx512(int64_t kc, const T* a, int64_t rs_a,
                                                     int64_t cs_a, const T* b, T* c, int64_t ldc,
                                                     T alpha, T beta) {
  micro_body<MR, NR, 64, Packed, T>(kc, a, rs_a, cs_a, b, c, ldc, alpha, beta);
}

template <typename T>
struct Kernel {
  int64_t mr;
  int64_t nr;
  MicroKernel<T> packed;   // A packed by pack_a
  MicroKernel<T> strided;  // A read in place
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

// Tile shapes: the 16-register ISAs fill the register file (accumulators
// plus one row of B). AVX-512 uses 8 rows, 16 accumulators of its 32
// registers: on Zen 4 the 8 x 32 float kernel measured 0-10% faster than
// 12 x 32 at every size from 256 to 2048 on one and two threads, and 8
// divides the channel counts (32, 64, 128, ...) of convolutions, where 12
// padded 64 rows to 72. A C at most one vector wide gets a one-vector
// kernel, so an N of 10 pads to 16 columns rather than 32.
template <typename T>
Kernel<T> kernel(int64_t N) {
  constexpr int L = 16 / sizeof(T);  // lanes of a 128-bit vector
  switch (active_isa.load(std::memory_order_relaxed)) {
    case GemmIsa::avx512:
      if (N <= 4 * L) {
        return {8, 4 * L, micro_avx512<8, 4 * L, true, T>, micro_avx512<8, 4 * L, false, T>};
      }
      return {8, 8 * L, micro_avx512<8, 8 * L, true, T>, micro_avx512<8, 8 * L, false, T>};
    case GemmIsa::avx2:
      return {6, 4 * L, micro_avx2<6, 4 * L, true, T>, micro_avx2<6, 4 * L, false, T>};
    case GemmIsa::generic: break;
  }
  return {4, 2 * L, micro_generic<4, 2 * L, true, T>, micro_generic<4, 2 * L, false, T>};
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

// Four rows of a row-major A (row stride rs) into four adjacent lanes of
// an MR-row panel: each k's four values side by side.
template <typename T>
void pack_rows4(int64_t kc, const T* r0, int64_t rs, int64_t mr, T* dst) {
  const T *r1 = r0 + rs, *r2 = r1 + rs, *r3 = r2 + rs;
  for (int64_t p = 0; p < kc; ++p, dst += mr) {
    dst[0] = r0[p];
    dst[1] = r1[p];
    dst[2] = r2[p];
    dst[3] = r3[p];
  }
}

// float: four k at a time through a 4 x 4 SSE transpose (baseline x86-64),
// four vector loads and stores instead of sixteen scalar ones.
inline void pack_rows4(int64_t kc, const float* r0, int64_t rs, int64_t mr, float* dst) {
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4, dst += 4 * mr) {
    __m128 k0 = _mm_loadu_ps(r0 + p), k1 = _mm_loadu_ps(r0 + rs + p);
    __m128 k2 = _mm_loadu_ps(r0 + 2 * rs + p), k3 = _mm_loadu_ps(r0 + 3 * rs + p);
    _MM_TRANSPOSE4_PS(k0, k1, k2, k3);
    _mm_storeu_ps(dst, k0);
    _mm_storeu_ps(dst + mr, k1);
    _mm_storeu_ps(dst + 2 * mr, k2);
    _mm_storeu_ps(dst + 3 * mr, k3);
  }
  pack_rows4<float>(kc - p, r0 + p, rs, mr, dst);
}

// Packs rows [0, mc) x cols [0, kc) of A into MR-row panels, each stored
// column by column (MR values per k), zero-padded past mc.
template <typename T>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, int64_t mr, T* out) {
  for (int64_t ir = 0; ir < mc; ir += mr, out += mr * kc) {
    const int64_t rows = std::min(mr, mc - ir);
    const T* panel = a + ir * rs;
    if (cs == 1) {
      // Row-major A: four rows at a time, read in order, each k's four values
      // stored side by side (the panel fits in L1).
      int64_t i = 0;
      for (; i + 4 <= rows; i += 4) pack_rows4(kc, panel + i * rs, rs, mr, out + i);
      for (; i < rows; ++i) {
        const T* row = panel + i * rs;
        for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = row[p];
      }
    } else {
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t i = 0; i < rows; ++i) out[p * mr + i] = panel[p * cs + i * rs];
    }
    for (int64_t p = 0; p < kc && rows < mr; ++p)
      for (int64_t i = rows; i < mr; ++i) out[p * mr + i] = T(0);
  }
}

// Packs panels [jp_lo, jp_hi) of rows [0, kc) x cols [0, nc) of B; panel jp
// (NR columns stored row by row, NR values per k, zero-padded past nc)
// starts at out + jp * panel_stride. Row-major B is read row by row across
// all the panels: going down one panel at a time would touch a new page
// every row.
template <typename T>
void pack_b(int64_t kc, int64_t nc, int64_t jp_lo, int64_t jp_hi, const T* b, int64_t rs,
            int64_t cs, int64_t nr, int64_t panel_stride, T* out) {
  if (cs == 1) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* row = b + p * rs;
      for (int64_t jp = jp_lo; jp < jp_hi; ++jp) {
        const int64_t cols = std::min(nr, nc - jp * nr);
        T* dst = out + jp * panel_stride + p * nr;
        std::memcpy(dst, row + jp * nr, size_t(cols) * sizeof(T));
        for (int64_t j = cols; j < nr; ++j) dst[j] = T(0);
      }
    }
    return;
  }
  for (int64_t jp = jp_lo; jp < jp_hi; ++jp) {
    const int64_t cols = std::min(nr, nc - jp * nr);
    T* panel = out + jp * panel_stride;
    int64_t j = 0;
    // Transposed B (contiguous columns): four columns at a time, as for A.
    for (; rs == 1 && j + 4 <= cols; j += 4) {
      pack_rows4(kc, b + (jp * nr + j) * cs, cs, nr, panel + j);
    }
    for (; j < cols; ++j) {
      const T* col = b + (jp * nr + j) * cs;
      for (int64_t p = 0; p < kc; ++p) panel[p * nr + j] = col[p * rs];
    }
    for (int64_t p = 0; p < kc && cols < nr; ++p)
      for (int64_t j = cols; j < nr; ++j) panel[p * nr + j] = T(0);
  }
}

// C tile (rows x cols at c) = alpha * acc + beta * C, never reading C when
// beta == 0.
template <typename T>
void store_tile(const T* acc, int64_t nr, int64_t rows, int64_t cols, T alpha, T beta, T* c,
                int64_t rs, int64_t cs) {
  for (int64_t i = 0; i < rows; ++i, c += rs) {
    const T* src = acc + i * nr;
    if (beta == T(0)) {
      for (int64_t j = 0; j < cols; ++j) c[j * cs] = alpha * src[j];
    } else {
      for (int64_t j = 0; j < cols; ++j) c[j * cs] = alpha * src[j] + beta * c[j * cs];
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

// The calling thread's packing space, kept between calls: allocating (and
// page-faulting) fresh buffers per call was most of a small GEMM's time.
template <typename T>
T* scratch(size_t count) {
  struct Buffer {
    T* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (buffer.size < count) {
    std::free(buffer.data);
    buffer.data = nullptr;
    buffer.size = 0;
    void* p = std::aligned_alloc(64, (count * sizeof(T) + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    buffer.data = static_cast<T*>(p);
    buffer.size = count;
  }
  return buffer.data;
}

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Narrow C with contiguous rows of A: each element of C is the dot product of
// a row of A and a row of Bt (B transposed, N x K), vectorised along K. Unlike
// the blocked path's tiles, nothing is padded to a whole vector of columns
// (N = 10 would fill 10 of 16 lanes), and A is read in place. The RA x RB
// block of C reuses each loaded vector RB (or RA) times.
// The sum of the VB / sizeof(T) lanes at v, halving the vector each step: a
// chain of log2(lanes) dependent adds rather than one per lane.
template <int VB, typename T>
__attribute__((always_inline)) inline T horizontal_sum(const void* v) {
  if constexpr (VB == 2 * int(sizeof(T))) {
    T x[2];
    std::memcpy(x, v, VB);
    return x[0] + x[1];
  } else {
    typedef T Half __attribute__((vector_size(VB / 2)));
    Half low, high;
    std::memcpy(&low, v, VB / 2);
    std::memcpy(&high, static_cast<const char*>(v) + VB / 2, VB / 2);
    const Half sum = low + high;
    return horizontal_sum<VB / 2, T>(&sum);
  }
}

template <int RA, int RB, int VB, typename T>
__attribute__((always_inline)) inline void dot_body(int64_t K, const T* __restrict a,
                                                    int64_t lda, const T* __restrict bt,
                                                    int64_t ldb, T alpha, T beta, T* c,
                                                    int64_t rs_c, int64_t cs_c) {
  constexpr int lanes = VB / int(sizeof(T));
  typedef T Vec __attribute__((vector_size(VB)));
  Vec acc[RA][RB];
  for (int i = 0; i < RA; ++i)
    for (int j = 0; j < RB; ++j) acc[i][j] = Vec{};
  int64_t p = 0;
  for (; p + lanes <= K; p += lanes) {
    Vec av[RA], bv[RB];
    for (int i = 0; i < RA; ++i) std::memcpy(&av[i], a + i * lda + p, VB);
    for (int j = 0; j < RB; ++j) std::memcpy(&bv[j], bt + j * ldb + p, VB);
    for (int i = 0; i < RA; ++i)
      for (int j = 0; j < RB; ++j) acc[i][j] += av[i] * bv[j];
  }
  for (int i = 0; i < RA; ++i)
    for (int j = 0; j < RB; ++j) {
      T sum = horizontal_sum<VB, T>(&acc[i][j]);
      for (int64_t q = p; q < K; ++q) sum += a[i * lda + q] * bt[j * ldb + q];
      T& out = c[i * rs_c + j * cs_c];
      out = beta == T(0) ? alpha * sum : alpha * sum + beta * out;
    }
}

template <typename T>
using DotFn = void (*)(int64_t K, const T* a, int64_t lda, const T* bt, int64_t ldb, T alpha,
                       T beta, T* c, int64_t rs_c, int64_t cs_c);

template <int RA, int RB, typename T>
void dot_generic(int64_t K, const T* a, int64_t lda, const T* bt, int64_t ldb, T alpha, T beta,
                 T* c, int64_t rs_c, int64_t cs_c) {
  dot_body<RA, RB, 16, T>(K, a, lda, bt, ldb, alpha, beta, c, rs_c, cs_c);
}

template <int RA, int RB, typename T>
__attribute__((target("avx2,fma"))) void dot_avx2(int64_t K, const T* a, int64_t lda,
                                                  const T* bt, int64_t ldb, T alpha, T beta,
                                                  T* c, int64_t rs_c, int64_t cs_c) {
  dot_body<RA, RB, 32, T>(K, a, lda, bt, ldb, alpha, beta, c, rs_c, cs_c);
}

template <int RA, int RB, typename T>
__attribute__((target("avx512f"))) void dot_avx512(int64_t K, const T* a, int64_t lda,
                                                   const T* bt, int64_t ldb, T alpha, T beta,
                                                   T* c, int64_t rs_c, int64_t cs_c) {
  dot_body<RA, RB, 64, T>(K, a, lda, bt, ldb, alpha, beta, c, rs_c, cs_c);
}

// An RA x RB block kernel and the three edge shapes (RA x 1, 1 x RB, 1 x 1).
template <typename T>
struct DotKernel {
  int64_t ra;
  int64_t rb;
  DotFn<T> block, column, row, single;
};

// AVX-512 has registers for 4 x 5 accumulators (two blocks cover N = 10);
// the 16-register ISAs for 2 x 4.
template <typename T>
DotKernel<T> dot_kernel() {
  switch (active_isa.load(std::memory_order_relaxed)) {
    case GemmIsa::avx512:
      return {4, 5, dot_avx512<4, 5, T>, dot_avx512<4, 1, T>, dot_avx512<1, 5, T>,
              dot_avx512<1, 1, T>};
    case GemmIsa::avx2:
      return {2, 4, dot_avx2<2, 4, T>, dot_avx2<2, 1, T>, dot_avx2<1, 4, T>, dot_avx2<1, 1, T>};
    case GemmIsa::generic: break;
  }
  return {2, 4, dot_generic<2, 4, T>, dot_generic<2, 1, T>, dot_generic<1, 4, T>,
          dot_generic<1, 1, T>};
}

// The dot-product path pays off while C is narrower than a vector register
// of the blocked path's tiles and K fills several vectors.
constexpr int64_t kDotMaxN = 16, kDotMinK = 32;

template <typename T>
void gemm_dot(int64_t M, int64_t N, int64_t K, T alpha, MatrixRef<const T> A,
              MatrixRef<const T> B, T beta, MatrixRef<T> C, bool parallel) {
  const DotKernel<T> k = dot_kernel<T>();
  // Columns of B are rows of Bt: in place when they are contiguous.
  const T* bt = B.data;
  int64_t ldb = B.col_stride;
  if (B.row_stride != 1) {
    T* packed = scratch<T>(size_t(N * K));
    for (int64_t p = 0; p < K; ++p)
      for (int64_t j = 0; j < N; ++j)
        packed[j * K + p] = B.data[p * B.row_stride + j * B.col_stride];
    bt = packed;
    ldb = K;
  }
  const int64_t groups = (M + k.ra - 1) / k.ra;
  const int64_t grain = parallel ? std::max<int64_t>(1, kParallelFlops / (k.ra * N * K)) : groups;
  parallel_for(0, groups, grain, [&](int64_t lo, int64_t hi) {
    const int64_t row_hi = std::min(M, hi * k.ra);
    int64_t i = lo * k.ra;
    for (; i < row_hi; i += k.ra) {
      const bool full = i + k.ra <= row_hi;
      const int64_t step = full ? k.ra : 1;
      for (int64_t r = i; r < std::min(row_hi, i + k.ra); r += step) {
        const T* a = A.data + r * A.row_stride;
        T* c = C.data + r * C.row_stride;
        int64_t j = 0;
        for (; j + k.rb <= N; j += k.rb) {
          (full ? k.block : k.row)(K, a, A.row_stride, bt + j * ldb, ldb, alpha, beta,
                                   c + j * C.col_stride, C.row_stride, C.col_stride);
        }
        for (; j < N; ++j) {
          (full ? k.column : k.single)(K, a, A.row_stride, bt + j * ldb, ldb, alpha, beta,
                                       c + j * C.col_stride, C.row_stride, C.col_stride);
        }
      }
    }
  });
}

// The blocked loops over one whole problem on `threads` threads. Splitting
// by rows, the threads pack a share of each block of B each, wait for each
// other, and run their rows against the whole block; splitting by columns,
// each packs and runs its own panels of B, with no waiting.
template <typename T>
void gemm_blocked(const Kernel<T>& k, int64_t M, int64_t N, int64_t K, T alpha,
                  MatrixRef<const T> A, MatrixRef<const T> B, T beta, MatrixRef<T> C,
                  int threads) {
  const int64_t mr = k.mr, nr = k.nr;
  const int64_t MC = std::max(mr, Blocking<T>::MC / mr * mr);
  const int64_t KC = std::min(Blocking<T>::KC, K);
  const int64_t NC = std::min(Blocking<T>::NC, round_up(N, nr));
  // With at most two panels of B per block, A is used at most twice per
  // pack: reading it in place costs less than packing it.
  const bool pack_a_block = NC > 2 * nr;
  const int64_t m_units = (M + mr - 1) / mr, block_panels = NC / nr;
  // Columns need no waiting, only each thread packing the same A (cheap):
  // measured faster at 256-1024 on two Zen 4 cores. Rows when there are too
  // few panels of B to share evenly.
  const bool split_rows = threads > 1 && block_panels < 4 * threads && m_units >= block_panels;
  // One allocation on the calling thread: the shared block of B, then each
  // thread's block of A (only an edge panel of it when A is read in place).
  const int64_t b_size = KC * NC, a_size = round_up((pack_a_block ? MC : mr) * KC, 16);
  T* const space = scratch<T>(size_t(b_size + a_size * threads));
  T* const b_pack = space;

  auto body = [&](int tid, int nt) {
    T* const a_pack = space + b_size + a_size * tid;
    alignas(64) T tile[kMaxTile];
    const int64_t row_lo = split_rows ? m_units * tid / nt * mr : 0;
    const int64_t row_hi = split_rows ? std::min(M, m_units * (tid + 1) / nt * mr) : M;
    // Blocks of A of equal height (256 rows as 2 x 128, not 192 + 64): a
    // short last block reuses each sliver of B too few times.
    const int64_t m_blocks = std::max<int64_t>(1, (row_hi - row_lo + MC - 1) / MC);
    const int64_t mc_step = round_up((row_hi - row_lo + m_blocks - 1) / m_blocks, mr);
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc);
      const int64_t n_panels = (nc + nr - 1) / nr;
      const int64_t own_lo = n_panels * tid / nt, own_hi = n_panels * (tid + 1) / nt;
      const int64_t jp_lo = split_rows ? 0 : own_lo, jp_hi = split_rows ? n_panels : own_hi;
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const T beta_block = pc == 0 ? beta : T(1);
        const T* b_block = B.data + pc * B.row_stride + jc * B.col_stride;
        pack_b(kc, nc, own_lo, own_hi, b_block, B.row_stride, B.col_stride, nr, nr * KC, b_pack);
        if (split_rows) {
#pragma omp barrier
        }
        for (int64_t ic = row_lo; ic < row_hi; ic += mc_step) {
          const int64_t mc = std::min(mc_step, row_hi - ic);
          const T* a_block = A.data + ic * A.row_stride + pc * A.col_stride;
          if (pack_a_block) pack_a(mc, kc, a_block, A.row_stride, A.col_stride, mr, a_pack);
          for (int64_t jp = jp_lo; jp < jp_hi; ++jp) {
            const int64_t cols = std::min(nr, nc - jp * nr);
            const T* b_panel = b_pack + jp * nr * KC;
            for (int64_t ir = 0; ir < mc; ir += mr) {
              const int64_t rows = std::min(mr, mc - ir);
              const T* a = a_pack + ir * kc;
              MicroKernel<T> run = k.packed;
              if (!pack_a_block && rows == mr) {
                a = a_block + ir * A.row_stride;
                run = k.strided;
              } else if (!pack_a_block) {
                pack_a(rows, kc, a_block + ir * A.row_stride, A.row_stride, A.col_stride, mr,
                       a_pack);
                a = a_pack;
              }
              T* c = C.data + (ic + ir) * C.row_stride + (jc + jp * nr) * C.col_stride;
              if (rows == mr && cols == nr && C.col_stride == 1) {
                run(kc, a, A.row_stride, A.col_stride, b_panel, c, C.row_stride, alpha,
                    beta_block);
              } else {
                run(kc, a, A.row_stride, A.col_stride, b_panel, tile, nr, T(1), T(0));
                store_tile(tile, nr, rows, cols, alpha, beta_block, c, C.row_stride,
                           C.col_stride);
              }
            }
          }
        }
        // The next block of B overwrites this one (after the last block, the
        // end of the parallel region is the wait).
        if (split_rows && (pc + KC < K || jc + NC < N)) {
#pragma omp barrier
        }
      }
      // Columns: the panels' owners change with the next block's width.
      if (!split_rows && nt > 1 && jc + NC < N) {
#pragma omp barrier
      }
    }
  };
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  body(0, 1);
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
  if (N <= kDotMaxN && K >= kDotMinK && A.col_stride == 1) {
    return gemm_dot(M, N, K, alpha, A, B, beta, C, parallel);
  }
  int threads = 1;
#ifdef _OPENMP
  if (parallel && !omp_in_parallel()) threads = get_num_threads();
#endif
  gemm_blocked(kernel<T>(N), M, N, K, alpha, A, B, beta, C, threads);
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
