// The CUDA GEMM kernels run on the harness against cpu::gemm: every layout
// of A and B (row- and column-major, padded rows, misaligned bases, general
// strides) so each of the vector and scalar loaders runs, sizes around the
// tile edges, K = 0, alpha/beta, strided and listed batches with broadcast
// operands, both tile configurations, float32 and float64, the TF32 WMMA
// path against inputs rounded to tf32, and shuffle mode.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cpu/gemm.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "cuda_emu_wmma.h"

namespace ember {
namespace {

enum class Layout { row, col, row_padded, col_padded, strided, misaligned };
const Layout kLayouts[] = {Layout::row,        Layout::col,     Layout::row_padded,
                           Layout::col_padded, Layout::strided, Layout::misaligned};

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::row: return "row";
    case Layout::col: return "col";
    case Layout::row_padded: return "row_padded";
    case Layout::col_padded: return "col_padded";
    case Layout::strided: return "strided";
    default: return "misaligned";
  }
}

// A rows x cols matrix in its own buffer, 16-byte aligned unless misaligned.
template <typename T>
struct Matrix {
  int64_t rows, cols, row_stride, col_stride, start;
  std::vector<T> buffer;

  Matrix(int64_t r, int64_t c, Layout layout, std::mt19937& rng)
      : rows(r), cols(c), row_stride(0), col_stride(0), start(0) {
    auto pad = [](int64_t n) { return (n + 3) / 4 * 4 + 4; };
    switch (layout) {
      case Layout::row: row_stride = c, col_stride = 1; break;
      case Layout::col: row_stride = 1, col_stride = r; break;
      case Layout::row_padded: row_stride = pad(c), col_stride = 1; break;
      case Layout::col_padded: row_stride = 1, col_stride = pad(r); break;
      case Layout::strided: row_stride = 2 * c + 3, col_stride = 2; break;
      case Layout::misaligned: row_stride = pad(c), col_stride = 1, start = 1; break;
    }
    const int64_t span = start + (r - 1) * row_stride + (c - 1) * col_stride + 1;
    buffer.resize(size_t(std::max<int64_t>(span, 1)) + 8);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    for (T& v : buffer) v = T(dist(rng));
  }
  T* data() { return buffer.data() + start; }
  T& at(int64_t i, int64_t j) { return data()[i * row_stride + j * col_stride]; }
  cpu::MatrixRef<const T> cref() { return {data(), row_stride, col_stride}; }
  cpu::MatrixRef<T> ref() { return {data(), row_stride, col_stride}; }
};

template <typename T>
DType dtype_of() {
  return std::is_same<T, float>::value ? DType::float32 : DType::float64;
}

// The elements of got and expected (both rows x cols) further apart than the
// K-scaled tolerance, with the first one described in `first`.
template <typename T>
int64_t mismatches(Matrix<T>& got, Matrix<T>& expected, int64_t K, std::string& first) {
  const double tol = (std::is_same<T, float>::value ? 2e-6 : 1e-14) * double(K + 2);
  int64_t count = 0;
  for (int64_t i = 0; i < got.rows; ++i) {
    for (int64_t j = 0; j < got.cols; ++j) {
      const double g = got.at(i, j), e = expected.at(i, j);
      if (std::fabs(g - e) <= tol * std::max(1.0, std::fabs(e))) continue;
      if (count++ == 0) {
        first = "(" + std::to_string(i) + ", " + std::to_string(j) + "): got " +
                std::to_string(g) + ", expected " + std::to_string(e);
      }
    }
  }
  return count;
}

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

// One GEMM through gemm_raw against cpu::gemm; with beta == 0 C starts as
// NaN, which must not reach the result.
template <typename T>
void check_gemm(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, Layout lc,
                cuda::GemmTiles tiles, double alpha = 1.0, double beta = 0.0) {
  std::mt19937 rng(unsigned(M * 131 + N * 17 + K));
  Matrix<T> a(M, K, la, rng), b(K, N, lb, rng), c(M, N, lc, rng);
  if (beta == 0.0) std::fill(c.buffer.begin(), c.buffer.end(), std::numeric_limits<T>::quiet_NaN());
  Matrix<T> expected = c;
  cpu::gemm<T>(M, N, K, T(alpha), a.cref(), b.cref(), T(beta), expected.ref());
  cuda::gemm_raw(dtype_of<T>(), problem_of(M, N, K, alpha, beta, a, b, c), tiles);
  std::string first;
  EXPECT_EQ(mismatches(c, expected, K, first), 0)
      << dtype_name(dtype_of<T>()) << " " << M << "x" << N << "x" << K << " A " << layout_name(la)
      << " B " << layout_name(lb) << " C " << layout_name(lc) << " tiles " << int(tiles)
      << ": first at " << first;
}

const cuda::GemmTiles kTiles[] = {cuda::GemmTiles::small, cuda::GemmTiles::large};

