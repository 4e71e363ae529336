// The CUDA indexing kernels run on the harness against the CPU kernels of
// cpu/index.h, element by element: gather/scatter along every dim of odd
// shapes (expanded indices as index_select and index_add_ build them),
// advanced indexing and index_put_ with negative and repeated indices,
// masked_fill_, one_hot, nonzero at several densities, every dtype, strided
// operands, out-of-range indices caught by the error slot, and shuffle mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/random.h"
#include "cpu/index.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"

namespace ember {
namespace {

const DType kDTypes[] = {DType::float32, DType::float64, DType::int64, DType::int32,
                         DType::bool_};
const std::vector<Shape> kShapes = {{129}, {31, 33}, {1, 33, 5}, {3, 1, 31}};

// Random data of `dtype`; `integral` keeps floats on small integers so that
// sums in any order are exact.
Tensor random_values(const Shape& shape, DType dtype, bool integral = false) {
  if (dtype == DType::bool_) {
    Tensor t = Tensor::empty(shape, DType::int32);
    randint_(t, 0, 2);
    return t.to(DType::bool_);
  }
  Tensor t = Tensor::empty(shape, dtype);
  if (is_floating(dtype) && !integral) {
    uniform_(t, -2.0, 2.0);
  } else {
    randint_(t, -8, 8);
  }
  return t;
}

Tensor random_index(const Shape& shape, int64_t low, int64_t high) {
  Tensor t = Tensor::empty(shape, DType::int64);
  randint_(t, low, high);
  return t;
}

// Values in [0, size) that never repeat along `dim` (shape[dim] <= size).
Tensor unique_index(const Shape& shape, int64_t dim, int64_t size) {
  Tensor t = Tensor::empty(shape, DType::int64);
  int64_t inner = 1;
  for (size_t d = size_t(dim) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t n = shape[size_t(dim)], step = size % 7 == 0 ? 1 : 7;
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t c = (i / inner) % n, row = (i / (inner * n)) * inner + i % inner;
    p[i] = (c * step + row * 13) % size;
  }
  return t;
}

// Where got and expected first differ (compared as float64), -1 if nowhere.
int64_t first_mismatch(const Tensor& got, const Tensor& expected) {
  Tensor g = got.to(DType::float64).contiguous(), e = expected.to(DType::float64).contiguous();
  const double* gp = g.data<double>();
  const double* ep = e.data<double>();
  for (int64_t i = 0; i < g.numel(); ++i)
    if (gp[i] != ep[i]) return i;
  return -1;
}

void expect_same(const Tensor& got, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(got.shape(), expected.shape()) << what;
  EXPECT_EQ(first_mismatch(got, expected), -1) << what;
}

std::string describe(const char* op, const Tensor& t, int64_t dim) {
  return std::string(op) + " " + t.str() + " dim " + std::to_string(dim);
}

// The index shape for `shape` along `dim`: `n` at dim, the other dims one
// smaller where they can be (gather and scatter allow smaller).
Shape index_shape(const Shape& shape, int64_t dim, int64_t n) {
  Shape s = shape;
  for (size_t d = 0; d < s.size(); ++d)
    s[d] = int64_t(d) == dim ? n : std::max<int64_t>(1, s[d] - 1);
  return s;
}

void check_gather(const Tensor& input, int64_t dim, const Tensor& index) {
  Tensor expected = Tensor::empty(index.shape(), input.dtype());
  cpu::gather(expected, input, dim, index);
  Tensor got = Tensor::full(index.shape(), Scalar(int64_t(3)), input.dtype());
  int64_t error[2] = {0, 0};
  cuda::GatherGeometry g = cuda::gather_geometry("test", input, dim, index, got);
  cuda::gather_raw(input.dtype(), got.raw_data(), input.raw_data(), index.data<int64_t>(), g,
                   error);
  EXPECT_EQ(error[0], 0);
  expect_same(got, expected, describe("gather", input, dim));
}

void check_scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                   bool accumulate) {
  Tensor expected = self.clone(), got = self.clone();
  cpu::scatter(expected, dim, index, src, accumulate);
  int64_t error[2] = {0, 0};
  cuda::GatherGeometry g = cuda::gather_geometry("test", got, dim, index, src);
  cuda::scatter_raw(self.dtype(), accumulate, got.raw_data(), index.data<int64_t>(),
                    src.raw_data(), g, error);
  EXPECT_EQ(error[0], 0);
  expect_same(got, expected, describe(accumulate ? "scatter_add" : "scatter", self, dim));
}

TEST(CudaEmuIndex, GatherEveryDim) {
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      Tensor input = random_values(shape, dtype);
      for (int64_t dim = 0; dim < int64_t(shape.size()); ++dim) {
        const int64_t size = shape[size_t(dim)];
        for (int64_t n : {int64_t(1), size + 2}) {
          check_gather(input, dim, random_index(index_shape(shape, dim, n), 0, size));
        }
      }
    }
  }
}

