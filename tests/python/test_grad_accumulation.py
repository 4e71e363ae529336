"""Leaf .grad owns its memory: gradients stored from backward never alias
broadcast views, other leaves' grads or the caller's gradient tensor."""

import numpy as np

import ember as em


def test_grad_of_broadcast_sum_accumulates_twice():
    x = em.ones(4, 4, requires_grad=True)
    for _ in range(2):
        (x + 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((4, 4), 2.0, np.float32))


def test_leaves_sharing_a_gradient_get_separate_grads():
    a = em.ones(3, requires_grad=True)
    b = em.ones(3, requires_grad=True)
    seed = em.ones(3)
    (a + b).backward(seed)
    a.grad.mul_(5)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(seed.numpy(), np.ones(3, np.float32))
    (a + b).backward(seed)
    np.testing.assert_array_equal(a.grad.numpy(), np.full(3, 6.0, np.float32))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(3, 2.0, np.float32))


def test_chain_of_scalar_adds_matches_reference():
    x = em.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    y = x
    for _ in range(50):
        y = y + 1.0
    (y * y).sum().backward()
    expected = 2 * (np.array([[1.0, -2.0], [0.5, 3.0]]) + 50)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_backward_with_inputs_gives_each_leaf_its_own_grad():
    a = em.tensor([1.0, 2.0], requires_grad=True)
    b = em.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward(inputs=[a, b])
    a.grad.mul_(5)
    assert b.grad.tolist() == [1.0, 1.0]
