// Device: where a tensor's memory lives ({cpu, cuda:N}), parsed from and
// printed as PyTorch-style strings.
#pragma once

#include <string>

#include "core/check.h"

namespace ember {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  Device() = default;
  Device(DeviceType t, int i = 0) : type(t), index(i) {}
  // "cpu", "cuda", "cuda:1".
  explicit Device(const std::string& spec) {
    if (spec == "cpu") return;
    if (spec.rfind("cuda", 0) == 0) {
      type = DeviceType::cuda;
      if (spec.size() == 4) return;
      EMBER_CHECK(spec[4] == ':' && spec.size() > 5, "device: cannot parse '", spec, "'");
      size_t used = 0;
      int parsed = -1;
      try {
        parsed = std::stoi(spec.substr(5), &used);
      } catch (const std::exception&) {
      }
      EMBER_CHECK(parsed >= 0 && used == spec.size() - 5, "device: cannot parse '", spec, "'");
      index = parsed;
      return;
    }
    EMBER_FAIL(value, "device: expected 'cpu', 'cuda' or 'cuda:N', got '", spec, "'");
  }

  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Thrown by an op's dispatch when a device has no kernel for it.
[[noreturn]] inline void no_kernel(const char* op, const Device& device) {
  EMBER_FAIL(not_implemented, op, ": no kernel for device ", device.str());
}

}  // namespace ember