// index_select's layout: a 1-D index viewed along dim and expanded (stride 0).
TEST(CudaEmuIndex, GatherExpandedIndexAsIndexSelect) {
  for (DType dtype : {DType::float32, DType::int64, DType::bool_}) {
    Tensor input = random_values({31, 33, 3}, dtype);
    for (int64_t dim = 0; dim < 3; ++dim) {
      Shape shape = input.shape();
      shape[size_t(dim)] = 129;
      Shape view(3, 1);
      view[size_t(dim)] = 129;
      Tensor index = random_index({129}, 0, input.size(dim)).reshape(view).expand(shape);
      check_gather(input, dim, index);
    }
  }
}

TEST(CudaEmuIndex, GatherStridedOperands) {
  for (DType dtype : {DType::float64, DType::int32}) {
    Tensor input = random_values({33, 31}, dtype).t();
    Tensor index = random_index({33, 29}, 0, 31).t();
    check_gather(input, 0, index);
    check_gather(input, 1, random_index({31, 65}, 0, 33).slice(1, 0, 65, 2));
  }
}

TEST(CudaEmuIndex, ScatterUniqueEveryDim) {
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      Tensor self = random_values(shape, dtype);
      for (int64_t dim = 0; dim < int64_t(shape.size()); ++dim) {
        const int64_t size = shape[size_t(dim)];
        Shape ishape = index_shape(shape, dim, size);
        Shape sshape = ishape;
        for (int64_t& s : sshape) ++s;  // src may be larger than the index
        check_scatter(self, dim, unique_index(ishape, dim, size), random_values(sshape, dtype),
                      false);
      }
    }
  }
}

TEST(CudaEmuIndex, ScatterAddDuplicatesEveryDim) {
  for (DType dtype : kDTypes) {
    for (const Shape& shape : kShapes) {
      Tensor self = random_values(shape, dtype, true);
      for (int64_t dim = 0; dim < int64_t(shape.size()); ++dim) {
        const int64_t size = shape[size_t(dim)];
        Shape ishape = index_shape(shape, dim, size + 3);
        check_scatter(self, dim, random_index(ishape, 0, std::min<int64_t>(size, 3)),
                      random_values(ishape, dtype, true), true);
      }
    }
  }
}

// index_add_'s layout: the 1-D index spread along dim; self transposed.
TEST(CudaEmuIndex, ScatterAddExpandedIndexStridedSelf) {
  for (DType dtype : {DType::float32, DType::float64, DType::int64, DType::int32}) {
    Tensor base = random_values({33, 31}, dtype, true);
    Tensor expected = base.clone(), got = base.clone();
    Tensor self_expected = expected.t(), self_got = got.t();  // [31, 33]
    Tensor index = random_index({129}, 0, 33).reshape({1, 129}).expand({31, 129});
    Tensor src = random_values({31, 129}, dtype, true);
    cpu::scatter(self_expected, 1, index, src, true);
    int64_t error[2] = {0, 0};
    cuda::scatter_raw(dtype, true, self_got.raw_data(), index.data<int64_t>(), src.raw_data(),
                      cuda::gather_geometry("test", self_got, 1, index, src), error);
    EXPECT_EQ(error[0], 0);
    expect_same(got, expected, "index_add_ " + std::string(dtype_name(dtype)));
  }
}

