// The float16/bfloat16 CUDA GEMM on the harness, on tensor cores (WMMA) and on
// the SIMT fallback: every layout of A and B (row- and column-major, padded
// rows, misaligned bases, general strides) so each loader runs, sizes around
// the 16-element fragments and the block tiles, odd K, K = 0, alpha/beta,
// strided and listed batches, float accumulation, and shuffle mode. Results
// are checked against a float64 product of the 16-bit inputs within a bound
// scaled by K (float additions in another order) plus the final rounding to
// 16 bits. Also the harness's 16-bit WMMA fragments themselves.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "cuda_emu_wmma.h"

namespace ember {
namespace {

enum class Layout { row, col, row_padded, col_padded, strided, misaligned };
const Layout kLayouts[] = {Layout::row,        Layout::col,     Layout::row_padded,
                           Layout::col_padded, Layout::strided, Layout::misaligned};

// A rows x cols matrix of 16-bit values in its own 16-byte aligned buffer
// (off by one element when misaligned).
template <typename T>
struct Matrix {
  int64_t rows, cols, row_stride = 0, col_stride = 0, start = 0;
  std::vector<T> buffer;

  Matrix(int64_t r, int64_t c, Layout layout, std::mt19937& rng) : rows(r), cols(c) {
    auto pad = [](int64_t n) { return (n + 7) / 8 * 8 + 8; };
    switch (layout) {
      case Layout::row: row_stride = c, col_stride = 1; break;
      case Layout::col: row_stride = 1, col_stride = r; break;
      case Layout::row_padded: row_stride = pad(c), col_stride = 1; break;
      case Layout::col_padded: row_stride = 1, col_stride = pad(r); break;
      case Layout::strided: row_stride = 2 * c + 3, col_stride = 2; break;
      case Layout::misaligned: row_stride = pad(c), col_stride = 1, start = 1; break;
    }
    const int64_t span = start + (r - 1) * row_stride + (c - 1) * col_stride + 1;
    buffer.resize(size_t(std::max<int64_t>(span, 1)) + 16);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (T& v : buffer) v = T(dist(rng));
  }
  T* data() { return buffer.data() + start; }
  double at(int64_t i, int64_t j) { return float(data()[i * row_stride + j * col_stride]); }
  void set(int64_t i, int64_t j, float v) { data()[i * row_stride + j * col_stride] = T(v); }
};

template <typename T>
cuda::GemmProblem problem_of(int64_t M, int64_t N, int64_t K, double alpha, double beta,
                             Matrix<T>& a, Matrix<T>& b, Matrix<T>& c) {
  cuda::GemmProblem p;
  p.M = M, p.N = N, p.K = K, p.alpha = alpha, p.beta = beta;
  p.a = a.data(), p.a_row_stride = a.row_stride, p.a_col_stride = a.col_stride;
  p.b = b.data(), p.b_row_stride = b.row_stride, p.b_col_stride = b.col_stride;
  p.c = c.data(), p.c_row_stride = c.row_stride, p.c_col_stride = c.col_stride;
  return p;
}

// Runs the next GEMMs on tensor cores or on the SIMT kernel.
struct TensorCores {
  explicit TensorCores(bool use) { cuda::set_gemm_16bit_tensor_cores(use); }
  ~TensorCores() { cuda::set_gemm_16bit_tensor_cores(true); }
};

// How far C (after the GEMM) is from alpha * A * B + beta * C0 in float64:
// the elements outside the bound, the first described in `first`. The bound:
// half an ulp of T for the final rounding, float-epsilon rounding of each of
// the K + 2 additions of the magnitudes, and T's smallest subnormal.
template <typename T>
int64_t mismatches(Matrix<T>& a, Matrix<T>& b, Matrix<T>& c0, Matrix<T>& c, int64_t K,
                   double alpha, double beta, std::string& first) {
  const double eps = std::numeric_limits<T>::epsilon();
  const double tiny = std::is_same<T, Half>::value ? 0x1p-24 : 0x1p-133;
  int64_t count = 0;
  for (int64_t i = 0; i < c.rows; ++i) {
    for (int64_t j = 0; j < c.cols; ++j) {
      double sum = 0.0, magnitude = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        sum += a.at(i, k) * b.at(k, j);
        magnitude += std::fabs(a.at(i, k) * b.at(k, j));
      }
      const double old = beta != 0.0 ? c0.at(i, j) : 0.0;
      const double expected = alpha * sum + beta * old;
      magnitude = std::fabs(alpha) * magnitude + std::fabs(beta * old);
      const double bound = eps / 2 * std::fabs(expected) + 0x1p-23 * double(K + 2) * magnitude +
                           tiny;
      const double got = c.at(i, j);
      if (std::fabs(got - expected) <= bound) continue;
      if (count++ == 0) {
        first = "(" + std::to_string(i) + ", " + std::to_string(j) + "): got " +
                std::to_string(got) + ", expected " + std::to_string(expected);
      }
    }
  }
  return count;
}

// One GEMM through gemm_raw; with beta == 0 C starts as NaN, which must not
// reach the result.
template <typename T>
void check_gemm(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, Layout lc, bool tensor_cores,
                cuda::GemmTiles tiles, double alpha = 1.0, double beta = 0.0) {
  std::mt19937 rng(unsigned(M * 131 + N * 17 + K));
  Matrix<T> a(M, K, la, rng), b(K, N, lb, rng), c(M, N, lc, rng);
  if (beta == 0.0) std::fill(c.buffer.begin(), c.buffer.end(), T(std::nanf("")));
  Matrix<T> c0 = c;
  TensorCores use(tensor_cores);
  cuda::gemm_raw(dtype_of<T>::value, problem_of(M, N, K, alpha, beta, a, b, c), tiles);
  std::string first;
  EXPECT_EQ(mismatches(a, b, c0, c, K, alpha, beta, first), 0)
      << dtype_name(dtype_of<T>::value) << (tensor_cores ? " wmma " : " simt ") << M << "x" << N
      << "x" << K << " A " << int(la) << " B " << int(lb) << " C " << int(lc) << " tiles "
      << int(tiles) << ": first at " << first;
}

template <typename T>
void every_layout(bool tensor_cores) {
  for (Layout la : kLayouts) {
    for (Layout lb : kLayouts) {
      check_gemm<T>(37, 35, 21, la, lb, Layout::row, tensor_cores, cuda::GemmTiles::small);
    }
  }
  // The large tiles with each load of A and B: along M/N, along K, scalar.
  for (Layout la : {Layout::row, Layout::col, Layout::strided}) {
    for (Layout lb : {Layout::row, Layout::col, Layout::strided}) {
      check_gemm<T>(64, 72, 40, la, lb, Layout::row, tensor_cores, cuda::GemmTiles::large);
    }
  }
}

TEST(CudaEmuGemm16, EveryLayoutCombination) {
  for (bool tc : {true, false}) {
    every_layout<Half>(tc);
    every_layout<BFloat16>(tc);
  }
}

TEST(CudaEmuGemm16, SizesAroundTileEdges) {
  struct Size {
    int64_t M, N, K;
  };
  const Size sizes[] = {{1, 1, 1},    {31, 33, 17}, {33, 31, 129}, {129, 65, 33}, {65, 129, 31},
                        {16, 16, 16}, {17, 1, 7},   {1, 130, 9},   {128, 64, 48}};
  int i = 0;
  for (const Size& s : sizes) {
    const Layout la = kLayouts[i % 6], lb = kLayouts[(i / 6 + i) % 6];
    const Layout lc = i % 3 == 0 ? Layout::col : i % 3 == 1 ? Layout::row_padded : Layout::row;
    const cuda::GemmTiles tiles = i % 2 ? cuda::GemmTiles::large : cuda::GemmTiles::small;
    for (bool tc : {true, false}) {
      check_gemm<Half>(s.M, s.N, s.K, la, lb, lc, tc, tiles);
      check_gemm<BFloat16>(s.M, s.N, s.K, lb, la, lc, tc, tiles);
    }
    ++i;
  }
}

TEST(CudaEmuGemm16, AlphaBetaAndEmptyK) {
  for (bool tc : {true, false}) {
    const auto small = cuda::GemmTiles::small;
    check_gemm<Half>(33, 31, 0, Layout::row, Layout::row, Layout::row, tc, small, 1.0, 0.0);
    check_gemm<BFloat16>(33, 31, 0, Layout::row, Layout::col, Layout::col, tc, small, 2.0, 0.5);
    check_gemm<Half>(33, 31, 9, Layout::col, Layout::row, Layout::row_padded, tc, small, -1.5,
                     0.25);
    check_gemm<BFloat16>(65, 7, 17, Layout::row, Layout::strided, Layout::row, tc, small, 0.5,
                         -2.0);
  }
}

// Three problems: A broadcast (every offset 0), B and C at even or listed
// offsets.
template <typename T>
void check_batched(bool listed, bool tensor_cores) {
  const int64_t batch = 3, M = 33, N = 24, K = 19;
  std::mt19937 rng(7);
  Matrix<T> a(M, K, Layout::row, rng), b(batch * K, N, Layout::row, rng);
  Matrix<T> c(batch * M, N, Layout::row_padded, rng);
  const int64_t b_step = K * b.row_stride, c_step = M * c.row_stride;
  const int64_t c_index[] = {2, 1, 0}, b_listed[] = {1, 2, 0};
  std::vector<int64_t> offsets;
  for (int64_t p = 0; p < batch; ++p) {
    offsets.insert(offsets.end(),
                   {0, (listed ? b_listed[p] : p) * b_step, (listed ? c_index[p] : p) * c_step});
  }
  cuda::GemmProblem g = problem_of(M, N, K, 1.0, 0.0, a, b, c);
  g.batch = batch;
  if (listed) {
    g.offsets = offsets.data();
    g.offset_multiple = std::gcd(b_step, c_step);
  } else {
    g.a_batch_stride = 0, g.b_batch_stride = b_step, g.c_batch_stride = c_step;
  }
  TensorCores use(tensor_cores);
  cuda::gemm_raw(dtype_of<T>::value, g);
  for (int64_t p = 0; p < batch; ++p) {
    // Problem p's B and C as matrices of their own, to reuse the bound.
    Matrix<T> bp = b, cp = c;
    bp.start = offsets[3 * p + 1], bp.rows = K;
    cp.start = offsets[3 * p + 2], cp.rows = M;
    std::string first;
    EXPECT_EQ(mismatches(a, bp, cp, cp, K, 1.0, 0.0, first), 0)
        << (listed ? "listed" : "strided") << " problem " << p << ": " << first;
  }
}

TEST(CudaEmuGemm16, StridedAndListedBatches) {
  for (bool tc : {true, false}) {
    for (bool listed : {false, true}) {
      check_batched<Half>(listed, tc);
      check_batched<BFloat16>(listed, tc);
    }
  }
}

// 2048 followed by 2048 ones sums to 4096 in float; a 16-bit running sum
// would stay at 2048 (2049 rounds back to it in both types).
template <typename T>
void check_float_accumulation(bool tensor_cores) {
  const int64_t K = 2049;
  std::vector<T> a(size_t(K), T(1.0f)), b(size_t(K), T(1.0f)), c(8, T(0.0f));
  b[0] = T(2048.0f);
  cuda::GemmProblem p;
  p.M = p.N = 1, p.K = K;
  p.a = a.data(), p.a_row_stride = K, p.a_col_stride = 1;
  p.b = b.data(), p.b_row_stride = 1, p.b_col_stride = 1;
  p.c = c.data(), p.c_row_stride = p.c_col_stride = 1;
  TensorCores use(tensor_cores);
  cuda::gemm_raw(dtype_of<T>::value, p);
  EXPECT_EQ(float(c[0]), 4096.0f) << dtype_name(dtype_of<T>::value) << " tensor cores "
                                  << tensor_cores;
}

TEST(CudaEmuGemm16, AccumulatesInFloat) {
  for (bool tc : {true, false}) {
    check_float_accumulation<Half>(tc);
    check_float_accumulation<BFloat16>(tc);
  }
}

TEST(CudaEmuGemm16, RejectsOtherDtypes) {
  cuda::GemmProblem p;
  p.M = p.N = p.K = 1;
  EXPECT_THROW(cuda::gemm_raw(DType::int32, p), std::exception);
}

TEST(CudaEmuGemm16, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 99);
  check_gemm<Half>(67, 130, 35, Layout::col, Layout::row, Layout::row, true,
                   cuda::GemmTiles::small);
  check_gemm<BFloat16>(130, 67, 21, Layout::row, Layout::col, Layout::row, false,
                       cuda::GemmTiles::large);
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuGemm16, ComparisonCatchesOneWrongElement) {
  std::mt19937 rng(3);
  Matrix<Half> a(9, 5, Layout::row, rng), b(5, 7, Layout::col, rng), c(9, 7, Layout::row, rng);
  Matrix<Half> c0 = c;
  cuda::gemm_raw(DType::float16, problem_of(9, 7, 5, 1.0, 0.0, a, b, c));
  std::string first;
  EXPECT_EQ(mismatches(a, b, c0, c, 5, 1.0, 0.0, first), 0) << first;
  c.set(8, 6, float(c.at(8, 6)) + 0.01f);
  EXPECT_EQ(mismatches(a, b, c0, c, 5, 1.0, 0.0, first), 1);
}

