// With EMBER_EMU_KERNEL_LOG=<file>, appends one line per kernel each test
// launched: "<Suite.Test>\t<object file>\t<offset of the kernel in it>".
// bench/gpu/coverage.py turns the offsets into kernel names (nm) to show which
// emulated test runs each CUDA kernel, and which kernel none does.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cuda_emu.h"

namespace {

class KernelLog : public ::testing::EmptyTestEventListener {
 public:
  explicit KernelLog(std::FILE* file) : file_(file) {}

  void OnTestStart(const ::testing::TestInfo&) override { cuda_emu::take_launched(); }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    const std::string test = std::string(info.test_suite_name()) + "." + info.name();
    for (const void* kernel : cuda_emu::take_launched()) {
      Dl_info where{};
      if (dladdr(kernel, &where) == 0 || where.dli_fname == nullptr) continue;
      const auto offset = reinterpret_cast<std::uintptr_t>(kernel) -
                          reinterpret_cast<std::uintptr_t>(where.dli_fbase);
      std::fprintf(file_, "%s\t%s\t%#jx\n", test.c_str(), where.dli_fname, std::uintmax_t(offset));
    }
    std::fflush(file_);
  }

 private:
  std::FILE* file_;
};

const bool kRegistered = [] {
  const char* path = std::getenv("EMBER_EMU_KERNEL_LOG");
  if (path == nullptr || *path == '\0') return false;
  std::FILE* file = std::fopen(path, "a");
  if (file == nullptr) return false;
  ::testing::UnitTest::GetInstance()->listeners().Append(new KernelLog(file));
  return true;
}();

}  // namespace
