// The CUDA layer and group norm kernels, compiled here as host C++ against
// the harness (the same source nvcc compiles into ember_core).
#include "cuda/norm_layer.cu"
