"""matmul, mm, bmm, dot and F.linear: forward against numpy, gradients by
gradcheck (double backward too), PyTorch comparisons, and bad inputs."""

import numpy as np
import pytest
from op_check import check_op, rand

import ember as em
import ember.nn.functional as F

MATMUL_SHAPES = [
    ((7,), (7,)),
    ((1,), (1,)),
    ((7,), (7, 3)),
    ((5, 7), (7,)),
    ((1, 1), (1, 1)),
    ((5, 7), (7, 3)),
    ((3, 5, 7), (7,)),
    ((7,), (2, 7, 3)),
    ((2, 1, 5, 7), (3, 7, 4)),   # batch dims broadcast on the left operand
    ((5, 7), (2, 3, 7, 4)),      # ... and on the right
    ((5, 1, 3), (2, 1, 3, 2)),
    ((0, 5, 7), (7, 3)),
    ((5, 0), (0, 3)),
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES)
def test_matmul(shape_a, shape_b, device):
    check_op(em.matmul, np.matmul, rand(*shape_a), rand(*shape_b), device=device)


def test_matmul_operator_and_method(device):
    a, b = rand(4, 6), rand(6, 3)
    check_op(lambda x, y: x @ y, np.matmul, a, b, device=device)
    check_op(lambda x, y: x.matmul(y), np.matmul, a, b, device=device)


def test_matmul_crosses_gemm_blocks(device):
    # Larger than the kernel's cache blocks in every dim, transposed operands.
    a, b = rand(131, 401), rand(389, 401)
    check_op(lambda x, y: em.matmul(x, y.t()), lambda x, y: x @ y.T, a, b, grad=False,
             atol=1e-4, device=device)


@pytest.mark.parametrize("shape_a,shape_b", [((1, 1), (1, 1)), ((7, 33), (33, 5)), ((0, 3), (3, 2))])
def test_mm(shape_a, shape_b, device):
    check_op(em.mm, np.matmul, rand(*shape_a), rand(*shape_b), device=device)
    check_op(lambda x, y: x.mm(y), np.matmul, rand(*shape_a), rand(*shape_b), grad=False, device=device)


@pytest.mark.parametrize("shape_a,shape_b", [((1, 1, 1), (1, 1, 1)), ((3, 7, 5), (3, 5, 2)),
                                             ((0, 2, 3), (0, 3, 4))])
def test_bmm(shape_a, shape_b, device):
    check_op(em.bmm, np.matmul, rand(*shape_a), rand(*shape_b), device=device)
    check_op(lambda x, y: x.bmm(y), np.matmul, rand(*shape_a), rand(*shape_b), grad=False, device=device)


@pytest.mark.parametrize("n", [0, 1, 7, 129])
def test_dot(n, device):
    check_op(em.dot, np.dot, rand(n), rand(n), device=device)
    check_op(lambda x, y: x.dot(y), np.dot, rand(n), rand(n), grad=False, device=device)


@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 3, 5), (1, 1, 1, 5)])
def test_linear(x_shape, device):
    w, b = rand(3, 5), rand(3)
    check_op(F.linear, lambda x, w, b: x @ w.T + b, rand(*x_shape), w, b, device=device)
    check_op(F.linear, lambda x, w: x @ w.T, rand(*x_shape), w, device=device)


@pytest.mark.parametrize("bias_shape", [(1,), ()])
@pytest.mark.parametrize("x_shape", [(5,), (2, 4, 5)])
def test_linear_one_element_bias(x_shape, bias_shape, device):
    """A one-element bias broadcasts over every output feature; its gradient sums them all."""
    w, b = rand(3, 5), rand(*bias_shape)
    check_op(F.linear, lambda x, w, b: x @ w.T + b, rand(*x_shape), w, b, device=device)


def test_linear_double_backward(device):
    x = em.tensor(rand(4, 5), device=device, requires_grad=True)
    w = em.tensor(rand(3, 5), device=device, requires_grad=True)
    b = em.tensor(rand(3), device=device, requires_grad=True)
    assert em.autograd.gradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))
    assert em.autograd.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))


@pytest.mark.parametrize("shape_a,shape_b", [((3, 4), (2, 4, 5)), ((4,), (4, 2)), ((4,), (4,))])
def test_matmul_double_backward(shape_a, shape_b, device):
    a = em.tensor(rand(*shape_a), requires_grad=True, device=device)
    b = em.tensor(rand(*shape_b), requires_grad=True, device=device)
    em.autograd.gradgradcheck(em.matmul, (a, b))


def test_mm_bmm_dot_double_backward(device):
    em.autograd.gradgradcheck(em.mm, (em.tensor(rand(3, 4), requires_grad=True, device=device),
                                      em.tensor(rand(4, 2), requires_grad=True, device=device)))
    em.autograd.gradgradcheck(em.bmm, (em.tensor(rand(2, 3, 4), requires_grad=True, device=device),
                                       em.tensor(rand(2, 4, 2), requires_grad=True, device=device)))
    em.autograd.gradgradcheck(em.dot, (em.tensor(rand(5), requires_grad=True, device=device),
                                       em.tensor(rand(5), requires_grad=True, device=device)))


