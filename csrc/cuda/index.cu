// CUDA indexing kernels: gather/scatter along a dim (also index_select and
// index_add_), advanced indexing and index_put_, masked_fill_, one_hot and
// nonzero. Index values are validated on the device: the first out-of-range
// value a kernel meets is stored in a two-int64 error slot that the host reads
// back after the launch, so the entry points need no host copy of the index.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "core/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 65535;
// Elements per thread of one nonzero tile; a block owns kThreads * kItems.
constexpr int kItems = 8;
constexpr int64_t kTile = int64_t(kThreads) * kItems;
constexpr int64_t kLowest = std::numeric_limits<int64_t>::min();

int blocks_for(int64_t work) {
  return int(std::max<int64_t>(1, std::min(ceil_div<int64_t>(work, kThreads), kMaxBlocks)));
}

// Records the first bad index: slot 0 becomes 1 + dim, slot 1 the value.
__device__ __forceinline__ void report_bad_index(int64_t* error, int dim, int64_t value) {
  auto* flag = reinterpret_cast<unsigned long long*>(error);
  if (atomicCAS(flag, 0ull, static_cast<unsigned long long>(dim + 1)) == 0ull) error[1] = value;
}

// v added into *p by concurrent threads; bool "adds" as logical or.
__device__ __forceinline__ void atomic_accumulate(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_accumulate(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_accumulate(int32_t* p, int32_t v) {
  atomicAdd(reinterpret_cast<int*>(p), int(v));
}
// Two's complement addition is the same bit operation signed or unsigned.
__device__ __forceinline__ void atomic_accumulate(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
// Every writer stores the same true, so the race is benign.
__device__ __forceinline__ void atomic_accumulate(bool* p, bool v) {
  if (v) *p = true;
}

template <typename T>
__device__ __forceinline__ void store(T* p, T v, bool accumulate) {
  if (accumulate) {
    atomic_accumulate(p, v);
  } else {
    *p = v;
  }
}

// The three operand offsets of gather/scatter position i.
__device__ __forceinline__ void gather_offsets(const GatherGeometry& g, int64_t i, int64_t* o0,
                                               int64_t* o1, int64_t* o2) {
  int64_t a = 0, b = 0, c = 0;
  for (int d = g.ndim - 1; d >= 0; --d) {
    const int64_t coord = i % g.sizes[d];
    i /= g.sizes[d];
    a += coord * g.strides[0][d];
    b += coord * g.strides[1][d];
    c += coord * g.strides[2][d];
  }
  *o0 = a;
  *o1 = b;
  *o2 = c;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    gather_kernel(T* __restrict__ out, const T* __restrict__ input,
                  const int64_t* __restrict__ index, GatherGeometry g, int64_t* error) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += step) {
    int64_t in_offset, index_offset, out_offset;
    gather_offsets(g, i, &in_offset, &index_offset, &out_offset);
    const int64_t j = index[index_offset];
    if (j < 0 || j >= g.dim_size) {
      report_bad_index(error, 0, j);
      continue;
    }
    out[out_offset] = input[in_offset + j * g.dim_stride];
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    scatter_kernel(T* __restrict__ self, const int64_t* __restrict__ index,
                   const T* __restrict__ src, GatherGeometry g, bool accumulate,
                   int64_t* error) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += step) {
    int64_t self_offset, index_offset, src_offset;
    gather_offsets(g, i, &self_offset, &index_offset, &src_offset);
    const int64_t j = index[index_offset];
    if (j < 0 || j >= g.dim_size) {
      report_bad_index(error, 0, j);
      continue;
    }
    store(self + self_offset + j * g.dim_stride, src[src_offset], accumulate);
  }
}

// Where advanced position b starts in the indexed tensor, negative indices
// wrapped; false (and the error recorded) when one is out of range.
__device__ __forceinline__ bool index_base(const IndexGeometry& g, int64_t b, int64_t* base) {
  int64_t offset = 0;
  for (int k = 0; k < g.k; ++k) {
    int64_t j = g.indices[k][b];
    const int64_t size = g.index_sizes[k];
    if (j < -size || j >= size) return false;
    offset += (j < 0 ? j + size : j) * g.index_strides[k];
  }
  *base = offset;
  return true;
}

__device__ __forceinline__ void report_bad_position(const IndexGeometry& g, int64_t b,
                                                    int64_t* error) {
  for (int k = 0; k < g.k; ++k) {
    const int64_t j = g.indices[k][b];
    if (j < -g.index_sizes[k] || j >= g.index_sizes[k]) {
      report_bad_index(error, k, j);
      return;
    }
  }
}

__device__ __forceinline__ int64_t rest_offset(const IndexGeometry& g, int64_t r) {
  if (g.rest_ndim == 1) return r * g.rest_strides[0];
  int64_t offset = 0;
  for (int d = g.rest_ndim - 1; d >= 0; --d) {
    offset += (r % g.rest_sizes[d]) * g.rest_strides[d];
    r /= g.rest_sizes[d];
  }
  return offset;
}

// One thread per element of the contiguous [count, inner] side, so that side
// is read or written coalesced.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    index_kernel(T* __restrict__ out, const T* __restrict__ src, IndexGeometry g,
                 int64_t* error) {
  const int64_t total = g.count * g.inner;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t b = i / g.inner;
    int64_t base;
    if (!index_base(g, b, &base)) {
      report_bad_position(g, b, error);
      continue;
    }
    out[i] = src[base + rest_offset(g, i - b * g.inner)];
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    index_put_kernel(T* __restrict__ self, const T* __restrict__ values, IndexGeometry g,
                     bool accumulate, int64_t* error) {
  const int64_t total = g.count * g.inner;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t b = i / g.inner;
    int64_t base;
    if (!index_base(g, b, &base)) {
      report_bad_position(g, b, error);
      continue;
    }
    store(self + base + rest_offset(g, i - b * g.inner), values[i], accumulate);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    masked_fill_kernel(T* __restrict__ self, const bool* __restrict__ mask, BinaryGeometry g,
                       T value) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += step) {
    int64_t rest = i, self_offset = 0, mask_offset = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t coord = rest % g.sizes[d];
      rest /= g.sizes[d];
      self_offset += coord * g.out_strides[d];
      mask_offset += coord * g.a_strides[d];
    }
    if (mask[mask_offset]) self[self_offset] = value;
  }
}

