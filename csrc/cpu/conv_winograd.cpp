// Winograd F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016). A 2x2 block of outputs Y comes from a 4x4 input
// tile d and the 3x3 filter g as
//     Y = A^T [(G g G^T) . (B^T d B)] A          (. is elementwise)
// 16 multiplies per (input, output) channel pair where the direct method
// needs 36. Summed over input channels, each of the 16 points is one GEMM:
// M[oc][t] = sum_c V[oc][c] U[c][t] over the tiles t. The gradients are the
// transposed maps:
//     grad g = sum over tiles of G^T [(A dY A^T) . (B^T d B)] G
//     grad d = B [(A dY A^T) . (G g G^T)] B^T, overlap-added;
// the second is the forward algorithm run on dY with each filter rotated by
// 180 degrees and the channel roles swapped, which is how it is computed.
//
// Tiles are taken in chunks of whole tile rows (possibly spanning images) of
// about kChunkTiles tiles, so each GEMM is 16 x C x ~256; threads take
// disjoint chunks. The transforms go channel by channel, so each of the 16
// points' rows is read or written in order (tile row by tile row, the other
// way round thrashed L1 and L2). Each works on one tile row at a time, from
// a zero-padded copy of the rows it reads, so its inner loops have no bounds
// checks.
#include "cpu/conv_winograd.h"

#include <algorithm>

#include "core/allocator.h"
#include "core/parallel.h"
#include "cpu/avx512_intrinsics.h"
#include "cpu/gemm.h"