TEST(CudaEmuIndex, EmptyIndexWritesNothing) {
  Tensor self = random_values({31, 33}, DType::float32);
  check_scatter(self, 1, random_index({31, 0}, 0, 33), random_values({31, 33}, DType::float32),
                true);
  check_gather(self, 0, random_index({0, 33}, 0, 31));
  Tensor got = self.clone();
  int64_t error[2] = {0, 0};
  Tensor empty = random_index({0}, 0, 31);
  cuda::index_put_raw(DType::float32, true, got.raw_data(), nullptr,
                      cuda::index_geometry("test", got, {empty}), error);
  expect_same(got, self, "index_put_ with an empty index");
}

// The CPU kernel takes wrapped indices (the entry point wraps them for it).
std::vector<Tensor> wrapped(const Tensor& src, const std::vector<Tensor>& indices) {
  std::vector<Tensor> out;
  for (size_t k = 0; k < indices.size(); ++k) {
    Tensor t = indices[k].clone();
    int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] += p[i] < 0 ? src.size(int64_t(k)) : 0;
    out.push_back(t);
  }
  return out;
}

Shape advanced_shape(const Tensor& src, const Shape& broadcast, size_t k) {
  Shape shape = broadcast;
  shape.insert(shape.end(), src.shape().begin() + int64_t(k), src.shape().end());
  return shape;
}

void check_index(const Tensor& src, const std::vector<Tensor>& indices) {
  Shape shape = advanced_shape(src, indices[0].shape(), indices.size());
  Tensor expected = Tensor::empty(shape, src.dtype());
  cpu::index(expected, src, wrapped(src, indices));
  Tensor got = Tensor::full(shape, Scalar(int64_t(3)), src.dtype());
  int64_t error[2] = {0, 0};
  cuda::index_raw(src.dtype(), got.raw_data(), src.raw_data(),
                  cuda::index_geometry("test", src, indices), error);
  EXPECT_EQ(error[0], 0);
  expect_same(got, expected, "index " + src.str() + " by " + std::to_string(indices.size()));
}

void check_index_put(const Tensor& self, const std::vector<Tensor>& indices, bool accumulate) {
  Shape shape = advanced_shape(self, indices[0].shape(), indices.size());
  Tensor values = random_values(shape, self.dtype(), true);
  Tensor expected = self.clone(), got = self.clone();
  cpu::index_put(expected, wrapped(self, indices), values, accumulate);
  int64_t error[2] = {0, 0};
  cuda::index_put_raw(self.dtype(), accumulate, got.raw_data(), values.raw_data(),
                      cuda::index_geometry("test", got, indices), error);
  EXPECT_EQ(error[0], 0);
  expect_same(got, expected, std::string(accumulate ? "index_put_ accumulate " : "index_put_ ") +
                                 self.str() + " by " + std::to_string(indices.size()));
}

TEST(CudaEmuIndex, IndexNegativeAndRepeated) {
  for (DType dtype : kDTypes) {
    Tensor src = random_values({31, 5, 33}, dtype);
    check_index(src, {random_index({129}, -31, 31)});
    check_index(src, {random_index({3, 11}, -31, 31), random_index({3, 11}, -5, 5)});
    check_index(src, {random_index({33}, -31, 31), random_index({33}, -5, 5),
                      random_index({33}, -33, 33)});
  }
}

// The rest dims are strided (a permuted tensor) and need the general walk.
TEST(CudaEmuIndex, IndexStridedSource) {
  for (DType dtype : {DType::float32, DType::int64}) {
    Tensor src = random_values({7, 33, 31}, dtype).permute({2, 0, 1});  // [31, 7, 33]
    check_index(src, {random_index({31}, -31, 31)});
    check_index(src, {random_index({5}, 0, 31), random_index({5}, -7, 7)});
    check_index(src.slice(2, 0, 33, 2), {random_index({9}, -31, 31)});
  }
}