def test_against_torch(device):
    torch = pytest.importorskip("torch")
    cases = [((2, 1, 5, 7), (3, 7, 4)), ((7,), (2, 7, 3)), ((3, 5, 7), (7,)), ((6,), (6,))]
    for sa, sb in cases:
        a, b = rand(*sa).astype(np.float32), rand(*sb).astype(np.float32)
        ea = em.tensor(a, requires_grad=True, device=device)
        eb = em.tensor(b, requires_grad=True, device=device)
        ta = torch.tensor(a, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        out, tout = em.matmul(ea, eb), torch.matmul(ta, tb)
        np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().cpu().numpy(), rtol=1e-5,
                                   atol=1e-5)
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(ea.grad.cpu().numpy(), ta.grad.cpu().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(eb.grad.cpu().numpy(), tb.grad.cpu().numpy(), rtol=1e-5, atol=1e-5)
    x, w, b = rand(4, 2, 5), rand(3, 5), rand(3)
    np.testing.assert_allclose(
        F.linear(em.tensor(x, device=device), em.tensor(w, device=device), em.tensor(b, device=device)).cpu().numpy(),
        torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)).cpu().numpy(),
        rtol=1e-12)
    a, b = rand(3, 4, 5), rand(3, 5, 2)
    np.testing.assert_allclose(em.bmm(em.tensor(a, device=device), em.tensor(b, device=device)).cpu().numpy(),
                               torch.bmm(torch.tensor(a), torch.tensor(b)).cpu().numpy(), rtol=1e-12)
    a, b = rand(9), rand(9)
    np.testing.assert_allclose(em.dot(em.tensor(a, device=device), em.tensor(b, device=device)).cpu().numpy(),
                               torch.dot(torch.tensor(a), torch.tensor(b)).cpu().numpy(), rtol=1e-12)


def _t(*shape, dtype=em.float32):
    return em.zeros(*shape, dtype=dtype)


def test_matmul_bad_inputs():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions.*\[2, 3\].*\[4, 5\]"):
        em.matmul(_t(2, 3), _t(4, 5))
    with pytest.raises(ValueError, match=r"matmul: .*\[3\].*\[4\]"):
        em.matmul(_t(3), _t(4))
    with pytest.raises(ValueError, match="matmul"):
        em.matmul(_t(2, 3, 4), _t(5, 4, 2))  # batch dims don't broadcast
    with pytest.raises(ValueError, match="matmul"):
        em.matmul(em.tensor(1.0), _t(3))
    with pytest.raises(TypeError, match="matmul.*dtype"):
        em.matmul(_t(2, 2), _t(2, 2, dtype=em.float64))
    with pytest.raises(TypeError, match="matmul.*int64"):
        em.matmul(_t(2, 2, dtype=em.int64), _t(2, 2, dtype=em.int64))
    with pytest.raises(TypeError, match="matmul"):
        em.matmul(_t(2, 2), [[1.0, 0.0], [0.0, 1.0]])


def test_mm_bmm_dot_bad_inputs():
    with pytest.raises(ValueError, match=r"mm: expected 2-D.*\[2, 3, 4\]"):
        em.mm(_t(2, 3, 4), _t(4, 5))
    with pytest.raises(ValueError, match=r"mm: inner dimensions.*\[2, 3\].*\[4, 5\]"):
        em.mm(_t(2, 3), _t(4, 5))
    with pytest.raises(ValueError, match="bmm: expected 3-D"):
        em.bmm(_t(3, 4), _t(4, 5))
    with pytest.raises(ValueError, match="bmm: batch sizes"):
        em.bmm(_t(2, 3, 4), _t(3, 4, 5))
    with pytest.raises(ValueError, match="dot: expected 1-D"):
        em.dot(_t(2, 3), _t(2, 3))
    with pytest.raises(ValueError, match=r"dot: inner dimensions.*\[3\].*\[4\]"):
        em.dot(_t(3), _t(4))
    with pytest.raises(TypeError, match="dot.*int32"):
        em.dot(_t(3, dtype=em.int32), _t(3, dtype=em.int32))


def test_linear_bad_inputs():
    with pytest.raises(ValueError, match=r"linear: .*\[4, 5\].*\[3, 6\]"):
        F.linear(_t(4, 5), _t(3, 6))
    with pytest.raises(ValueError, match="linear: bias"):
        F.linear(_t(4, 5), _t(3, 5), _t(4))
    with pytest.raises(ValueError, match="linear: weight"):
        F.linear(_t(4, 5), _t(2, 3, 5))
    with pytest.raises(TypeError, match="linear"):
        F.linear(np.zeros((4, 5)), _t(3, 5))


def test_matmul_mixing_cpu_and_cuda_names_the_op(cuda_device):
    with pytest.raises((RuntimeError, ValueError), match="matmul"):
        em.matmul(em.ones(2, 3), em.ones(3, 4, device=cuda_device))
    with pytest.raises((RuntimeError, ValueError), match="mm"):
        em.mm(em.ones(2, 3, device=cuda_device), em.ones(3, 4))