namespace ember {
namespace cpu {
namespace {

constexpr int kPoints = 16;
constexpr int64_t kChunkTiles = 256;

// A buffer from the caching allocator: reused between calls without page
// faults, and counted in the memory statistics.
template <typename T>
class Workspace {
 public:
  explicit Workspace(int64_t count)
      : bytes_(size_t(std::max<int64_t>(count, 1)) * sizeof(T)),
        data_(static_cast<T*>(cpu_allocate(bytes_))) {}
  ~Workspace() { cpu_free(data_, bytes_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  T* get() const { return data_; }

 private:
  size_t bytes_;
  T* data_;
};

// The 2x2 output tiles: tile_rows x tile_cols per image, tile row r of the
// whole batch being row r % tile_rows of image r / tile_rows.
struct Tiling {
  int64_t tile_rows, tile_cols, total_rows, rows_per_chunk, chunks;
  int64_t max_tiles() const { return rows_per_chunk * tile_cols; }
};

Tiling make_tiling(int64_t batch, int64_t out_h, int64_t out_w) {
  Tiling g;
  g.tile_rows = (out_h + 1) / 2;
  g.tile_cols = (out_w + 1) / 2;
  g.total_rows = batch * g.tile_rows;
  g.rows_per_chunk = std::max<int64_t>(1, kChunkTiles / g.tile_cols);
  g.chunks = (g.total_rows + g.rows_per_chunk - 1) / g.rows_per_chunk;
  return g;
}

// The distance between the 16 points' matrices of channels x tiles values.
// The transforms stream through all 16 at once; at a multiple of 4 KiB apart
// they would share L1 sets (8 ways), so each is offset by a cache line. A
// small effect: 0-4% on the C64 32x32 benchmark layer, noise on the others.
int64_t point_stride(int64_t channels, int64_t tiles) {
  return (channels * tiles + 15) / 16 * 16 + 16;
}

// Input positions of one tile row: 4 rows of 2 * tile_cols + 2 columns.
int64_t padded_width(const Tiling& g) { return 2 * g.tile_cols + 2; }

// V[p][o][c] = (G g G^T)[p] for filter g = weight[o][c]; with `rotate`, the
// filter is turned by 180 degrees and the result indexed [p][c][o].
template <typename T>
void transform_weights(const T* weight, int64_t out_c, int64_t in_c, bool rotate, T* v) {
  const int64_t stride = out_c * in_c;
  const T half = T(0.5);
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t c = 0; c < in_c; ++c) {
      const T* f = weight + (o * in_c + c) * 9;
      T g[3][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) g[i][j] = rotate ? f[(2 - i) * 3 + (2 - j)] : f[i * 3 + j];
      T a[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        a[0][j] = g[0][j];
        a[1][j] = half * (g[0][j] + g[1][j] + g[2][j]);
        a[2][j] = half * (g[0][j] - g[1][j] + g[2][j]);
        a[3][j] = g[2][j];
      }
      T* dst = v + (rotate ? c * out_c + o : o * in_c + c);
      for (int i = 0; i < 4; ++i) {
        dst[(4 * i + 0) * stride] = a[i][0];
        dst[(4 * i + 1) * stride] = half * (a[i][0] + a[i][1] + a[i][2]);
        dst[(4 * i + 2) * stride] = half * (a[i][0] - a[i][1] + a[i][2]);
        dst[(4 * i + 3) * stride] = a[i][2];
      }
    }
}

// The row kernels: one tile row, across its tiles. Tile t reads columns
// 2t .. 2t + 3 (input) or 2t, 2t + 1 (output gradient), so each row is first
// split into its even and odd columns, after which every loop reads and
// writes contiguous arrays.
template <typename T>
void split_even_odd(const T* row, int64_t pairs, T* even, T* odd) {
  for (int64_t x = 0; x < pairs; ++x) {
    even[x] = row[2 * x];
    odd[x] = row[2 * x + 1];
  }
}

// u[p * stride + t] = (B^T d B)[p] for the `count` tiles of one tile row,
// from the row's four padded input rows (2 * count + 2 values each). `work`
// holds 12 * (count + 1) values.
template <typename T>
void input_tiles(const T* rows, int64_t count, T* u, int64_t stride, T* work) {
  const int64_t width = 2 * count + 2, pairs = count + 1;
  const T *d0 = rows, *d1 = rows + width, *d2 = d1 + width, *d3 = d2 + width;
  T* b = work;  // row i of B^T d, then its even and odd columns
  T* even = work + width;
  T* odd = even + pairs;
  // Row i of B^T d is first[i] + sign[i] * second[i].
  const T* first[4] = {d0, d1, d2, d1};
  const T* second[4] = {d2, d2, d1, d3};
  const T sign[4] = {T(-1), T(1), T(-1), T(-1)};
  for (int i = 0; i < 4; ++i) {
    const T *x = first[i], *y = second[i];
    for (int64_t k = 0; k < width; ++k) b[k] = x[k] + sign[i] * y[k];
    split_even_odd(b, pairs, even, odd);
    T* u0 = u + (4 * i) * stride;
    T *u1 = u0 + stride, *u2 = u1 + stride, *u3 = u2 + stride;
    for (int64_t t = 0; t < count; ++t) {
      u0[t] = even[t] - even[t + 1];
      u1[t] = odd[t] + even[t + 1];
      u2[t] = even[t + 1] - odd[t];
      u3[t] = odd[t] - odd[t + 1];
    }
  }
}

// The two output rows of one tile row, y0[2t + j] and y1[2t + j] =
// (A^T m A)[i][j] + bias, from m[p * stride + t]. `work` holds 12 * count
// values.
template <typename T>
void output_tiles(const T* m, int64_t stride, int64_t count, T bias, T* y0, T* y1, T* work) {
  T* a = work;  // A^T m: a[(4 * i + j) * count + t]
  for (int j = 0; j < 4; ++j) {
    const T *m0 = m + j * stride, *m1 = m0 + 4 * stride, *m2 = m1 + 4 * stride,
            *m3 = m2 + 4 * stride;
    T* a0 = a + j * count;
    T* a1 = a + (4 + j) * count;
    for (int64_t t = 0; t < count; ++t) {
      a0[t] = m0[t] + m1[t] + m2[t];
      a1[t] = m1[t] - m2[t] - m3[t];
    }
  }
  T* even = work + 8 * count;
  T* odd = even + count;
  for (int i = 0; i < 2; ++i) {
    const T *a0 = a + 4 * i * count, *a1 = a0 + count, *a2 = a1 + count, *a3 = a2 + count;
    T* y = i == 0 ? y0 : y1;
    for (int64_t t = 0; t < count; ++t) {
      even[t] = a0[t] + a1[t] + a2[t] + bias;
      odd[t] = a1[t] - a2[t] - a3[t] + bias;
    }
    for (int64_t t = 0; t < count; ++t) {
      y[2 * t] = even[t];
      y[2 * t + 1] = odd[t];
    }
  }
}

// w[p * stride + t] = (A dY A^T)[p] for the tiles of one tile row, tile t
// reading columns 2t, 2t + 1 of the output-gradient rows y0, y1 (2 * count
// values each). `work` holds 10 * count values.
template <typename T>
void grad_tiles(const T* y0, const T* y1, int64_t count, T* w, int64_t stride, T* work) {
  // Columns of A dY: p = (a, a + c, a - c, -c), q = (b, b + d, b - d, -d).
  T* p[4] = {work, work + count, work + 2 * count, work + 3 * count};
  T* q[4] = {work + 4 * count, work + 5 * count, work + 6 * count, work + 7 * count};
  T *c = work + 8 * count, *d = work + 9 * count;
  split_even_odd(y0, count, p[0], q[0]);
  split_even_odd(y1, count, c, d);
  for (int64_t t = 0; t < count; ++t) {
    p[1][t] = p[0][t] + c[t];
    p[2][t] = p[0][t] - c[t];
    p[3][t] = -c[t];
    q[1][t] = q[0][t] + d[t];
    q[2][t] = q[0][t] - d[t];
    q[3][t] = -d[t];
  }
  for (int i = 0; i < 4; ++i) {
    // Row i of A dY is (p, q); its transform is (p, p + q, p - q, -q).
    const T *pi = p[i], *qi = q[i];
    T* w0 = w + (4 * i) * stride;
    T *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    for (int64_t t = 0; t < count; ++t) {
      w0[t] = pi[t];
      w1[t] = pi[t] + qi[t];
      w2[t] = pi[t] - qi[t];
      w3[t] = -qi[t];
    }
  }
}

// float32 on AVX-512: the same three kernels on 16 tiles per step, with
// masked loads and stores for a row's last tiles. Rows are short (14 tiles
// for a 28-wide image, 4 for an 8-wide one), and the auto-vectorised loops
// above spent most of their time in scalar remainders there.
#define EMBER_AVX512 __attribute__((target("avx512f")))

// The lanes below `count` set (none when count <= 0, all from 16 on).
EMBER_AVX512 inline __mmask16 first_lanes(int64_t count) {
  if (count <= 0) return 0;
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1);
}

// Columns 2t, 2t + 1 of the 32 values lo:hi (t < 16) as even and odd.
EMBER_AVX512 inline void deinterleave(__m512 lo, __m512 hi, __m512* even, __m512* odd) {
  const __m512i even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                             26, 28, 30);
  const __m512i odd_idx = _mm512_add_epi32(even_idx, _mm512_set1_epi32(1));
  *even = _mm512_permutex2var_ps(lo, even_idx, hi);
  *odd = _mm512_permutex2var_ps(lo, odd_idx, hi);
}

EMBER_AVX512 void input_tiles_avx512(const float* rows, int64_t count, float* u,
                                     int64_t stride, float*) {
  const int64_t width = 2 * count + 2;
  // Lanes 1..15 of the first source, then lane 0 or 1 of the second: the
  // even (odd) columns shifted on by one tile.
  const __m512i next_even = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                              15, 16);
  const __m512i next_odd = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                             15, 17);
  const float* first[4] = {rows, rows + width, rows + 2 * width, rows + width};
  const float* second[4] = {rows + 2 * width, rows + 2 * width, rows + width, rows + 3 * width};
  const __m512 sign[4] = {_mm512_set1_ps(-1.f), _mm512_set1_ps(1.f), _mm512_set1_ps(-1.f),
                          _mm512_set1_ps(-1.f)};
  for (int64_t t0 = 0; t0 < count; t0 += 16) {
    const __mmask16 tiles = first_lanes(count - t0);
    // Columns [2 t0, 2 t0 + 34) of the row, as far as it goes.
    const int64_t x0 = 2 * t0;
    const __mmask16 m0 = first_lanes(width - x0), m1 = first_lanes(width - x0 - 16);
    const __mmask16 m2 = first_lanes(width - x0 - 32);
    for (int i = 0; i < 4; ++i) {
      const float *x = first[i] + x0, *y = second[i] + x0;
      const __m512 lo = _mm512_fmadd_ps(sign[i], _mm512_maskz_loadu_ps(m0, y),
                                        _mm512_maskz_loadu_ps(m0, x));
      const __m512 hi = _mm512_fmadd_ps(sign[i], _mm512_maskz_loadu_ps(m1, y + 16),
                                        _mm512_maskz_loadu_ps(m1, x + 16));
      const __m512 ex = _mm512_fmadd_ps(sign[i], _mm512_maskz_loadu_ps(m2, y + 32),
                                        _mm512_maskz_loadu_ps(m2, x + 32));
      __m512 even, odd;
      deinterleave(lo, hi, &even, &odd);
      const __m512 even1 = _mm512_permutex2var_ps(even, next_even, ex);
      const __m512 odd1 = _mm512_permutex2var_ps(odd, next_odd, ex);
      float* dst = u + (4 * i) * stride + t0;
      _mm512_mask_storeu_ps(dst, tiles, _mm512_sub_ps(even, even1));
      _mm512_mask_storeu_ps(dst + stride, tiles, _mm512_add_ps(odd, even1));
      _mm512_mask_storeu_ps(dst + 2 * stride, tiles, _mm512_sub_ps(even1, odd));
      _mm512_mask_storeu_ps(dst + 3 * stride, tiles, _mm512_sub_ps(odd, odd1));
    }
  }
}