// The harness's m16n16k16 fragments: loads in both layouts, a product with
// float accumulation, stores in both layouts, and the alignment checks.
TEST(CudaEmuWmma, SixteenBitFragments) {
  namespace wmma = nvcuda::wmma;
  alignas(32) Half a[16 * 24], b[16 * 24];
  alignas(32) float c[16 * 16], d[16 * 16];
  for (int i = 0; i < 16 * 24; ++i) {
    a[i] = Half(float(i % 7) - 3.0f);
    b[i] = Half(float(i % 5) * 0.5f);
  }
  for (int i = 0; i < 256; ++i) c[i] = float(i);
  // A col_major with ldm 24: A(i, k) = a[k * 24 + i]; B row_major: B(k, j) = b[k * 24 + j].
  wmma::fragment<wmma::matrix_a, 16, 16, 16, Half, wmma::col_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, Half, wmma::row_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::load_matrix_sync(fa, a, 24);
  wmma::load_matrix_sync(fb, b, 24);
  wmma::load_matrix_sync(acc, c, 16, wmma::mem_col_major);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(d, acc, 16, wmma::mem_row_major);
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      float expected = c[j * 16 + i];
      for (int k = 0; k < 16; ++k) expected += float(a[k * 24 + i]) * float(b[k * 24 + j]);
      ASSERT_EQ(d[i * 16 + j], expected) << i << " " << j;
    }
  }
  wmma::fragment<wmma::matrix_a, 16, 16, 16, BFloat16, wmma::row_major> fbf;
  alignas(32) BFloat16 rows[16 * 16];
  for (int i = 0; i < 256; ++i) rows[i] = BFloat16(float(i));
  wmma::load_matrix_sync(fbf, rows, 16);
  EXPECT_EQ(float(fbf.x[3 * 16 + 5]), float(rows[3 * 16 + 5]));
  // ldm of 12 halves is 24 bytes, and a + 8 is 16 bytes off the alignment.
  EXPECT_THROW(wmma::load_matrix_sync(fa, a, 12), cuda_emu::Error);
  EXPECT_THROW(wmma::load_matrix_sync(fa, a + 8, 24), cuda_emu::Error);
}

}  // namespace
}  // namespace ember
