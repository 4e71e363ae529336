// CPU kernels for gather/scatter, advanced indexing, masked fill, one_hot and
// nonzero (see index.h).
#include "cpu/index.h"

#include <algorithm>
#include <array>
#include <type_traits>

#include "core/iter.h"
#include "core/parallel.h"

namespace ember {
namespace cpu {

namespace {

// Walks the "rows" of a shape along one dim: every coordinate of the other
// dims is a row, and offsets() gives each operand's element offset of the
// row's first element. Work split by row never writes one element twice.
template <size_t K>
class RowWalker {
 public:
  RowWalker(const Shape& shape, int64_t dim, const std::array<Tensor, K>& operands) {
    for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
      if (d == dim) continue;
      sizes_.push_back(shape[d]);
      for (size_t k = 0; k < K; ++k) strides_[k].push_back(operands[k].stride(d));
      rows_ *= shape[d];
    }
  }

  int64_t rows() const { return rows_; }

  std::array<int64_t, K> offsets(int64_t row) const {
    std::array<int64_t, K> off{};
    for (int64_t d = int64_t(sizes_.size()) - 1; d >= 0; --d) {
      int64_t c = row % sizes_[d];
      row /= sizes_[d];
      for (size_t k = 0; k < K; ++k) off[k] += c * strides_[k][d];
    }
    return off;
  }

 private:
  Shape sizes_;
  std::array<Shape, K> strides_;
  int64_t rows_ = 1;
};

int64_t row_grain(int64_t row_length) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_length, 1));
}

// Element offsets of every position of `shape` under `strides`, row-major.
std::vector<int64_t> offset_table(const Shape& shape, const Shape& strides) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<int64_t> table(size_t(std::max<int64_t>(n, 0)));
  Shape index(shape.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    table[size_t(i)] = off;
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      off += strides[d];
      if (++index[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return table;
}

// Offset into the indexed tensor of each advanced position b.
std::vector<int64_t> base_offsets(const Tensor& src, const std::vector<Tensor>& indices) {
  int64_t count = indices[0].numel();
  std::vector<int64_t> base(size_t(count), 0);
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t* idx = indices[k].data<int64_t>();
    int64_t stride = src.stride(int64_t(k));
    for (int64_t b = 0; b < count; ++b) base[size_t(b)] += idx[b] * stride;
  }
  return base;
}

// True when the table is 0, 1, 2, ...: the trailing dims form one plain array.
bool is_identity(const std::vector<int64_t>& table) {
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i] != int64_t(i)) return false;
  return true;
}

Shape rest_shape(const Tensor& t, size_t k) {
  return Shape(t.shape().begin() + k, t.shape().end());
}
Shape rest_strides(const Tensor& t, size_t k) {
  return Shape(t.strides().begin() + k, t.strides().end());
}

}  // namespace

void gather(const Tensor& out, const Tensor& input, int64_t dim, const Tensor& index) {
  if (index.numel() == 0) return;
  RowWalker<3> walker(index.shape(), dim, {out, input, index});
  int64_t n = index.size(dim);
  int64_t out_step = out.stride(dim), in_step = input.stride(dim), idx_step = index.stride(dim);
  const int64_t* idx = index.data<int64_t>();
  EMBER_DISPATCH_ALL(input.dtype(), "gather", [&] {
    const scalar_t* in = input.data<scalar_t>();
    scalar_t* o = out.data<scalar_t>();
    parallel_for(0, walker.rows(), row_grain(n), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        auto off = walker.offsets(row);
        for (int64_t j = 0; j < n; ++j)
          o[off[0] + j * out_step] = in[off[1] + idx[off[2] + j * idx_step] * in_step];
      }
    });
  });
}

void scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
             bool accumulate) {
  if (index.numel() == 0) return;
  RowWalker<3> walker(index.shape(), dim, {self, index, src});
  int64_t n = index.size(dim);
  int64_t self_step = self.stride(dim), idx_step = index.stride(dim), src_step = src.stride(dim);
  const int64_t* idx = index.data<int64_t>();
  EMBER_DISPATCH_ALL(self.dtype(), accumulate ? "scatter_add" : "scatter", [&] {
    scalar_t* s = self.data<scalar_t>();
    const scalar_t* in = src.data<scalar_t>();
    parallel_for(0, walker.rows(), row_grain(n), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        auto off = walker.offsets(row);
        for (int64_t j = 0; j < n; ++j) {
          scalar_t& dst = s[off[0] + idx[off[1] + j * idx_step] * self_step];
          scalar_t v = in[off[2] + j * src_step];
          if constexpr (std::is_same_v<scalar_t, bool>) {
            dst = accumulate ? (dst || v) : v;
          } else {
            dst = accumulate ? scalar_t(dst + v) : v;
          }
        }
      }
    });
  });
}