EMBER_AVX512 void output_tiles_avx512(const float* m, int64_t stride, int64_t count, float bias,
                                      float* y0, float* y1, float*) {
  const __m512i low_pairs = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                                              7, 23);
  const __m512i high_pairs = _mm512_add_epi32(low_pairs, _mm512_set1_epi32(8));
  const __m512 b = _mm512_set1_ps(bias);
  for (int64_t t0 = 0; t0 < count; t0 += 16) {
    const __mmask16 tiles = first_lanes(count - t0);
    __m512 v[kPoints];
    for (int p = 0; p < kPoints; ++p) v[p] = _mm512_maskz_loadu_ps(tiles, m + p * stride + t0);
    const int64_t x0 = 2 * t0;
    const __mmask16 lo_mask = first_lanes(2 * (count - t0)), hi_mask = first_lanes(2 * (count - t0) - 16);
    for (int i = 0; i < 2; ++i) {
      // Row i of A^T m, then its two outputs per tile, interleaved.
      __m512 a[4];
      for (int j = 0; j < 4; ++j) {
        a[j] = i == 0 ? _mm512_add_ps(_mm512_add_ps(v[j], v[4 + j]), v[8 + j])
                      : _mm512_sub_ps(_mm512_sub_ps(v[4 + j], v[8 + j]), v[12 + j]);
      }
      const __m512 even = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), a[2]), b);
      const __m512 odd = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(a[1], a[2]), a[3]), b);
      float* y = (i == 0 ? y0 : y1) + x0;
      _mm512_mask_storeu_ps(y, lo_mask, _mm512_permutex2var_ps(even, low_pairs, odd));
      _mm512_mask_storeu_ps(y + 16, hi_mask, _mm512_permutex2var_ps(even, high_pairs, odd));
    }
  }
}