// Writes every element of out (no zero fill first), one per thread, so the
// stores are coalesced; the first column checks the class value.
__global__ void __launch_bounds__(kThreads)
    one_hot_kernel(int64_t* __restrict__ out, const int64_t* __restrict__ index, int64_t n,
                   int64_t classes, int64_t* error) {
  const int64_t total = n * classes;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t row = i / classes;
    const int64_t c = i - row * classes;
    const int64_t j = __ldg(index + row);
    if (c == 0 && (j < 0 || j >= classes)) report_bad_index(error, 0, j);
    out[i] = j == c ? 1 : 0;
  }
}

__global__ void __launch_bounds__(kThreads)
    index_max_kernel(const int64_t* __restrict__ index, int64_t n, int64_t* result) {
  __shared__ int64_t partial[kWarps];
  int64_t v = kLowest;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    v = index[i] > v ? index[i] : v;
  }
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) {
    const int64_t other = __shfl_xor_sync(0xffffffffu, v, mask);
    v = other > v ? other : v;
  }
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kWarps; ++w) v = partial[w] > v ? partial[w] : v;
    atomicMax(reinterpret_cast<long long*>(result), static_cast<long long>(v));
  }
}

__global__ void fill_min_kernel(int64_t* result) {
  *result = kLowest;
}

