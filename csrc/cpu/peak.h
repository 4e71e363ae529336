// A measured FP32 FMA ceiling: the nominal clock in /proc/cpuinfo understates
// the turbo clock the cores actually run at, so the benchmarks' compute limit
// is taken from a probe that keeps the FMA pipes busy instead.
#pragma once

#include "cpu/vec_math.h"

namespace ember {
namespace cpu {

// FP32 GFLOP/s (an FMA counts as two FLOP) of `threads` threads, each running
// independent FMA chains held in registers for about `seconds`, with the
// vector width of `isa` (SSE2 has no FMA: a multiply and an add instead).
double fma_peak_gflops(int threads, double seconds, vec::Isa isa = vec::best_isa());

}  // namespace cpu
}  // namespace ember