void index(const Tensor& out, const Tensor& src, const std::vector<Tensor>& indices) {
  if (out.numel() == 0) return;
  std::vector<int64_t> base = base_offsets(src, indices);
  std::vector<int64_t> rest = offset_table(rest_shape(src, indices.size()),
                                           rest_strides(src, indices.size()));
  int64_t count = int64_t(base.size()), inner = int64_t(rest.size());
  bool plain = is_identity(rest);
  EMBER_DISPATCH_ALL(src.dtype(), "index", [&] {
    const scalar_t* in = src.data<scalar_t>();
    scalar_t* o = out.data<scalar_t>();
    parallel_for(0, count, row_grain(inner), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const scalar_t* row = in + base[size_t(b)];
        scalar_t* dst = o + b * inner;
        if (plain) {
          std::copy(row, row + inner, dst);
        } else {
          for (int64_t r = 0; r < inner; ++r) dst[r] = row[rest[size_t(r)]];
        }
      }
    });
  });
}

void index_put(const Tensor& self, const std::vector<Tensor>& indices, const Tensor& values,
               bool accumulate) {
  if (values.numel() == 0) return;
  std::vector<int64_t> base = base_offsets(self, indices);
  std::vector<int64_t> rest = offset_table(rest_shape(self, indices.size()),
                                           rest_strides(self, indices.size()));
  int64_t count = int64_t(base.size()), inner = int64_t(rest.size());
  bool plain = is_identity(rest);
  EMBER_DISPATCH_ALL(self.dtype(), "index_put", [&] {
    scalar_t* s = self.data<scalar_t>();
    const scalar_t* v = values.data<scalar_t>();
    // Split over the trailing positions: repeated indices then stay on one
    // thread, in order, so accumulation is race-free and the last write wins.
    parallel_for(0, inner, row_grain(count), [&](int64_t lo, int64_t hi) {
      for (int64_t b = 0; b < count; ++b) {
        scalar_t* row = s + base[size_t(b)];
        const scalar_t* src = v + b * inner;
        if (plain && !std::is_same_v<scalar_t, bool>) {
          if (accumulate) {
            for (int64_t r = lo; r < hi; ++r) row[r] = scalar_t(row[r] + src[r]);
          } else {
            std::copy(src + lo, src + hi, row + lo);
          }
          continue;
        }
        for (int64_t r = lo; r < hi; ++r) {
          scalar_t& dst = row[rest[size_t(r)]];
          if constexpr (std::is_same_v<scalar_t, bool>) {
            dst = accumulate ? (dst || src[r]) : src[r];
          } else {
            dst = accumulate ? scalar_t(dst + src[r]) : src[r];
          }
        }
      }
    });
  });
}

void masked_fill(const Tensor& self, const Tensor& mask, Scalar value) {
  EMBER_DISPATCH_ALL(self.dtype(), "masked_fill", [&] {
    const scalar_t fill = value.to<scalar_t>();
    for_each_run<2>({self, mask}, [&](char** p, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(scalar_t) && s[1] == sizeof(bool)) {
        auto* o = reinterpret_cast<scalar_t*>(p[0]);
        const auto* m = reinterpret_cast<const bool*>(p[1]);
        for (int64_t i = 0; i < n; ++i) o[i] = m[i] ? fill : o[i];
      } else {
        for (int64_t i = 0; i < n; ++i) {
          if (*reinterpret_cast<const bool*>(p[1] + i * s[1]))
            *reinterpret_cast<scalar_t*>(p[0] + i * s[0]) = fill;
        }
      }
    });
  });
}

void one_hot(const Tensor& out, const Tensor& index) {
  int64_t n = index.numel(), classes = out.size(1);
  const int64_t* idx = index.data<int64_t>();
  int64_t* o = out.data<int64_t>();
  parallel_for(0, n, kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i * classes + idx[i]] = 1;
  });
}

Tensor nonzero(const Tensor& input) {
  Tensor c = input.contiguous();
  int64_t ndim = c.dim(), n = c.numel();
  return EMBER_DISPATCH_ALL(c.dtype(), "nonzero", [&] {
    const scalar_t* p = c.data<scalar_t>();
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) count += p[i] != scalar_t(0);
    Tensor out = Tensor::empty({count, ndim}, DType::int64);
    int64_t* o = out.data<int64_t>();
    Shape coord(size_t(ndim), 0);
    for (int64_t i = 0; i < n; ++i) {
      if (p[i] != scalar_t(0)) {
        for (int64_t d = 0; d < ndim; ++d) *o++ = coord[d];
      }
      for (int64_t d = ndim - 1; d >= 0; --d) {
        if (++coord[d] < c.size(d)) break;
        coord[d] = 0;
      }
    }
    return out;
  });
}

}  // namespace cpu
}  // namespace ember