// Threads of the block before this one in warp order, and the block's total,
// for one 0/1 flag per thread: a ballot per warp, then the warp counts
// through shared memory. All threads must call it (it has barriers).
__device__ __forceinline__ int block_exclusive_count(bool flag, int* total) {
  __shared__ int warp_counts[kWarps];
  const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
  const unsigned ballot = __ballot_sync(0xffffffffu, flag);
  if (lane == 0) warp_counts[warp] = __popc(ballot);
  __syncthreads();
  int before = __popc(ballot & ((1u << lane) - 1u)), sum = 0;
  for (int w = 0; w < kWarps; ++w) {
    before += w < warp ? warp_counts[w] : 0;
    sum += warp_counts[w];
  }
  // The next call writes warp_counts again: nobody may still be reading it.
  __syncthreads();
  *total = sum;
  return before;
}

// counts[blockIdx.x] = nonzero elements in this block's tile.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    nonzero_count_kernel(const T* __restrict__ x, int64_t n, int64_t* counts) {
  __shared__ int warp_counts[kWarps];
  const int64_t start = int64_t(blockIdx.x) * kTile;
  int count = 0;
  EMBER_UNROLL
  for (int item = 0; item < kItems; ++item) {
    const int64_t i = start + int64_t(item) * kThreads + threadIdx.x;
    count += i < n && x[i] != T(0);
  }
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) count += __shfl_xor_sync(0xffffffffu, count, mask);
  if (threadIdx.x % 32 == 0) warp_counts[threadIdx.x / 32] = count;
  __syncthreads();
  if (threadIdx.x == 0) {
    int total = 0;
    for (int w = 0; w < kWarps; ++w) total += warp_counts[w];
    counts[blockIdx.x] = total;
  }
}

// offsets[0..blocks] = exclusive scan of the block counts (in place), in one
// block: chunks of kThreads scanned with warp shuffles, carried along.
__global__ void __launch_bounds__(kThreads) nonzero_scan_kernel(int64_t* offsets, int64_t blocks) {
  __shared__ int64_t warp_sums[kWarps];
  const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
  int64_t carry = 0;
  for (int64_t chunk = 0; chunk <= blocks; chunk += kThreads) {
    const int64_t i = chunk + threadIdx.x;
    const int64_t v = i < blocks ? offsets[i] : 0;
    int64_t inclusive = v;
    EMBER_UNROLL
    for (int delta = 1; delta < 32; delta *= 2) {
      const int64_t up = __shfl_up_sync(0xffffffffu, inclusive, delta);
      if (lane >= delta) inclusive += up;
    }
    if (lane == 31) warp_sums[warp] = inclusive;
    __syncthreads();
    int64_t before = carry, chunk_total = 0;
    for (int w = 0; w < kWarps; ++w) {
      before += w < warp ? warp_sums[w] : 0;
      chunk_total += warp_sums[w];
    }
    if (i <= blocks) offsets[i] = before + inclusive - v;
    carry += chunk_total;
    __syncthreads();
  }
}

// Each block walks its tile again in row-major order, item by item, and
// writes the coordinates of its nonzero elements from its scanned offset on.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    nonzero_write_kernel(const T* __restrict__ x, int64_t n, const int64_t* __restrict__ offsets,
                         int64_t* __restrict__ out, NonzeroShape shape) {
  const int64_t start = int64_t(blockIdx.x) * kTile;
  int64_t row = offsets[blockIdx.x];
  for (int item = 0; item < kItems; ++item) {
    const int64_t i = start + int64_t(item) * kThreads + threadIdx.x;
    const bool flag = i < n && x[i] != T(0);
    int total;
    const int before = block_exclusive_count(flag, &total);
    if (flag) {
      int64_t* dst = out + (row + before) * shape.ndim;
      int64_t rest = i;
      // Unrolled with constant indices so `shape` stays in parameter space.
      EMBER_UNROLL
      for (int d = kMaxDims - 1; d >= 0; --d) {
        if (d >= shape.ndim) continue;
        dst[d] = rest % shape.sizes[d];
        rest /= shape.sizes[d];
      }
    }
    row += total;
  }
}

// --- host side ----------------------------------------------------------------

