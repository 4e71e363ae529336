// Tests of the FMA probe (cpu/peak.h). Timings depend on the machine and its
// load, so only properties that hold anywhere are asserted: a positive finite
// rate for every ISA, below any conceivable per-core limit. How the rate
// compares between ISAs is a measurement (bench/hardware.py), not a test.
#include <gtest/gtest.h>

#include <cmath>

#include "cpu/peak.h"

namespace ember {
namespace {

using cpu::vec::Isa;

// Far above any x86 core (2 x 512-bit FMA at 6 GHz is 384 GFLOP/s).
constexpr double kImplausiblePerThread = 2000.0;

TEST(FmaPeak, PositiveAndPlausibleOnEveryIsa) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (!cpu::vec::isa_supported(isa)) continue;
    for (int threads : {1, 2}) {
      const double gflops = cpu::fma_peak_gflops(threads, 0.02, isa);
      EXPECT_TRUE(std::isfinite(gflops)) << int(isa);
      EXPECT_GT(gflops, 0.0) << int(isa);
      EXPECT_LT(gflops, kImplausiblePerThread * threads) << int(isa);
    }
  }
}

TEST(FmaPeak, UnsupportedIsaFallsBackAndZeroThreadsMeansOne) {
  EXPECT_GT(cpu::fma_peak_gflops(0, 0.01), 0.0);
  EXPECT_GT(cpu::fma_peak_gflops(1, 0.01, Isa::avx512), 0.0);
}

}  // namespace
}  // namespace ember
