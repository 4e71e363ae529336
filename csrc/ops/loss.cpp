// Loss entry points: argument checks, the (N, C, D) view of class inputs,
// reductions, device dispatch.
#include "ops/loss.h"

#include <array>

#include "cpu/loss.h"
#include "cuda/kernels.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace ember {

namespace {

// The (N, C, D) view of a class-dim input: (C) -> (1, C, 1), (N, C, d...) -> (N, C, prod d).
struct ClassLayout {
  int64_t N = 1, C = 0, D = 1;
  Shape sample_shape;  // the shape of class-index targets and of 'none' losses
};

ClassLayout class_layout(const char* op, const Tensor& input) {
  EMBER_CHECK_KIND(type, is_floating(input.dtype()), op,
                   ": expected a floating-point input, got ", input.str());
  EMBER_CHECK(input.dim() >= 1, op, ": expected input of shape (C) or (N, C, d1, ...), got ",
              shape_str(input.shape()));
  ClassLayout L;
  if (input.dim() == 1) {
    L.C = input.size(0);
    return L;
  }
  L.N = input.size(0);
  L.C = input.size(1);
  for (int64_t d = 2; d < input.dim(); ++d) L.D *= input.size(d);
  L.sample_shape = input.shape();
  L.sample_shape.erase(L.sample_shape.begin() + 1);
  return L;
}

// Class-index targets as contiguous int64 (N, D); false for probability targets.
bool class_targets(const char* op, const Tensor& input, const Tensor& target,
                   const ClassLayout& L) {
  EMBER_CHECK(target.device() == input.device(), op, ": target is on ", target.device().str(),
              " but input is on ", input.device().str());
  if (is_floating(target.dtype())) {
    EMBER_CHECK(target.shape() == input.shape(), op, ": probability target of shape ",
                shape_str(target.shape()), " doesn't match input of shape ",
                shape_str(input.shape()));
    EMBER_CHECK_KIND(type, target.dtype() == input.dtype(), op, ": target has dtype ",
                     dtype_name(target.dtype()), " but input has dtype ",
                     dtype_name(input.dtype()));
    return false;
  }
  EMBER_CHECK_KIND(type, is_integral(target.dtype()), op,
                   ": expected int64 class indices or float probabilities as target, got ",
                   target.str());
  EMBER_CHECK(target.shape() == L.sample_shape, op, ": expected target of shape ",
              shape_str(L.sample_shape), " for input of shape ", shape_str(input.shape()),
              ", got ", shape_str(target.shape()));
  return true;
}

Tensor class_weight(const char* op, const OptionalTensor& weight, const Tensor& input,
                    int64_t C) {
  if (!weight) return Tensor();
  const Tensor& w = *weight;
  EMBER_CHECK(w.device() == input.device(), op, ": weight is on ", w.device().str(),
              " but input is on ", input.device().str());
  EMBER_CHECK_KIND(type, w.dtype() == input.dtype(), op, ": weight has dtype ",
                   dtype_name(w.dtype()), " but input has dtype ", dtype_name(input.dtype()));
  EMBER_CHECK(w.dim() == 1 && w.size(0) == C, op, ": expected weight of shape [", C,
              "] (one per class), got ", shape_str(w.shape()));
  return w;
}

Tensor as_samples(const Tensor& t, const ClassLayout& L) {
  return t.to(DType::int64).contiguous().reshape({L.N, L.D});
}

Tensor reduce(const Tensor& loss, Reduction reduction, const Tensor& denominator) {
  switch (reduction) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss, {}, false);
    case Reduction::mean: return div(sum(loss, {}, false), denominator);
  }
  return loss;
}

// The gradient of each per-sample loss, viewed as `shape` (the 'none' loss shape).
Tensor per_sample_grad(const char* op, const Tensor& grad, const Tensor& denominator,
                       Reduction reduction, const Shape& shape, const Shape& view) {
  if (reduction == Reduction::none) {
    EMBER_CHECK(grad.shape() == shape, op, ": grad of shape ", shape_str(grad.shape()),
                " doesn't match the loss shape ", shape_str(shape));
    return grad.reshape(view);
  }
  EMBER_CHECK(grad.dim() == 0, op, ": expected a 0-d grad for a reduced loss, got ",
              shape_str(grad.shape()));
  Tensor g = reduction == Reduction::mean ? div(grad, denominator) : grad;
  return g.reshape(Shape(view.size(), 1)).expand(view);
}

