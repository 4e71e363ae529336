"""The Tensor API: creation, dtypes, views, conversions, numpy exchange,
repr, threads, memory statistics, devices, and bad input."""

import pickle

import numpy as np
import pytest

import ember as em


def test_tensor_from_data_infers_dtypes():
    assert em.tensor([1.0, 2.0]).dtype == em.float32
    assert em.tensor([1, 2]).dtype == em.int64
    assert em.tensor([True, False]).dtype == em.bool
    assert em.tensor(np.zeros(3, dtype=np.float64)).dtype == em.float64
    assert em.tensor([[1, 2]], dtype=em.float64).dtype == em.float64
    assert em.tensor(3.5).shape == () and em.tensor(3.5).item() == 3.5
    assert em.tensor([]).shape == (0,)
    assert em.tensor([em.tensor([1.0]), em.tensor([2.0])]).shape == (2, 1)


def test_creation_functions():
    np.testing.assert_array_equal(em.zeros(2, 3).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(em.ones((2,), dtype=em.int32).numpy(), [1, 1])
    np.testing.assert_array_equal(em.full((2, 2), 7).numpy(), [[7, 7], [7, 7]])
    assert em.full((2,), 7).dtype == em.int64 and em.full((2,), 7.0).dtype == em.float32
    np.testing.assert_array_equal(em.arange(5).numpy(), np.arange(5))
    np.testing.assert_allclose(em.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(em.linspace(-1, 1, 5).numpy(), np.linspace(-1, 1, 5))
    np.testing.assert_array_equal(em.eye(3, 2).numpy(), np.eye(3, 2))
    x = em.randn(4, 5, dtype=em.float64)
    for like in (em.zeros_like, em.ones_like, em.empty_like, em.randn_like, em.rand_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == em.float64
    assert em.full_like(x, 2.0).sum().item() == 40.0


def test_random_is_seeded_and_distributed():
    em.manual_seed(42)
    a = em.randn(10_000)
    em.manual_seed(42)
    b = em.randn(10_000)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(float(a.numpy().mean())) < 0.05 and abs(float(a.numpy().std()) - 1) < 0.05
    u = em.rand(10_000).numpy()
    assert u.min() >= 0 and u.max() < 1
    r = em.randint(3, 7, (1000,)).numpy()
    assert r.min() == 3 and r.max() == 6
    n = em.normal(5.0, 2.0, size=(10_000,)).numpy()
    assert abs(n.mean() - 5) < 0.1 and abs(n.std() - 2) < 0.1
    p = em.randperm(10).numpy()
    assert sorted(p.tolist()) == list(range(10))


def test_views_share_memory():
    x = em.arange(24, dtype=em.float32).reshape(2, 3, 4)
    v = x.permute(2, 0, 1)
    assert v.shape == (4, 2, 3) and not v.is_contiguous()
    assert v.contiguous().is_contiguous()
    np.testing.assert_array_equal(v.numpy(), x.numpy().transpose(2, 0, 1))
    x.view(-1).numpy()[0] = 100.0
    assert x.numpy()[0, 0, 0] == 100.0
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x[:, :1].squeeze(1).shape == (2, 4)
    assert x.flatten(1).shape == (2, 12) and x.flatten().shape == (24,)
    assert em.ones(3, 1).expand(3, 4).stride() == (1, 0)
    assert x.narrow(2, 1, 2).shape == (2, 3, 2)
    assert x.select(1, -1).shape == (2, 4)
    assert x.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(x.t().numpy() if x.ndim <= 2 else x[0].t().numpy(), x.numpy()[0].T)


def test_view_errors():
    x = em.zeros(2, 3)
    with pytest.raises(ValueError, match="view"):
        x.t().view(6)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(4, -1)
    with pytest.raises(IndexError, match="permute"):
        x.permute(0, 2)
    with pytest.raises(ValueError, match="expand"):
        x.expand(3, 3)
    with pytest.raises(IndexError, match="transpose"):
        x.transpose(0, 5)


def test_numpy_round_trip_is_zero_copy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = em.from_numpy(a)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    back = t.numpy()
    back[1, 2] = -1
    assert a[1, 2] == -1
    strided = em.from_numpy(a[:, ::2])
    np.testing.assert_array_equal(strided.numpy(), a[:, ::2])
    np.testing.assert_array_equal(np.asarray(em.tensor([1, 2])), [1, 2])
    with pytest.raises(TypeError, match="from_numpy"):
        em.from_numpy(np.zeros(2, dtype=np.complex64))
    with pytest.raises(RuntimeError, match="requires grad"):
        em.zeros(2, requires_grad=True).numpy()


def test_python_conversions():
    t = em.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert len(t) == 2 and [r.shape for r in t] == [(2,), (2,)]
    assert float(em.tensor(2.5)) == 2.5 and int(em.tensor(7)) == 7
    assert bool(em.tensor(1.0)) and not bool(em.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    with pytest.raises(ValueError, match="item"):
        t.item()
    assert [1, 2, 3][em.tensor(1)] == 2
    assert pickle.loads(pickle.dumps(t)).tolist() == t.tolist()


def test_dtype_casts():
    x = em.tensor([1.7, -2.3, 0.0])
    assert x.to(em.int64).tolist() == [1, -2, 0]
    assert x.to(em.bool).tolist() == [True, True, False]
    assert x.double().dtype == em.float64 and x.long().dtype == em.int64
    assert x.to(em.float32) is x
    y = em.tensor([1.0, 2.0], requires_grad=True)
    y.double().sum().backward()
    assert y.grad.dtype == em.float32


def test_repr_looks_like_pytorch():
    assert repr(em.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(em.tensor([0.5, 0.25])) == "tensor([0.5000, 0.2500])"
    assert repr(em.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(em.tensor([1, 2], dtype=em.int32)) == "tensor([1, 2], dtype=ember.int32)"
    assert repr(em.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    y = em.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"
    assert "[[0., 0.],\n        [0., 0.]]" in repr(em.zeros(2, 2))


def test_inplace_methods_and_operators():
    x = em.zeros(3)
    x += 2
    x *= em.tensor([1.0, 2.0, 3.0])
    x -= 1
    x /= 2
    np.testing.assert_allclose(x.numpy(), [0.5, 1.5, 2.5])
    x.fill_(4.0)
    assert x.tolist() == [4.0, 4.0, 4.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x.copy_(em.tensor([1, 2, 3]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose((1 - x).numpy(), [0, -1, -2])
    np.testing.assert_allclose((6 / x).numpy(), [6, 3, 2])
    with pytest.raises(ValueError, match="add_"):
        em.zeros(3).add_(em.zeros(2, 3))
    with pytest.raises(TypeError, match="mul_"):
        em.zeros(3, dtype=em.int64).mul_(em.zeros(3))


def test_binary_errors_name_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \[2, 3\] and \[4\]"):
        em.zeros(2, 3) + em.zeros(4)
    with pytest.raises(TypeError):
        em.zeros(2) + "a"


def test_bad_sizes_raise_clearly():
    with pytest.raises(ValueError, match="negative"):
        em.zeros(2, -1)
    with pytest.raises(MemoryError):
        em.empty(1 << 40, 1 << 30)
    with pytest.raises(MemoryError, match="out of memory"):
        em.empty(1 << 45, dtype=em.float64)
    with pytest.raises(TypeError):
        em.zeros(2, dtype="complex64")
    with pytest.raises(ValueError, match="arange"):
        em.arange(0, 10, 0)


def test_threads_setting():
    n = em.get_num_threads()
    em.set_num_threads(1)
    assert em.get_num_threads() == 1
    em.set_num_threads(n)
    with pytest.raises(ValueError, match="set_num_threads"):
        em.set_num_threads(0)


def test_cpu_caching_allocator_reuses_blocks():
    em.empty(1 << 20)  # a block freed into the cache
    before = em.memory_stats()["num_os_allocs"]
    for _ in range(20):
        em.empty(1 << 20)
    assert em.memory_stats()["num_os_allocs"] == before
    stats = em.memory_stats()
    assert stats["reserved_bytes"] >= stats["allocated_bytes"]
    em.empty_cache()


def test_cuda_absent_is_clear():
    if em.cuda.is_available():
        pytest.skip("a GPU is present")
    assert em.cuda.device_count() == 0
    with pytest.raises((RuntimeError, ValueError), match="cuda"):
        em.zeros(2).to("cuda")
    with pytest.raises(ValueError, match="device"):
        em.device("gpu")
    assert isinstance(em.backends.cuda.is_built(), bool)


def test_device_objects():
    d = em.device("cpu")
    assert d.type == "cpu" and str(d) == "cpu" and d == em.zeros(1).device
    c = em.device("cuda:1")
    assert c.type == "cuda" and c.index == 1


def test_python_floats_keep_float64_precision_when_asked():
    # A float64 tensor built from Python floats (and written through
    # __setitem__) must not round through float32 on the way.
    t = em.tensor([0.31, 1e-310], dtype=em.float64)
    assert t.tolist() == [0.31, 1e-310]
    assert float(em.tensor(0.31, dtype=em.float64)) == 0.31
    t[0] = 0.1
    assert float(t[0]) == 0.1
    assert em.tensor(0.31).dtype == em.float32


def test_c_tensor_is_floating_point():
    d = em.zeros(2, 3)._data
    assert d.is_floating_point and not em.zeros(2, dtype=em.int64)._data.is_floating_point