TEST(CudaEmuGemm, EveryLayoutCombination) {
  for (cuda::GemmTiles tiles : kTiles) {
    for (Layout la : kLayouts) {
      for (Layout lb : kLayouts) {
        check_gemm<float>(36, 68, 20, la, lb, Layout::row, tiles);
        check_gemm<float>(37, 35, 21, la, lb, Layout::row, tiles);
        check_gemm<double>(37, 35, 21, la, lb, Layout::row, tiles);
      }
    }
  }
}

TEST(CudaEmuGemm, SizesAroundTileEdges) {
  struct Size {
    int64_t M, N, K;
  };
  const Size sizes[] = {{1, 1, 1},     {7, 31, 33},   {33, 7, 1},     {63, 65, 127},
                        {129, 127, 7}, {130, 1, 65},  {1, 130, 129},  {65, 129, 31},
                        {128, 64, 8},  {64, 128, 16}, {31, 33, 17}};
  int i = 0;
  for (const Size& s : sizes) {
    for (cuda::GemmTiles tiles : kTiles) {
      const Layout la = kLayouts[i % 6], lb = kLayouts[(i / 6 + i) % 6];
      const Layout lc = i % 3 == 0 ? Layout::col : i % 3 == 1 ? Layout::row_padded : Layout::row;
      check_gemm<float>(s.M, s.N, s.K, la, lb, lc, tiles);
      check_gemm<double>(s.M, s.N, s.K, lb, la, lc, tiles);
      ++i;
    }
  }
}

TEST(CudaEmuGemm, AlphaBetaAndEmptyK) {
  for (cuda::GemmTiles tiles : kTiles) {
    check_gemm<float>(33, 31, 0, Layout::row, Layout::row, Layout::row, tiles, 1.0, 0.0);
    check_gemm<double>(33, 31, 0, Layout::row, Layout::col, Layout::col, tiles, 2.0, 0.5);
    check_gemm<float>(33, 31, 9, Layout::col, Layout::row, Layout::row_padded, tiles, -1.5, 0.25);
    check_gemm<double>(65, 7, 17, Layout::row, Layout::strided, Layout::row, tiles, 0.5, -2.0);
    check_gemm<float>(17, 65, 33, Layout::strided, Layout::col, Layout::col, tiles, 0.0, 1.0);
  }
}

// Three problems: A broadcast (every offset 0), B and C at even or listed
// offsets.
template <typename T>
void check_batched(bool listed, cuda::GemmTiles tiles) {
  const int64_t batch = 3, M = 33, N = 31, K = 19;
  std::mt19937 rng(7);
  Matrix<T> a(M, K, Layout::row, rng), b(batch * K, N, Layout::row, rng);
  Matrix<T> c(batch * M, N, Layout::row_padded, rng);
  Matrix<T> expected = c;
  const int64_t b_step = K * b.row_stride, c_step = M * c.row_stride;
  // Listed: problems write C's blocks in reverse order and read B's shuffled.
  const int64_t b_index[] = {0, 1, 2}, c_index[] = {2, 1, 0}, b_listed[] = {1, 2, 0};
  std::vector<int64_t> offsets;
  for (int64_t p = 0; p < batch; ++p) {
    const int64_t bo = (listed ? b_listed[p] : b_index[p]) * b_step;
    const int64_t co = (listed ? c_index[p] : p) * c_step;
    offsets.insert(offsets.end(), {0, bo, co});
    cpu::gemm<T>(M, N, K, T(1), a.cref(), {b.data() + bo, b.row_stride, b.col_stride}, T(0),
                 {expected.data() + co, c.row_stride, c.col_stride});
  }
  cuda::GemmProblem p = problem_of(M, N, K, 1.0, 0.0, a, b, c);
  p.batch = batch;
  if (listed) {
    p.offsets = offsets.data();
    p.offset_multiple = std::gcd(b_step, c_step);
  } else {
    p.a_batch_stride = 0, p.b_batch_stride = b_step, p.c_batch_stride = c_step;
  }
  cuda::gemm_raw(dtype_of<T>(), p, tiles);
  std::string first;
  EXPECT_EQ(mismatches(c, expected, K, first), 0)
      << (listed ? "listed" : "strided") << " batch, tiles " << int(tiles) << ": " << first;
}

TEST(CudaEmuGemm, StridedAndListedBatches) {
  for (cuda::GemmTiles tiles : kTiles) {
    for (bool listed : {false, true}) {
      check_batched<float>(listed, tiles);
      check_batched<double>(listed, tiles);
    }
  }
}

