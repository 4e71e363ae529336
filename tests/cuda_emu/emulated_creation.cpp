// The CUDA creation kernels, compiled here as host C++ against the harness
// (the same source nvcc compiles into ember_core).
#include "cuda/creation.cu"