EMBER_AVX512 void grad_tiles_avx512(const float* y0, const float* y1, int64_t count, float* w,
                                    int64_t stride, float*) {
  for (int64_t t0 = 0; t0 < count; t0 += 16) {
    const __mmask16 tiles = first_lanes(count - t0);
    const int64_t x0 = 2 * t0;
    const __mmask16 lo_mask = first_lanes(2 * (count - t0)), hi_mask = first_lanes(2 * (count - t0) - 16);
    __m512 a, b, c, d;
    deinterleave(_mm512_maskz_loadu_ps(lo_mask, y0 + x0), _mm512_maskz_loadu_ps(hi_mask, y0 + x0 + 16),
                 &a, &b);
    deinterleave(_mm512_maskz_loadu_ps(lo_mask, y1 + x0), _mm512_maskz_loadu_ps(hi_mask, y1 + x0 + 16),
                 &c, &d);
    const __m512 zero = _mm512_setzero_ps();
    const __m512 p[4] = {a, _mm512_add_ps(a, c), _mm512_sub_ps(a, c), _mm512_sub_ps(zero, c)};
    const __m512 q[4] = {b, _mm512_add_ps(b, d), _mm512_sub_ps(b, d), _mm512_sub_ps(zero, d)};
    for (int i = 0; i < 4; ++i) {
      float* dst = w + (4 * i) * stride + t0;
      _mm512_mask_storeu_ps(dst, tiles, p[i]);
      _mm512_mask_storeu_ps(dst + stride, tiles, _mm512_add_ps(p[i], q[i]));
      _mm512_mask_storeu_ps(dst + 2 * stride, tiles, _mm512_sub_ps(p[i], q[i]));
      _mm512_mask_storeu_ps(dst + 3 * stride, tiles, _mm512_sub_ps(zero, q[i]));
    }
  }
}
#undef EMBER_AVX512

