// CPU kernels for gathering and scattering along dims, advanced indexing,
// masked fill, one_hot and nonzero. The entry points in ops/index.cpp have
// already checked shapes and wrapped/validated every index value, so these
// kernels never see an out-of-range index.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ember {
namespace cpu {

// out[..., j, ...] = input[..., index[..., j, ...], ...] along `dim`; out has
// index's shape, index is int64.
void gather(const Tensor& out, const Tensor& input, int64_t dim, const Tensor& index);

// self[..., index[..., j, ...], ...] (+)= src[..., j, ...] along `dim`, for the
// positions of index (src may be larger). Rows are split across threads so two
// threads never write the same element.
void scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
             bool accumulate);

// out[b..., r...] = src[indices[0][b], ..., indices[k-1][b], r...]: the first
// k dims of src are indexed by k contiguous int64 tensors of one shape B; out
// is contiguous with shape B + src.shape[k:].
void index(const Tensor& out, const Tensor& src, const std::vector<Tensor>& indices);

// self[indices[0][b], ..., r...] (+)= values[b..., r...]; values is contiguous
// with shape B + self.shape[k:].
void index_put(const Tensor& self, const std::vector<Tensor>& indices, const Tensor& values,
               bool accumulate);

// self[mask] = value, mask a bool tensor of self's shape (possibly expanded).
void masked_fill(const Tensor& self, const Tensor& mask, Scalar value);

// out (int64 [N, C], zeros) gets a 1 at out[i, index[i]]; index contiguous int64.
void one_hot(const Tensor& out, const Tensor& index);

// The coordinates of the nonzero (true) elements: int64 [count, ndim].
Tensor nonzero(const Tensor& input);

}  // namespace cpu
}  // namespace ember
