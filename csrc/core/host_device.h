// EMBER_HOST_DEVICE marks a function that both the CPU code and the CUDA
// kernels call: __host__ __device__ under nvcc, plain inline for g++ (and for
// the CUDA-on-CPU harness, which compiles the kernels as host C++).
#pragma once

#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif
