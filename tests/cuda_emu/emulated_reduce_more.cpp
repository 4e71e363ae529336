// The CUDA folds (prod, integer sum/amax/amin, max/min with index, var,
// logsumexp, norm), compiled here as host C++ against the harness.
#include "cuda/reduce_more.cu"