// The device error slot of one launch, zeroed on creation.
class ErrorSlot {
 public:
  explicit ErrorSlot(Device device) : buffer_(Tensor::empty({2}, DType::int64, device)) {
    const int64_t zero[2] = {0, 0};
    cuda::memcpy(buffer_.raw_data(), true, zero, false, sizeof(zero));
  }
  int64_t* data() { return buffer_.data<int64_t>(); }
  // Raises the IndexError for the first bad index, if any; dims and sizes
  // name the indexed dims by the slot's dim number.
  void check(const char* op, const Shape& dims, const Shape& sizes) const {
    int64_t slot[2];
    cuda::memcpy(slot, false, buffer_.raw_data(), true, sizeof(slot));
    if (slot[0] == 0) return;
    const size_t k = size_t(slot[0] - 1);
    EMBER_FAIL(index, op, ": index ", slot[1], " is out of bounds for dimension ", dims[k],
               " with size ", sizes[k]);
  }

 private:
  Tensor buffer_;
};

int64_t read_int64(const int64_t* device_value) {
  int64_t v = 0;
  cuda::memcpy(&v, false, device_value, true, sizeof(v));
  return v;
}

}  // namespace

GatherGeometry gather_geometry(const char* op, const Tensor& data, int64_t dim,
                               const Tensor& index, const Tensor& other) {
  GatherGeometry g;
  g.numel = index.numel();
  g.dim = dim;
  g.dim_size = data.dim() == 0 ? 1 : data.size(dim);
  g.dim_stride = data.dim() == 0 ? 0 : data.stride(dim);
  const Tensor* operands[3] = {&data, &index, &other};
  int n = 0;
  for (int64_t d = 0; d < index.dim(); ++d) {
    const int64_t size = index.size(d);
    if (size == 1) continue;
    int64_t s[3];
    for (int k = 0; k < 3; ++k) s[k] = k == 0 && d == dim ? 0 : operands[k]->stride(d);
    bool merge = n > 0;
    for (int k = 0; k < 3 && merge; ++k) merge = g.strides[k][n - 1] == s[k] * size;
    if (merge) {
      g.sizes[n - 1] *= size;
      for (int k = 0; k < 3; ++k) g.strides[k][n - 1] = s[k];
      continue;
    }
    EMBER_CHECK(n < kMaxDims, op, ": the CUDA kernel indexes at most ", kMaxDims,
                " non-mergeable dimensions, got ", index.str());
    g.sizes[n] = size;
    for (int k = 0; k < 3; ++k) g.strides[k][n] = s[k];
    ++n;
  }
  g.ndim = n;
  return g;
}

void gather_raw(DType dtype, void* out, const void* input, const int64_t* index,
                const GatherGeometry& g, int64_t* error) {
  if (g.numel == 0) return;
  EMBER_DISPATCH_ALL(dtype, "gather", [&] {
    launch(gather_kernel<scalar_t>, blocks_for(g.numel), kThreads, 0, current_stream(),
           static_cast<scalar_t*>(out), static_cast<const scalar_t*>(input), index, g, error);
  });
}

void scatter_raw(DType dtype, bool accumulate, void* self, const int64_t* index, const void* src,
                 const GatherGeometry& g, int64_t* error) {
  if (g.numel == 0) return;
  EMBER_DISPATCH_ALL(dtype, accumulate ? "scatter_add" : "scatter", [&] {
    launch(scatter_kernel<scalar_t>, blocks_for(g.numel), kThreads, 0, current_stream(),
           static_cast<scalar_t*>(self), index, static_cast<const scalar_t*>(src), g,
           accumulate, error);
  });
}

void gather(const char* op, const Tensor& out, const Tensor& input, int64_t dim,
            const Tensor& index) {
  ErrorSlot error(input.device());
  GatherGeometry g = gather_geometry(op, input, dim, index, out);
  gather_raw(input.dtype(), out.raw_data(), input.raw_data(), index.data<int64_t>(), g,
             error.data());
  error.check(op, {dim}, {g.dim_size});
}

