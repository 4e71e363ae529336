// Fused LSTM cell entry points: shape, dtype and device checks, contiguous
// operands, output allocation, device dispatch.
#include "ops/rnn.h"

#include "cpu/rnn.h"
#include "cuda/kernels.h"

namespace ember {
namespace {

void check_operands(const char* op, const Tensor& gates, const Tensor& c_prev) {
  EMBER_CHECK(gates.dim() == 2 && c_prev.dim() == 2 && gates.size(0) == c_prev.size(0) &&
                  gates.size(1) == 4 * c_prev.size(1),
              op, ": expected gates (B, 4H) and c_prev (B, H), got ", shape_str(gates.shape()),
              " and ", shape_str(c_prev.shape()));
  EMBER_CHECK_KIND(type, gates.dtype() == c_prev.dtype() && is_floating(gates.dtype()), op,
                   ": expected floating gates and c_prev of one dtype, got ", gates.str(),
                   " and ", c_prev.str());
  EMBER_CHECK(gates.device() == c_prev.device(), op, ": tensors are on different devices: ",
              gates.str(), " and ", c_prev.str());
}

Tensor contiguous_like(const char* op, const Tensor& t, const Tensor& c_prev) {
  if (!t.defined()) return t;
  EMBER_CHECK(t.shape() == c_prev.shape() && t.device() == c_prev.device(), op,
              ": expected a gradient like c_prev ", c_prev.str(), ", got ", t.str());
  return t.to(c_prev.dtype()).contiguous();
}

}  // namespace

std::pair<Tensor, Tensor> lstm_cell(const Tensor& gates_in, const Tensor& c_prev_in) {
  check_operands("lstm_cell", gates_in, c_prev_in);
  Tensor gates = gates_in.contiguous(), c_prev = c_prev_in.contiguous();
  Tensor h = Tensor::empty(c_prev.shape(), c_prev.dtype(), c_prev.device());
  Tensor c = Tensor::empty(c_prev.shape(), c_prev.dtype(), c_prev.device());
  switch (gates.device().type) {
    case DeviceType::cpu: cpu::lstm_cell(h, c, gates, c_prev); break;
    case DeviceType::cuda: cuda::lstm_cell(h, c, gates, c_prev); break;
    default: no_kernel("lstm_cell", gates.device());
  }
  return {h, c};
}

std::pair<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_h_in, const Tensor& grad_c_in,
                                             const Tensor& gates_in, const Tensor& c_prev_in) {
  const char* op = "lstm_cell_backward";
  check_operands(op, gates_in, c_prev_in);
  Tensor gates = gates_in.contiguous(), c_prev = c_prev_in.contiguous();
  Tensor grad_h = contiguous_like(op, grad_h_in, c_prev);
  Tensor grad_c = contiguous_like(op, grad_c_in, c_prev);
  Tensor grad_gates = Tensor::empty(gates.shape(), gates.dtype(), gates.device());
  Tensor grad_c_prev = Tensor::empty(c_prev.shape(), c_prev.dtype(), c_prev.device());
  switch (gates.device().type) {
    case DeviceType::cpu:
      cpu::lstm_cell_backward(grad_gates, grad_c_prev, grad_h, grad_c, gates, c_prev);
      break;
    case DeviceType::cuda:
      cuda::lstm_cell_backward(grad_gates, grad_c_prev, grad_h, grad_c, gates, c_prev);
      break;
    default: no_kernel(op, gates.device());
  }
  return {grad_gates, grad_c_prev};
}

}  // namespace ember
