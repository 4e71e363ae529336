// The CUDA float16/bfloat16 GEMM kernels, compiled here as host C++ against
// the harness (the same source nvcc compiles into ember_core).
#include "cuda/gemm_wmma.cu"