void scatter(const char* op, const Tensor& self, int64_t dim, const Tensor& index,
             const Tensor& src, bool accumulate) {
  ErrorSlot error(self.device());
  GatherGeometry g = gather_geometry(op, self, dim, index, src);
  scatter_raw(self.dtype(), accumulate, self.raw_data(), index.data<int64_t>(), src.raw_data(),
              g, error.data());
  error.check(op, {dim}, {g.dim_size});
}

IndexGeometry index_geometry(const char* op, const Tensor& indexed,
                             const std::vector<Tensor>& indices) {
  IndexGeometry g;
  g.k = int(indices.size());
  EMBER_CHECK(g.k >= 1 && g.k <= kMaxDims, op, ": the CUDA kernel takes 1 to ", kMaxDims,
              " index tensors, got ", indices.size());
  g.count = indices[0].numel();
  for (int k = 0; k < g.k; ++k) {
    g.indices[k] = indices[size_t(k)].data<int64_t>();
    g.index_sizes[k] = indexed.size(k);
    g.index_strides[k] = indexed.stride(k);
  }
  g.inner = 1;
  int n = 0;
  for (int64_t d = g.k; d < indexed.dim(); ++d) {
    const int64_t size = indexed.size(d), stride = indexed.stride(d);
    g.inner *= size;
    if (size == 1) continue;
    if (n > 0 && g.rest_strides[n - 1] == stride * size) {
      g.rest_sizes[n - 1] *= size;
      g.rest_strides[n - 1] = stride;
      continue;
    }
    EMBER_CHECK(n < kMaxDims, op, ": the CUDA kernel indexes at most ", kMaxDims,
                " non-mergeable dimensions, got ", indexed.str());
    g.rest_sizes[n] = size;
    g.rest_strides[n] = stride;
    ++n;
  }
  g.rest_ndim = n;
  return g;
}

void index_raw(DType dtype, void* out, const void* src, const IndexGeometry& g, int64_t* error) {
  const int64_t total = g.count * g.inner;
  if (total == 0) return;
  EMBER_DISPATCH_ALL(dtype, "index", [&] {
    launch(index_kernel<scalar_t>, blocks_for(total), kThreads, 0, current_stream(),
           static_cast<scalar_t*>(out), static_cast<const scalar_t*>(src), g, error);
  });
}

void index_put_raw(DType dtype, bool accumulate, void* self, const void* values,
                   const IndexGeometry& g, int64_t* error) {
  const int64_t total = g.count * g.inner;
  if (total == 0) return;
  EMBER_DISPATCH_ALL(dtype, "index_put_", [&] {
    launch(index_put_kernel<scalar_t>, blocks_for(total), kThreads, 0, current_stream(),
           static_cast<scalar_t*>(self), static_cast<const scalar_t*>(values), g, accumulate,
           error);
  });
}

void index(const Tensor& out, const Tensor& src, const std::vector<Tensor>& indices,
           const Shape& dims) {
  ErrorSlot error(src.device());
  IndexGeometry g = index_geometry("index", src, indices);
  index_raw(src.dtype(), out.raw_data(), src.raw_data(), g, error.data());
  error.check("index", dims, Shape(g.index_sizes, g.index_sizes + g.k));
}

void index_put(const Tensor& self, const std::vector<Tensor>& indices, const Tensor& values,
               bool accumulate, const Shape& dims) {
  ErrorSlot error(self.device());
  IndexGeometry g = index_geometry("index_put_", self, indices);
  index_put_raw(self.dtype(), accumulate, self.raw_data(), values.raw_data(), g, error.data());
  error.check("index_put_", dims, Shape(g.index_sizes, g.index_sizes + g.k));
}

void masked_fill_raw(DType dtype, void* self, const bool* mask, Scalar value,
                     const BinaryGeometry& g) {
  if (g.numel == 0) return;
  EMBER_DISPATCH_ALL(dtype, "masked_fill_", [&] {
    launch(masked_fill_kernel<scalar_t>, blocks_for(g.numel), kThreads, 0, current_stream(),
           static_cast<scalar_t*>(self), mask, g, value.to<scalar_t>());
  });
}

void masked_fill(const Tensor& self, const Tensor& mask, Scalar value) {
  BinaryGeometry g = binary_geometry("masked_fill_", self, mask, mask);
  masked_fill_raw(self.dtype(), self.raw_data(), mask.data<bool>(), value, g);
}

void one_hot_raw(int64_t* out, const int64_t* index, int64_t n, int64_t classes,
                 int64_t* error) {
  if (n * classes == 0) return;
  launch(one_hot_kernel, blocks_for(n * classes), kThreads, 0, current_stream(), out, index, n,
         classes, error);
}

void index_max_raw(const int64_t* index, int64_t n, int64_t* result) {
  launch(fill_min_kernel, 1, 1, 0, current_stream(), result);
  launch(index_max_kernel, blocks_for(n), kThreads, 0, current_stream(), index, n, result);
}

void one_hot(const Tensor& out, const Tensor& index) {
  ErrorSlot error(index.device());
  const int64_t classes = out.size(1);
  one_hot_raw(out.data<int64_t>(), index.data<int64_t>(), index.numel(), classes, error.data());
  int64_t slot[2];
  cuda::memcpy(slot, false, error.data(), true, sizeof(slot));
  EMBER_CHECK(slot[0] == 0, "one_hot: class value ", slot[1], " is out of range for num_classes ",
              classes);
}

int64_t index_max(const Tensor& index) {
  Tensor result = Tensor::empty({1}, DType::int64, index.device());
  index_max_raw(index.data<int64_t>(), index.numel(), result.data<int64_t>());
  return read_int64(result.data<int64_t>());
}

int64_t nonzero_blocks(int64_t n) { return ceil_div<int64_t>(n, kTile); }

void nonzero_count_raw(DType dtype, const void* x, int64_t n, int64_t* offsets) {
  const int64_t blocks = nonzero_blocks(n);
  EMBER_DISPATCH_ALL(dtype, "nonzero", [&] {
    if (blocks > 0) {
      launch(nonzero_count_kernel<scalar_t>, dim3(unsigned(blocks)), kThreads, 0,
             current_stream(), static_cast<const scalar_t*>(x), n, offsets);
    }
  });
  launch(nonzero_scan_kernel, 1, kThreads, 0, current_stream(), offsets, blocks);
}

void nonzero_write_raw(DType dtype, const void* x, int64_t n, const int64_t* offsets,
                       int64_t* out, const NonzeroShape& shape) {
  const int64_t blocks = nonzero_blocks(n);
  if (blocks == 0) return;
  EMBER_DISPATCH_ALL(dtype, "nonzero", [&] {
    launch(nonzero_write_kernel<scalar_t>, dim3(unsigned(blocks)), kThreads, 0,
           current_stream(), static_cast<const scalar_t*>(x), n, offsets, out, shape);
  });
}

Tensor nonzero(const Tensor& input) {
  EMBER_CHECK(input.dim() <= kMaxDims, "nonzero: the CUDA kernel takes at most ", kMaxDims,
              " dims, got ", input.str());
  Tensor x = input.contiguous();
  const int64_t n = x.numel(), blocks = nonzero_blocks(n);
  Tensor offsets = Tensor::empty({blocks + 1}, DType::int64, x.device());
  nonzero_count_raw(x.dtype(), x.raw_data(), n, offsets.data<int64_t>());
  const int64_t count = read_int64(offsets.data<int64_t>() + blocks);
  Tensor out = Tensor::empty({count, x.dim()}, DType::int64, x.device());
  NonzeroShape shape;
  shape.ndim = int(x.dim());
  for (int d = 0; d < shape.ndim; ++d) shape.sizes[d] = x.size(d);
  if (count > 0 && x.dim() > 0) {
    nonzero_write_raw(x.dtype(), x.raw_data(), n, offsets.data<int64_t>(), out.data<int64_t>(),
                      shape);
  }
  return out;
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