template <typename T>
struct RowKernels {
  void (*input)(const T* rows, int64_t count, T* u, int64_t stride, T* work);
  void (*output)(const T* m, int64_t stride, int64_t count, T bias, T* y0, T* y1, T* work);
  void (*grad)(const T* y0, const T* y1, int64_t count, T* w, int64_t stride, T* work);
};

// The row kernels follow the GEMM's instruction set (set_gemm_isa), so the
// tests run both versions on an AVX-512 machine.
template <typename T>
RowKernels<T> row_kernels() {
  return {input_tiles<T>, output_tiles<T>, grad_tiles<T>};
}

template <>
RowKernels<float> row_kernels<float>() {
  if (gemm_isa() == GemmIsa::avx512) {
    return {input_tiles_avx512, output_tiles_avx512, grad_tiles_avx512};
  }
  return {input_tiles<float>, output_tiles<float>, grad_tiles<float>};
}

// U[p][c][t] for tile rows [r0, r1) of `input` (batch x channels x h x w),
// whose top-left tile reads from row -pad_h, column -pad_w; outside the
// image the input is zero. `rows` holds 4 * padded_width(g) values, `work`
// 12 * (tile_cols + 1).
template <typename T>
void transform_input(const T* input, int64_t channels, int64_t h, int64_t w, int64_t pad_h,
                     int64_t pad_w, const Tiling& g, int64_t r0, int64_t r1, T* u, T* rows,
                     T* work, const RowKernels<T>& kernels) {
  const int64_t tiles = (r1 - r0) * g.tile_cols, width = padded_width(g);
  const int64_t lo = std::clamp<int64_t>(pad_w, 0, width);
  const int64_t hi = std::clamp<int64_t>(w + pad_w, lo, width);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.tile_rows, th = r % g.tile_rows;
      const T* plane = input + (n * channels + c) * h * w;
      for (int i = 0; i < 4; ++i) {
        T* row = rows + i * width;
        const int64_t ih = 2 * th - pad_h + i;
        if (ih < 0 || ih >= h) {
          std::fill(row, row + width, T(0));
          continue;
        }
        std::fill(row, row + lo, T(0));
        std::copy(plane + ih * w + lo - pad_w, plane + ih * w + hi - pad_w, row + lo);
        std::fill(row + hi, row + width, T(0));
      }
      kernels.input(rows, g.tile_cols, u + c * tiles + (r - r0) * g.tile_cols,
                  point_stride(channels, tiles),
                  work);
    }
  }
}

// Writes tile rows [r0, r1) of `out` (batch x channels x h x w) from
// M[p][o][t]. `rows` holds 4 * tile_cols values, `work` 12 * tile_cols.
template <typename T>
void transform_output(const T* m, int64_t channels, int64_t h, int64_t w, const T* bias,
                      const Tiling& g, int64_t r0, int64_t r1, T* out, T* rows, T* work,
                      const RowKernels<T>& kernels) {
  const int64_t tiles = (r1 - r0) * g.tile_cols;
  T* y0 = rows;
  T* y1 = rows + 2 * g.tile_cols;
  for (int64_t o = 0; o < channels; ++o) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.tile_rows, oh = 2 * (r % g.tile_rows);
      kernels.output(m + o * tiles + (r - r0) * g.tile_cols, point_stride(channels, tiles),
                   g.tile_cols,
                   bias ? bias[o] : T(0), y0, y1, work);
      T* plane = out + (n * channels + o) * h * w;
      std::copy(y0, y0 + w, plane + oh * w);
      if (oh + 1 < h) std::copy(y1, y1 + w, plane + (oh + 1) * w);
    }
  }
}

// W[p][o][t] for tile rows [r0, r1) of grad_out (batch x channels x h x w),
// zero past its last row and column. `rows` holds 4 * tile_cols values,
// `work` 10 * tile_cols.
template <typename T>
void transform_grad(const T* grad_out, int64_t channels, int64_t h, int64_t w, const Tiling& g,
                    int64_t r0, int64_t r1, T* wt, T* rows, T* work,
                    const RowKernels<T>& kernels) {
  const int64_t tiles = (r1 - r0) * g.tile_cols, width = 2 * g.tile_cols;
  T* y0 = rows;
  T* y1 = rows + width;
  std::fill(rows, rows + 2 * width, T(0));
  for (int64_t o = 0; o < channels; ++o) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.tile_rows, oh = 2 * (r % g.tile_rows);
      const T* plane = grad_out + (n * channels + o) * h * w;
      std::copy(plane + oh * w, plane + (oh + 1) * w, y0);
      if (oh + 1 < h) {
        std::copy(plane + (oh + 1) * w, plane + (oh + 2) * w, y1);
      } else {
        std::fill(y1, y1 + width, T(0));
      }
      kernels.grad(y0, y1, g.tile_cols, wt + o * tiles + (r - r0) * g.tile_cols,
                 point_stride(channels, tiles), work);
    }
  }
}

// out = the convolution of `input` (s.in_channels planes) with the filters
// whose transform is v ([p][s.out_channels][s.in_channels]), plus bias.
template <typename T>
void winograd_conv(const Conv2dShape& s, const T* input, const T* v, const T* bias, T* out) {
  const Tiling g = make_tiling(s.batch, s.out_h, s.out_w);
  const int64_t in_c = s.in_channels, out_c = s.out_channels;
  const RowKernels<T> kernels = row_kernels<T>();
  parallel_for(0, g.chunks, 1, [&](int64_t lo, int64_t hi) {
    Workspace<T> u(kPoints * point_stride(in_c, g.max_tiles()));
    Workspace<T> m(kPoints * point_stride(out_c, g.max_tiles()));
    Workspace<T> rows(4 * padded_width(g)), work(12 * (g.tile_cols + 1));
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      const int64_t r0 = chunk * g.rows_per_chunk;
      const int64_t r1 = std::min(g.total_rows, r0 + g.rows_per_chunk);
      const int64_t tiles = (r1 - r0) * g.tile_cols;
      transform_input(input, in_c, s.in_h, s.in_w, s.pad_h, s.pad_w, g, r0, r1, u.get(),
                      rows.get(), work.get(), kernels);
      for (int p = 0; p < kPoints; ++p) {
        gemm<T>(out_c, tiles, in_c, T(1), {v + p * out_c * in_c, in_c, 1},
                {u.get() + p * point_stride(in_c, tiles), tiles, 1}, T(0),
                {m.get() + p * point_stride(out_c, tiles), tiles, 1});
      }
      transform_output(m.get(), out_c, s.out_h, s.out_w, bias, g, r0, r1, out, rows.get(),
                       work.get(), kernels);
    }
  });
}

}  // namespace

bool winograd_applies(const Conv2dShape& s) {
  const int64_t tiled = 4 * ((s.out_h + 1) / 2) * ((s.out_w + 1) / 2);
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.groups == 1 && s.in_channels >= 16 &&
         s.out_channels >= 16 && 5 * s.out_h * s.out_w >= 4 * tiled;
}

template <typename T>
void winograd_forward(const Conv2dShape& s, const T* input, const T* weight, const T* bias,
                      T* out) {
  Workspace<T> v(kPoints * s.out_channels * s.in_channels);
  transform_weights(weight, s.out_channels, s.in_channels, false, v.get());
  winograd_conv(s, input, v.get(), bias, out);
}

template <typename T>
void winograd_backward_input(const Conv2dShape& s, const T* grad_out, const T* weight,
                             T* grad_input) {
  // grad_input is the correlation of grad_out with the rotated filters,
  // its first tile starting 2 - pad above and left of grad_out.
  Conv2dShape t = s;
  t.in_channels = s.out_channels;
  t.in_h = s.out_h;
  t.in_w = s.out_w;
  t.out_channels = s.in_channels;
  t.out_h = s.in_h;
  t.out_w = s.in_w;
  t.pad_h = 2 - s.pad_h;
  t.pad_w = 2 - s.pad_w;
  Workspace<T> v(kPoints * s.out_channels * s.in_channels);
  transform_weights(weight, s.out_channels, s.in_channels, true, v.get());
  winograd_conv(t, grad_out, v.get(), static_cast<const T*>(nullptr), grad_input);
}

