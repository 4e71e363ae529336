// The CUDA comparison, where, clamp and exact unary kernels, compiled here as host C++
// against the harness (the same source nvcc compiles into ember_core).
#include "cuda/compare.cu"
