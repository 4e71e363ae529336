// Strided iteration for elementwise kernels: N operands of one shape (the
// caller expands broadcast inputs first), dims of size 1 dropped and adjacent
// dims merged where every operand allows it, then the elements walked as 1-D
// runs of the innermost dim, split across threads for large tensors.
//
//   for_each_run<2>({out, in}, [](char** p, const int64_t* stride, int64_t n) {
//     ... p[k] points at operand k's first element of the run, stride[k] is
//     its step in bytes; all strides == sizeof(T) marks a contiguous run ...
//   });
#pragma once

#include <array>
#include <cstdint>

#include "core/parallel.h"
#include "core/tensor.h"

namespace ember {

template <size_t N>
struct StridedLayout {
  int64_t ndim = 0;
  Shape shape;                          // coalesced, innermost last
  std::array<Shape, N> byte_strides;    // per operand, per coalesced dim
  std::array<char*, N> base;

  explicit StridedLayout(const std::array<Tensor, N>& operands) {
    const Shape& full = operands[0].shape();
    for (size_t k = 0; k < N; ++k) base[k] = static_cast<char*>(operands[k].raw_data());
    for (size_t d = 0; d < full.size(); ++d) {
      if (full[d] == 1) continue;
      bool merge = !shape.empty();
      for (size_t k = 0; k < N && merge; ++k) {
        int64_t s = operands[k].stride(d) * int64_t(operands[k].element_size());
        merge = byte_strides[k].back() == s * full[d];
      }
      if (merge) {
        shape.back() *= full[d];
        for (size_t k = 0; k < N; ++k)
          byte_strides[k].back() = operands[k].stride(d) * int64_t(operands[k].element_size());
      } else {
        shape.push_back(full[d]);
        for (size_t k = 0; k < N; ++k)
          byte_strides[k].push_back(operands[k].stride(d) * int64_t(operands[k].element_size()));
      }
    }
    if (shape.empty()) {
      shape.push_back(1);
      for (size_t k = 0; k < N; ++k) byte_strides[k].push_back(0);
    }
    ndim = static_cast<int64_t>(shape.size());
  }

  // Visits the linear element range [begin, end) as runs along the last dim.
  template <typename Loop>
  void run_range(int64_t begin, int64_t end, const Loop& loop) const {
    int64_t inner = shape[ndim - 1];
    Shape index(ndim, 0);
    int64_t rest = begin;
    for (int64_t d = ndim - 1; d >= 0; --d) {
      index[d] = rest % shape[d];
      rest /= shape[d];
    }
    std::array<int64_t, N> inner_stride;
    for (size_t k = 0; k < N; ++k) inner_stride[k] = byte_strides[k][ndim - 1];
    int64_t pos = begin;
    while (pos < end) {
      std::array<char*, N> ptr;
      for (size_t k = 0; k < N; ++k) {
        char* p = base[k];
        for (int64_t d = 0; d < ndim; ++d) p += index[d] * byte_strides[k][d];
        ptr[k] = p;
      }
      int64_t n = std::min(inner - index[ndim - 1], end - pos);
      loop(ptr.data(), inner_stride.data(), n);
      pos += n;
      index[ndim - 1] += n;
      for (int64_t d = ndim - 1; d > 0 && index[d] == shape[d]; --d) {
        index[d] = 0;
        index[d - 1]++;
      }
    }
  }
};

template <size_t N, typename Loop>
void for_each_run(const std::array<Tensor, N>& operands, const Loop& loop,
                  int64_t grain = kParallelGrain) {
  int64_t numel = operands[0].numel();
  if (numel == 0) return;
  StridedLayout<N> layout(operands);
  parallel_for(0, numel, grain, [&](int64_t begin, int64_t end) { layout.run_range(begin, end, loop); });
}

// True when every stride of the run equals the element size (a plain array).
template <size_t N>
inline bool run_is_contiguous(const int64_t* stride, const std::array<int64_t, N>& sizes) {
  for (size_t k = 0; k < N; ++k)
    if (stride[k] != sizes[k]) return false;
  return true;
}

}  // namespace ember