template <typename T>
void winograd_backward_weight(const Conv2dShape& s, const T* grad_out, const T* input,
                              T* grad_weight) {
  const Tiling g = make_tiling(s.batch, s.out_h, s.out_w);
  const int64_t in_c = s.in_channels, out_c = s.out_channels;
  const int64_t point_size = kPoints * out_c * in_c;
  const RowKernels<T> kernels = row_kernels<T>();
  // Each part of the chunks sums into its own M[p][o][c]; the parts are
  // added in a fixed order, so thread timing never changes the result.
  const int64_t parts = std::min<int64_t>(get_num_threads(), g.chunks);
  Workspace<T> acc(parts * point_size);
  parallel_for(0, parts, 1, [&](int64_t lo, int64_t hi) {
    Workspace<T> u(kPoints * point_stride(in_c, g.max_tiles()));
    Workspace<T> wt(kPoints * point_stride(out_c, g.max_tiles()));
    Workspace<T> rows(4 * padded_width(g)), work(12 * (g.tile_cols + 1));
    for (int64_t part = lo; part < hi; ++part) {
      T* m = acc.get() + part * point_size;
      std::fill(m, m + point_size, T(0));
      for (int64_t chunk = part * g.chunks / parts; chunk < (part + 1) * g.chunks / parts;
           ++chunk) {
        const int64_t r0 = chunk * g.rows_per_chunk;
        const int64_t r1 = std::min(g.total_rows, r0 + g.rows_per_chunk);
        const int64_t tiles = (r1 - r0) * g.tile_cols;
        transform_input(input, in_c, s.in_h, s.in_w, s.pad_h, s.pad_w, g, r0, r1, u.get(),
                        rows.get(), work.get(), kernels);
        transform_grad(grad_out, out_c, s.out_h, s.out_w, g, r0, r1, wt.get(), rows.get(),
                       work.get(), kernels);
        for (int p = 0; p < kPoints; ++p) {
          gemm<T>(out_c, in_c, tiles, T(1),
                  {wt.get() + p * point_stride(out_c, tiles), tiles, 1},
                  {u.get() + p * point_stride(in_c, tiles), 1, tiles}, T(1),
                  {m + p * out_c * in_c, in_c, 1});
        }
      }
    }
  });
  T* m = acc.get();
  for (int64_t part = 1; part < parts; ++part) {
    const T* other = acc.get() + part * point_size;
    for (int64_t i = 0; i < point_size; ++i) m[i] += other[i];
  }
  // grad g = G^T M G for each (o, c).
  const int64_t stride = out_c * in_c;
  const T half = T(0.5);
  for (int64_t k = 0; k < stride; ++k) {
    T x[4][4];
    for (int p = 0; p < kPoints; ++p) x[p / 4][p % 4] = m[p * stride + k];
    T r[3][4];  // G^T M
    for (int j = 0; j < 4; ++j) {
      r[0][j] = x[0][j] + half * (x[1][j] + x[2][j]);
      r[1][j] = half * (x[1][j] - x[2][j]);
      r[2][j] = half * (x[1][j] + x[2][j]) + x[3][j];
    }
    T* dst = grad_weight + k * 9;
    for (int i = 0; i < 3; ++i) {
      dst[i * 3 + 0] = r[i][0] + half * (r[i][1] + r[i][2]);
      dst[i * 3 + 1] = half * (r[i][1] - r[i][2]);
      dst[i * 3 + 2] = half * (r[i][1] + r[i][2]) + r[i][3];
    }
  }
}

#define EMBER_INSTANTIATE_WINOGRAD(T)                                                         \
  template void winograd_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);    \
  template void winograd_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);       \
  template void winograd_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);
EMBER_INSTANTIATE_WINOGRAD(float)
EMBER_INSTANTIATE_WINOGRAD(double)
#undef EMBER_INSTANTIATE_WINOGRAD

}  // namespace cpu
}  // namespace ember