void check_smoothing(const char* op, double label_smoothing) {
  EMBER_CHECK(label_smoothing >= 0 && label_smoothing <= 1, op,
              ": label_smoothing must be between 0.0 and 1.0, got ", label_smoothing);
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> cross_entropy(const Tensor& input, const Tensor& target,
                                                 const OptionalTensor& weight, int64_t ignore_index,
                                                 double label_smoothing, Reduction reduction) {
  const char* op = "cross_entropy";
  ClassLayout L = class_layout(op, input);
  check_smoothing(op, label_smoothing);
  bool indices = class_targets(op, input, target, L);
  Tensor w = class_weight(op, weight, input, L.C);
  Tensor x = input.contiguous().reshape({L.N, L.C, L.D});
  Tensor loss = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
  Tensor lse = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
  Tensor total;
  switch (input.device().type) {
    case DeviceType::cpu:
      if (indices) {
        Tensor t = as_samples(target, L);
        cpu::check_class_targets(op, t, L.C, ignore_index);
        Tensor sample_weight = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
        cpu::cross_entropy(loss, lse, sample_weight, x, t, w, ignore_index, label_smoothing);
        total = sum(sample_weight, {}, false);
      } else {
        cpu::cross_entropy_probs(loss, lse, x, target.contiguous().reshape({L.N, L.C, L.D}), w,
                                 label_smoothing);
        total = Tensor::full({}, double(L.N * L.D), input.dtype(), input.device());
      }
      break;
    case DeviceType::cuda:
      // Targets are range-checked by the kernel itself (a device flag read
      // back after it), so they are never copied to the host on the way.
      if (indices) {
        Tensor sample_weight = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
        cuda::cross_entropy(loss, lse, sample_weight, x, as_samples(target, L), w, ignore_index,
                            label_smoothing);
        total = sum(sample_weight, {}, false);
      } else {
        cuda::cross_entropy_probs(loss, lse, x, target.contiguous().reshape({L.N, L.C, L.D}), w,
                                  label_smoothing);
        total = Tensor::full({}, double(L.N * L.D), input.dtype(), input.device());
      }
      break;
    default: no_kernel(op, input.device());
  }
  return {reduce(loss.reshape(L.sample_shape), reduction, total), lse, total};
}

Tensor cross_entropy_backward(const Tensor& grad, const Tensor& input, const Tensor& target,
                              const OptionalTensor& weight, const Tensor& logsumexp,
                              const Tensor& total_weight, int64_t ignore_index,
                              double label_smoothing, Reduction reduction) {
  const char* op = "cross_entropy_backward";
  ClassLayout L = class_layout(op, input);
  check_smoothing(op, label_smoothing);
  bool indices = class_targets(op, input, target, L);
  Tensor w = class_weight(op, weight, input, L.C);
  EMBER_CHECK(logsumexp.shape() == Shape({L.N, L.D}), op, ": logsumexp of shape ",
              shape_str(logsumexp.shape()), " doesn't match input of shape ",
              shape_str(input.shape()));
  Tensor g = per_sample_grad(op, grad, total_weight, reduction, L.sample_shape, {L.N, L.D});
  Tensor x = input.contiguous().reshape({L.N, L.C, L.D});
  Tensor grad_input = Tensor::empty({L.N, L.C, L.D}, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      if (indices) {
        Tensor t = as_samples(target, L);
        cpu::check_class_targets(op, t, L.C, ignore_index);
        cpu::cross_entropy_backward(grad_input, g, x, t, w, logsumexp.contiguous(), ignore_index,
                                    label_smoothing);
      } else {
        cpu::cross_entropy_probs_backward(grad_input, g, x,
                                          target.contiguous().reshape({L.N, L.C, L.D}), w,
                                          logsumexp.contiguous(), label_smoothing);
      }
      break;
    case DeviceType::cuda:
      if (indices) {
        cuda::cross_entropy_backward(grad_input, g, x, as_samples(target, L), w,
                                     logsumexp.contiguous(), ignore_index, label_smoothing);
      } else {
        cuda::cross_entropy_probs_backward(grad_input, g, x,
                                           target.contiguous().reshape({L.N, L.C, L.D}), w,
                                           logsumexp.contiguous(), label_smoothing);
      }
      break;
    default: no_kernel(op, input.device());
  }
  return grad_input.reshape(input.shape());
}

std::tuple<Tensor, Tensor> nll_loss(const Tensor& input, const Tensor& target,
                                    const OptionalTensor& weight, int64_t ignore_index,
                                    Reduction reduction) {
  const char* op = "nll_loss";
  ClassLayout L = class_layout(op, input);
  EMBER_CHECK_KIND(type, !is_floating(target.dtype()), op,
                   ": expected int64 class indices as target, got ", target.str());
  class_targets(op, input, target, L);
  Tensor w = class_weight(op, weight, input, L.C);
  Tensor loss = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
  Tensor total;
  switch (input.device().type) {
    case DeviceType::cpu: {
      Tensor t = as_samples(target, L);
      cpu::check_class_targets(op, t, L.C, ignore_index);
      Tensor sample_weight = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
      cpu::nll_loss(loss, sample_weight, input.contiguous().reshape({L.N, L.C, L.D}), t, w,
                    ignore_index);
      total = sum(sample_weight, {}, false);
      break;
    }
    case DeviceType::cuda: {
      Tensor sample_weight = Tensor::empty({L.N, L.D}, input.dtype(), input.device());
      cuda::nll_loss(loss, sample_weight, input.contiguous().reshape({L.N, L.C, L.D}),
                     as_samples(target, L), w, ignore_index);
      total = sum(sample_weight, {}, false);
      break;
    }
    default: no_kernel(op, input.device());
  }
  return {reduce(loss.reshape(L.sample_shape), reduction, total), total};
}

Tensor nll_loss_backward(const Tensor& grad, const Tensor& input, const Tensor& target,
                         const OptionalTensor& weight, const Tensor& total_weight,
                         int64_t ignore_index, Reduction reduction) {
  const char* op = "nll_loss_backward";
  ClassLayout L = class_layout(op, input);
  EMBER_CHECK_KIND(type, !is_floating(target.dtype()), op,
                   ": expected int64 class indices as target, got ", target.str());
  class_targets(op, input, target, L);
  Tensor w = class_weight(op, weight, input, L.C);
  Tensor g = per_sample_grad(op, grad, total_weight, reduction, L.sample_shape, {L.N, L.D});
  Tensor grad_input = Tensor::zeros({L.N, L.C, L.D}, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu: {
      Tensor t = as_samples(target, L);
      cpu::check_class_targets(op, t, L.C, ignore_index);
      cpu::nll_loss_backward(grad_input, g, t, w, ignore_index);
      break;
    }
    case DeviceType::cuda:
      cuda::nll_loss_backward(grad_input, g, as_samples(target, L), w, ignore_index);
      break;
    default: no_kernel(op, input.device());
  }
  return grad_input.reshape(input.shape());
}

namespace {

const char* pointwise_name(PointwiseLoss kind) {
  switch (kind) {
    case PointwiseLoss::mse: return "mse_loss";
    case PointwiseLoss::l1: return "l1_loss";
    case PointwiseLoss::smooth_l1: return "smooth_l1_loss";
    case PointwiseLoss::binary_cross_entropy: return "binary_cross_entropy";
    case PointwiseLoss::binary_cross_entropy_with_logits:
      return "binary_cross_entropy_with_logits";
  }
  return "loss";
}

// Checks the operands and returns them expanded to the loss shape; absent
// weights become ones.
std::array<Tensor, 4> pointwise_operands(PointwiseLoss kind, const Tensor& input,
                                         const Tensor& target, const OptionalTensor& weight,
                                         const OptionalTensor& pos_weight, double beta) {
  const char* op = pointwise_name(kind);
  EMBER_CHECK_KIND(type, is_floating(input.dtype()), op,
                   ": expected a floating-point input, got ", input.str());
  EMBER_CHECK_KIND(type, target.dtype() == input.dtype(), op, ": target ", target.str(),
                   " must have the dtype of input ", input.str());
  EMBER_CHECK(target.device() == input.device(), op, ": target is on ", target.device().str(),
              " but input is on ", input.device().str());
  if (kind == PointwiseLoss::binary_cross_entropy) {
    EMBER_CHECK(target.shape() == input.shape(), op, ": target of shape ",
                shape_str(target.shape()), " must have the shape of input ",
                shape_str(input.shape()));
  }
  if (kind == PointwiseLoss::smooth_l1) {
    EMBER_CHECK(beta >= 0, op, ": beta must be >= 0, got ", beta);
  }
  Shape shape = broadcast_shapes(input.shape(), target.shape(), op);
  auto optional_operand = [&](const OptionalTensor& t, const char* name) {
    if (!t) return Tensor::ones({}, input.dtype(), input.device()).expand(shape);
    EMBER_CHECK(t->device() == input.device(), op, ": ", name, " is on ", t->device().str(),
                " but input is on ", input.device().str());
    EMBER_CHECK_KIND(type, t->dtype() == input.dtype(), op, ": ", name, " has dtype ",
                     dtype_name(t->dtype()), " but input has dtype ", dtype_name(input.dtype()));
    Shape joint = broadcast_shapes(shape, t->shape(), op);
    EMBER_CHECK(joint == shape, op, ": ", name, " of shape ", shape_str(t->shape()),
                " doesn't broadcast to the loss shape ", shape_str(shape));
    return t->expand(shape);
  };
  const bool weighted = kind == PointwiseLoss::binary_cross_entropy ||
                        kind == PointwiseLoss::binary_cross_entropy_with_logits;
  EMBER_CHECK(weighted || !weight, op, ": takes no weight");
  EMBER_CHECK(kind == PointwiseLoss::binary_cross_entropy_with_logits || !pos_weight, op,
              ": takes no pos_weight");
  return {input.expand(shape), target.expand(shape), optional_operand(weight, "weight"),
          optional_operand(pos_weight, "pos_weight")};
}

}  // namespace

Tensor pointwise_loss(PointwiseLoss kind, const Tensor& input, const Tensor& target,
                      const OptionalTensor& weight, const OptionalTensor& pos_weight, double beta,
                      Reduction reduction) {
  const char* op = pointwise_name(kind);
  auto operands = pointwise_operands(kind, input, target, weight, pos_weight, beta);
  const Tensor& x = operands[0];
  Tensor loss = Tensor::empty(x.shape(), input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      if (kind == PointwiseLoss::binary_cross_entropy) cpu::check_probabilities(op, input);
      cpu::pointwise_loss(kind, loss, x, operands[1], operands[2], operands[3], beta);
      break;
    case DeviceType::cuda:
      // binary_cross_entropy's [0, 1] check is made by the loss kernel.
      if (reduction != Reduction::none) {
        // The sum or mean comes out of the loss kernel itself.
        Tensor reduced = Tensor::empty({}, input.dtype(), input.device());
        cuda::pointwise_loss(kind, reduced, x, operands[1], operands[2], operands[3], beta,
                             reduction);
        return reduced;
      }
      cuda::pointwise_loss(kind, loss, x, operands[1], operands[2], operands[3], beta,
                           Reduction::none);
      break;
    default: no_kernel(op, input.device());
  }
  Tensor count = Tensor::full({}, double(loss.numel()), loss.dtype(), loss.device());
  return reduce(loss, reduction, count);
}

std::tuple<Tensor, Tensor> pointwise_loss_backward(PointwiseLoss kind, const Tensor& grad,
                                                   const Tensor& input, const Tensor& target,
                                                   const OptionalTensor& weight,
                                                   const OptionalTensor& pos_weight, double beta,
                                                   Reduction reduction) {
  const char* op = pointwise_name(kind);
  auto operands = pointwise_operands(kind, input, target, weight, pos_weight, beta);
  const Shape& shape = operands[0].shape();
  Tensor count = Tensor::full({}, double(checked_numel(shape, op)), input.dtype(), input.device());
  EMBER_CHECK(grad.dtype() == input.dtype() && grad.device() == input.device(), op,
              ": grad ", grad.str(), " doesn't match input ", input.str());
  Tensor g = per_sample_grad(op, grad, count, reduction, shape, shape);
  Tensor grad_input = Tensor::empty(shape, input.dtype(), input.device());
  Tensor grad_target = Tensor::empty(shape, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::pointwise_loss_backward(kind, grad_input, grad_target, g, operands[0], operands[1],
                                   operands[2], operands[3], beta);
      break;
    case DeviceType::cuda:
      cuda::pointwise_loss_backward(kind, grad_input, grad_target, g, operands[0], operands[1],
                                    operands[2], operands[3], beta);
      break;
    default: no_kernel(op, input.device());
  }
  return {grad_input, grad_target};
}

}  // namespace ember