TEST(CudaEmuGemm, TensorLevelBatches) {
  Tensor a = Tensor::empty({2, 5, 7}, DType::float64), b = Tensor::empty({7, 3}, DType::float64);
  double* ad = a.data<double>();
  double* bd = b.data<double>();
  for (int64_t i = 0; i < a.numel(); ++i) ad[i] = double(i % 11) - 5.0;
  for (int64_t i = 0; i < b.numel(); ++i) bd[i] = double(i % 5) - 2.0;
  Tensor c = Tensor::full({2, 5, 3}, Scalar(1.0), DType::float64);
  const int64_t a_off[] = {0, 35}, b_off[] = {0, 0}, c_off[] = {0, 15};
  cuda::gemm_batched(c, a, b, 2, a_off, b_off, c_off, 2.0, 1.0);
  const double* cd = c.data<double>();
  for (int64_t p = 0; p < 2; ++p) {
    for (int64_t i = 0; i < 5; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        double sum = 0.0;
        for (int64_t k = 0; k < 7; ++k) sum += ad[p * 35 + i * 7 + k] * bd[k * 3 + j];
        ASSERT_EQ(cd[p * 15 + i * 3 + j], 2.0 * sum + 1.0) << p << " " << i << " " << j;
      }
    }
  }
}

struct Tf32Guard {
  Tf32Guard() { cuda::set_matmul_allow_tf32(true); }
  ~Tf32Guard() { cuda::set_matmul_allow_tf32(false); }
};

// The TF32 path against cpu::gemm on inputs rounded to tf32.
void check_tf32(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, double alpha, double beta) {
  std::mt19937 rng(unsigned(M + 3 * N + 7 * K));
  Matrix<float> a(M, K, la, rng), b(K, N, lb, rng), c(M, N, Layout::row, rng);
  Matrix<float> ar = a, br = b, expected = c;
  for (float& v : ar.buffer) v = nvcuda::wmma::__float_to_tf32(v);
  for (float& v : br.buffer) v = nvcuda::wmma::__float_to_tf32(v);
  cpu::gemm<float>(M, N, K, float(alpha), ar.cref(), br.cref(), float(beta), expected.ref());
  Tf32Guard tf32;
  cuda::gemm_raw(DType::float32, problem_of(M, N, K, alpha, beta, a, b, c));
  std::string first;
  EXPECT_EQ(mismatches(c, expected, K, first), 0)
      << "tf32 " << M << "x" << N << "x" << K << " A " << layout_name(la) << " B "
      << layout_name(lb) << ": " << first;
}

TEST(CudaEmuGemm, Tf32TensorCores) {
  EXPECT_FALSE(cuda::matmul_allow_tf32());
  check_tf32(130, 65, 33, Layout::row, Layout::row, 1.0, 0.0);
  check_tf32(33, 129, 17, Layout::col, Layout::col_padded, -0.5, 2.0);
  check_tf32(17, 20, 9, Layout::strided, Layout::misaligned, 1.0, 0.0);
  // Each load of A and B: along M/N, along K (padded rows keep odd sizes
  // 16-byte aligned), scalar.
  for (Layout la : {Layout::row_padded, Layout::col_padded, Layout::strided}) {
    for (Layout lb : {Layout::row_padded, Layout::col_padded, Layout::strided}) {
      check_tf32(19, 21, 11, la, lb, 1.0, 0.0);
    }
  }
  EXPECT_FALSE(cuda::matmul_allow_tf32());
}

TEST(CudaEmuGemm, Tf32RoundsTheInputs) {
  // 1 + 2^-12 is 1 in tf32: the product shows which path ran.
  std::vector<float> a = {1.0f + 1.0f / 4096.0f}, b = {1.0f}, c = {0.0f};
  cuda::GemmProblem p;
  p.M = p.N = p.K = 1;
  p.a = a.data(), p.b = b.data(), p.c = c.data();
  p.a_row_stride = p.a_col_stride = p.b_row_stride = p.b_col_stride = 1;
  p.c_row_stride = p.c_col_stride = 1;
  cuda::gemm_raw(DType::float32, p);
  EXPECT_EQ(c[0], a[0]);
  Tf32Guard tf32;
  cuda::gemm_raw(DType::float32, p);
  EXPECT_EQ(c[0], 1.0f);
}

TEST(CudaEmuGemm, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 1234);
  check_gemm<float>(130, 67, 21, Layout::col, Layout::row, Layout::row, cuda::GemmTiles::large);
  check_gemm<float>(67, 65, 35, Layout::row, Layout::col, Layout::row, cuda::GemmTiles::small);
  check_gemm<double>(65, 33, 19, Layout::strided, Layout::row_padded, Layout::col,
                     cuda::GemmTiles::large);
  check_tf32(65, 130, 20, Layout::row, Layout::col, 1.0, 0.5);
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuGemm, ComparisonCatchesOneWrongElement) {
  std::mt19937 rng(3);
  Matrix<float> a(9, 5, Layout::row, rng), b(5, 7, Layout::col, rng), c(9, 7, Layout::row, rng);
  Matrix<float> expected = c;
  cpu::gemm<float>(9, 7, 5, 1.0f, a.cref(), b.cref(), 0.0f, expected.ref());
  cuda::gemm_raw(DType::float32, problem_of(9, 7, 5, 1.0, 0.0, a, b, c));
  std::string first;
  EXPECT_EQ(mismatches(c, expected, 5, first), 0) << first;
  c.at(8, 6) += 1e-3f;
  EXPECT_EQ(mismatches(c, expected, 5, first), 1);
}

}  // namespace
}  // namespace ember