TEST(CudaEmuIndex, IndexPutUniqueAndAccumulate) {
  for (DType dtype : kDTypes) {
    Tensor self = random_values({33, 3, 31}, dtype, true);
    Tensor unique = unique_index({33}, 0, 33);
    int64_t* p = unique.data<int64_t>();
    for (int64_t i = 0; i < 33; i += 2) p[i] -= 33;  // the same rows, written negative
    check_index_put(self, {unique}, false);
    check_index_put(self, {unique, random_index({33}, -3, 3)}, false);
    check_index_put(self, {random_index({129}, -33, 33)}, true);
    check_index_put(self, {random_index({4, 31}, 0, 3), random_index({4, 31}, -3, 3)}, true);
    check_index_put(self.permute({2, 0, 1}), {random_index({65}, -31, 31)}, true);
  }
}

TEST(CudaEmuIndex, MaskedFill) {
  for (DType dtype : kDTypes) {
    Scalar value = is_floating(dtype) ? Scalar(2.5)
                   : dtype == DType::bool_ ? Scalar(true) : Scalar(int64_t(-3));
    Tensor base = random_values({33, 31}, dtype);
    Tensor full_mask = random_values({31, 33}, DType::bool_);
    Tensor row_mask = random_values({1, 33}, DType::bool_).expand({31, 33});
    for (const Tensor& mask : {full_mask, row_mask}) {
      for (bool transposed : {false, true}) {
        Tensor expected = base.clone(), got = base.clone();
        Tensor e = transposed ? expected.t() : expected.reshape({31, 33});
        Tensor g = transposed ? got.t() : got.reshape({31, 33});
        cpu::masked_fill(e, mask, value);
        cuda::masked_fill_raw(dtype, g.raw_data(), mask.data<bool>(), value,
                              cuda::binary_geometry("test", g, mask, mask));
        expect_same(got, expected, "masked_fill_ " + base.str());
      }
    }
  }
}

TEST(CudaEmuIndex, OneHotAndMax) {
  for (int64_t n : {1, 33, 129}) {
    for (int64_t classes : {1, 5, 33}) {
      Tensor index = random_index({n}, 0, classes);
      Tensor expected = Tensor::zeros({n, classes}, DType::int64);
      cpu::one_hot(expected, index);
      Tensor got = Tensor::full({n, classes}, Scalar(int64_t(7)), DType::int64);
      int64_t error[2] = {0, 0};
      cuda::one_hot_raw(got.data<int64_t>(), index.data<int64_t>(), n, classes, error);
      EXPECT_EQ(error[0], 0);
      expect_same(got, expected, "one_hot");
    }
    Tensor values = random_index({n}, -1000, 1000);
    int64_t max = 0;
    cuda::index_max_raw(values.data<int64_t>(), n, &max);
    const int64_t* p = values.data<int64_t>();
    EXPECT_EQ(max, *std::max_element(p, p + n));
  }
}

void check_nonzero(const Tensor& x) {
  Tensor expected = cpu::nonzero(x);
  const int64_t blocks = cuda::nonzero_blocks(x.numel());
  std::vector<int64_t> offsets(size_t(blocks + 1), -1);
  cuda::nonzero_count_raw(x.dtype(), x.raw_data(), x.numel(), offsets.data());
  ASSERT_EQ(offsets[size_t(blocks)], expected.size(0)) << "nonzero count of " << x.str();
  Tensor got = Tensor::full(expected.shape(), Scalar(int64_t(-1)), DType::int64);
  cuda::NonzeroShape shape;
  shape.ndim = int(x.dim());
  for (int d = 0; d < shape.ndim; ++d) shape.sizes[d] = x.size(d);
  if (got.numel() > 0) {
    cuda::nonzero_write_raw(x.dtype(), x.raw_data(), x.numel(), offsets.data(),
                            got.data<int64_t>(), shape);
  }
  expect_same(got, expected, "nonzero of " + x.str());
}

Tensor random_mask(const Shape& shape, double density, DType dtype) {
  Tensor t = Tensor::empty(shape, DType::float64);
  bernoulli_(t, density);
  return t.to(dtype);
}

