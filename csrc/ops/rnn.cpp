// Fused LSTM and GRU cell entry points: shape, dtype and device checks,
// contiguous operands, output allocation, device dispatch.
#include "ops/rnn.h"

#include <string>

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

// One floating dtype and one device for every operand of a GRU cell op.
void check_same_kind(const char* op, const Tensor& t, const Tensor& h_prev) {
  EMBER_CHECK_KIND(type, t.dtype() == h_prev.dtype() && is_floating(t.dtype()), op,
                   ": expected floating operands of one dtype, got ", t.str(), " and h_prev ",
                   h_prev.str());
  EMBER_CHECK(t.device() == h_prev.device(), op, ": tensors are on different devices: ",
              t.str(), " and h_prev ", h_prev.str());
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

std::pair<Tensor, Tensor> gru_cell(const Tensor& input_gates_in, const Tensor& hidden_gates_in,
                                   const Tensor& h_prev_in) {
  const char* op = "gru_cell";
  EMBER_CHECK(h_prev_in.dim() == 2 && input_gates_in.dim() == 2 &&
                  hidden_gates_in.dim() == 2 && input_gates_in.shape() == hidden_gates_in.shape() &&
                  input_gates_in.size(0) == h_prev_in.size(0) &&
                  input_gates_in.size(1) == 3 * h_prev_in.size(1),
              op, ": expected input_gates and hidden_gates (B, 3H) and h_prev (B, H), got ",
              shape_str(input_gates_in.shape()), ", ", shape_str(hidden_gates_in.shape()),
              " and ", shape_str(h_prev_in.shape()));
  check_same_kind(op, input_gates_in, h_prev_in);
  check_same_kind(op, hidden_gates_in, h_prev_in);
  Tensor input_gates = input_gates_in.contiguous(), hidden_gates = hidden_gates_in.contiguous();
  Tensor h_prev = h_prev_in.contiguous();
  const int64_t B = h_prev.size(0), H = h_prev.size(1);
  Tensor h = Tensor::empty(h_prev.shape(), h_prev.dtype(), h_prev.device());
  Tensor workspace = Tensor::empty({B, 4 * H}, h_prev.dtype(), h_prev.device());
  switch (h_prev.device().type) {
    case DeviceType::cpu: cpu::gru_cell(h, workspace, input_gates, hidden_gates, h_prev); break;
    case DeviceType::cuda: cuda::gru_cell(h, workspace, input_gates, hidden_gates, h_prev); break;
    default: no_kernel(op, h_prev.device());
  }
  return {h, workspace};
}

std::tuple<Tensor, Tensor, Tensor> gru_cell_backward(const Tensor& grad_h_in,
                                                     const Tensor& workspace_in,
                                                     const Tensor& h_prev_in) {
  const char* op = "gru_cell_backward";
  EMBER_CHECK(h_prev_in.dim() == 2 && workspace_in.dim() == 2 &&
                  workspace_in.size(0) == h_prev_in.size(0) &&
                  workspace_in.size(1) == 4 * h_prev_in.size(1),
              op, ": expected workspace (B, 4H) and h_prev (B, H), got ",
              shape_str(workspace_in.shape()), " and ", shape_str(h_prev_in.shape()));
  check_same_kind(op, workspace_in, h_prev_in);
  EMBER_CHECK(grad_h_in.defined() && grad_h_in.shape() == h_prev_in.shape() &&
                  grad_h_in.device() == h_prev_in.device(),
              op, ": expected a gradient like h_prev ", h_prev_in.str(), ", got ",
              grad_h_in.defined() ? grad_h_in.str() : std::string("none"));
  Tensor workspace = workspace_in.contiguous(), h_prev = h_prev_in.contiguous();
  Tensor grad_h = grad_h_in.to(h_prev.dtype()).contiguous();
  const int64_t B = h_prev.size(0), H = h_prev.size(1);
  Tensor grad_input_gates = Tensor::empty({B, 3 * H}, h_prev.dtype(), h_prev.device());
  Tensor grad_hidden_gates = Tensor::empty({B, 3 * H}, h_prev.dtype(), h_prev.device());
  Tensor grad_h_prev = Tensor::empty(h_prev.shape(), h_prev.dtype(), h_prev.device());
  switch (h_prev.device().type) {
    case DeviceType::cpu:
      cpu::gru_cell_backward(grad_input_gates, grad_hidden_gates, grad_h_prev, grad_h, workspace,
                             h_prev);
      break;
    case DeviceType::cuda:
      cuda::gru_cell_backward(grad_input_gates, grad_hidden_gates, grad_h_prev, grad_h,
                              workspace, h_prev);
      break;
    default: no_kernel(op, h_prev.device());
  }
  return {grad_input_gates, grad_hidden_gates, grad_h_prev};
}

}  // namespace ember
