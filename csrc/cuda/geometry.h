// The CUDA kernels' conv2d and pooling geometry from the CPU kernels' shape
// structs, for ops/conv.cpp and ops/pool.cpp and the harness tests that run
// both kernels on one shape. Inline rather than in ember_core: the geometry
// structs live in kernels.h's per-build inline namespace, so the emulated
// tests (cuda::emulated) and a CPU-only or CUDA library (cuda::device) each
// need their own copy.
#pragma once

#include "cpu/conv.h"
#include "cpu/pool.h"
#include "cuda/kernels.h"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

inline Conv2dGeometry conv2d_geometry(const cpu::Conv2dShape& s) {
  Conv2dGeometry g;
  g.batch = s.batch;
  g.in_channels = s.in_channels;
  g.in_h = s.in_h;
  g.in_w = s.in_w;
  g.out_channels = s.out_channels;
  g.kernel_h = s.kernel_h;
  g.kernel_w = s.kernel_w;
  g.out_h = s.out_h;
  g.out_w = s.out_w;
  g.stride_h = s.stride_h;
  g.stride_w = s.stride_w;
  g.pad_h = s.pad_h;
  g.pad_w = s.pad_w;
  g.dilation_h = s.dilation_h;
  g.dilation_w = s.dilation_w;
  g.groups = s.groups;
  return g;
}

inline Pool2dGeometry pool2d_geometry(const cpu::Pool2dShape& s) {
  Pool2dGeometry g;
  g.planes = s.planes;
  g.in_h = s.in_h;
  g.in_w = s.in_w;
  g.out_h = s.out_h;
  g.out_w = s.out_w;
  g.kernel_h = s.kernel_h;
  g.kernel_w = s.kernel_w;
  g.stride_h = s.stride_h;
  g.stride_w = s.stride_w;
  g.pad_h = s.pad_h;
  g.pad_w = s.pad_w;
  g.dilation_h = s.dilation_h;
  g.dilation_w = s.dilation_w;
  return g;
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