TEST(CudaEmuIndex, NonzeroDensities) {
  const std::vector<Shape> shapes = {{1}, {31}, {33, 129}, {3, 1, 700}, {2048}, {2049}};
  for (const Shape& shape : shapes) {
    for (double density : {0.0, 0.1, 0.5, 1.0}) {
      check_nonzero(random_mask(shape, density, DType::bool_));
    }
  }
  for (DType dtype : {DType::float32, DType::float64, DType::int64, DType::int32}) {
    check_nonzero(random_mask({33, 129}, 0.3, dtype));
  }
  check_nonzero(Tensor::full({}, Scalar(true), DType::bool_));
  check_nonzero(Tensor::empty({0, 3}, DType::bool_));
}

TEST(CudaEmuIndex, OutOfRangeSetsErrorSlot) {
  Tensor input = random_values({31, 33}, DType::float32);
  Tensor index = random_index({31, 33}, 0, 33);
  index.data<int64_t>()[100] = 33;
  int64_t error[2] = {0, 0};
  Tensor out = Tensor::empty({31, 33}, DType::float32);
  cuda::gather_raw(DType::float32, out.raw_data(), input.raw_data(), index.data<int64_t>(),
                   cuda::gather_geometry("test", input, 1, index, out), error);
  EXPECT_EQ(error[0], 1);
  EXPECT_EQ(error[1], 33);

  index.data<int64_t>()[100] = -1;
  error[0] = error[1] = 0;
  cuda::scatter_raw(DType::float32, true, input.raw_data(), index.data<int64_t>(),
                    out.raw_data(), cuda::gather_geometry("test", input, 1, index, out), error);
  EXPECT_EQ(error[0], 1);
  EXPECT_EQ(error[1], -1);

  // Advanced indexing wraps -size but not -size - 1; the slot names the dim.
  Tensor first = random_index({5}, -31, 31), second = random_index({5}, -33, 33);
  second.data<int64_t>()[3] = -34;
  error[0] = error[1] = 0;
  Tensor gathered = Tensor::empty({5}, DType::float32);
  cuda::index_raw(DType::float32, gathered.raw_data(), input.raw_data(),
                  cuda::index_geometry("test", input, {first, second}), error);
  EXPECT_EQ(error[0], 2);
  EXPECT_EQ(error[1], -34);

  Tensor classes = random_index({33}, 0, 5);
  classes.data<int64_t>()[32] = 5;
  Tensor hot = Tensor::empty({33, 5}, DType::int64);
  error[0] = error[1] = 0;
  cuda::one_hot_raw(hot.data<int64_t>(), classes.data<int64_t>(), 33, 5, error);
  EXPECT_EQ(error[0], 1);
  EXPECT_EQ(error[1], 5);
}

// A single wrong element is reported: the comparison is element by element.
TEST(CudaEmuIndex, PlantedWrongElementIsCaught) {
  Tensor input = random_values({31, 33}, DType::float32);
  Tensor index = random_index({31, 33}, 0, 33);
  Tensor expected = Tensor::empty({31, 33}, DType::float32);
  cpu::gather(expected, input, 1, index);
  Tensor got = expected.clone();
  got.data<float>()[517] += 1.0f;
  EXPECT_EQ(first_mismatch(got, expected), 517);
  Tensor coords = cpu::nonzero(random_mask({33, 129}, 0.5, DType::bool_));
  Tensor swapped = coords.clone();
  int64_t* rows = swapped.data<int64_t>();  // two distinct coordinate rows swapped
  std::swap(rows[10], rows[12]);
  std::swap(rows[11], rows[13]);
  EXPECT_NE(first_mismatch(swapped, coords), -1);
}

// Threads run in a shuffled order between barriers: the nonzero scans and the
// atomics must not depend on the order.
TEST(CudaEmuIndex, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 1234);
  check_nonzero(random_mask({33, 129}, 0.5, DType::bool_));
  check_nonzero(random_mask({2049}, 0.9, DType::float32));
  Tensor self = random_values({31, 33}, DType::float64, true);
  check_scatter(self, 1, random_index({31, 65}, 0, 4), random_values({31, 65}, DType::float64,
                true), true);
  check_index_put(self, {random_index({129}, -31, 31)}, true);
  cuda_emu::set_shuffle(false);
}

}  // namespace
}  // namespace ember
