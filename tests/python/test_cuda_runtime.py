"""em.cuda: the caching allocator's statistics, streams, events, pinned memory
and non-blocking copies (on a GPU, or on the emulated device of the test-emu
build), and the clear errors of a build or machine without CUDA."""

import numpy as np
import pytest

import ember as em

needs_cuda = pytest.mark.skipif(not em.cuda.is_available(), reason="no CUDA device")


@pytest.mark.skipif(em.cuda.is_available(), reason="a CUDA device is present")
def test_without_a_device_everything_says_so():
    assert em.cuda.device_count() == 0
    em.cuda.empty_cache()  # nothing cached: a no-op
    x = em.ones(3)
    assert not x.is_pinned()
    for call in (lambda: x.to("cuda"), lambda: em.cuda.memory_allocated(),
                 lambda: em.cuda.Event(enable_timing=True), lambda: em.cuda.Stream()):
        with pytest.raises(RuntimeError, match="CUDA|cuda"):
            call()


@needs_cuda
def test_device_queries():
    props = em.cuda.get_device_properties(0)
    assert props.name == em.cuda.get_device_name()
    assert props.total_memory > 0 and props.multi_processor_count >= 1
    assert em.cuda.get_device_capability() == (props.major, props.minor)
    with pytest.raises(ValueError, match="does not exist"):
        em.cuda.set_device(em.cuda.device_count())
    with em.cuda.device(0):
        assert em.cuda.current_device() == 0


@needs_cuda
def test_allocator_statistics_follow_tensors():
    em.cuda.synchronize()
    em.cuda.empty_cache()
    em.cuda.reset_peak_memory_stats()
    base = em.cuda.memory_allocated()
    x = em.empty(1 << 20, device="cuda")  # 4 MiB
    assert em.cuda.memory_allocated() - base >= 4 << 20
    assert em.cuda.memory_reserved() >= em.cuda.memory_allocated()
    del x
    assert em.cuda.memory_allocated() == base
    assert em.cuda.max_memory_allocated() - base >= 4 << 20
    # The freed block stays cached until empty_cache gives it back.
    cached = em.cuda.memory_reserved()
    em.cuda.empty_cache()
    assert em.cuda.memory_reserved() < cached
    em.cuda.reset_peak_memory_stats()
    assert em.cuda.max_memory_allocated() == em.cuda.memory_allocated()
    assert "ember CUDA memory summary" in em.cuda.memory_summary()


@needs_cuda
def test_cached_blocks_are_reused():
    em.cuda.empty_cache()
    x = em.empty(1000, device="cuda")
    del x
    before = em.cuda.memory_stats()["num_device_allocs"]
    y = em.empty(900, device="cuda")
    assert em.cuda.memory_stats()["num_device_allocs"] == before
    del y


@needs_cuda
def test_streams_events_and_timing():
    s = em.cuda.Stream()
    assert em.cuda.current_stream() != s
    start, end = em.cuda.Event(enable_timing=True), em.cuda.Event(enable_timing=True)
    with em.cuda.stream(s):
        assert em.cuda.current_stream() == s
        start.record()
        y = (em.ones(1000, device="cuda") * 3).sum()
        end.record()
    assert em.cuda.current_stream() != s
    end.synchronize()
    assert end.query() and s.query()
    assert start.elapsed_time(end) >= 0
    assert float(y) == 3000
    other = em.cuda.Stream()
    other.wait_stream(s)
    other.synchronize()
    with pytest.raises(ValueError, match="enable_timing"):
        em.cuda.Event().elapsed_time(end)


@needs_cuda
def test_pinned_memory_and_non_blocking_copies():
    x = em.arange(12, dtype=em.float32).reshape(3, 4)
    pinned = x.pin_memory()
    assert pinned.is_pinned() and not x.is_pinned()
    assert pinned.pin_memory() is pinned
    on_device = pinned.to("cuda", non_blocking=True)
    back = on_device.to("cpu", non_blocking=True)
    em.cuda.synchronize()
    assert back.is_pinned()
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    with pytest.raises(ValueError, match="pin_memory"):
        on_device.pin_memory()


@needs_cuda
def test_dataloader_pins_batches():
    data = em.data.TensorDataset(em.randn(10, 3), em.arange(10))
    loader = em.data.DataLoader(data, batch_size=4, pin_memory=True)
    for xb, yb in loader:
        assert xb.is_pinned() and yb.is_pinned()


@needs_cuda
def test_tf32_switch_round_trips():
    before = em.backends.cuda.matmul.allow_tf32
    try:
        em.backends.cuda.matmul.allow_tf32 = True
        assert em.backends.cuda.matmul.allow_tf32
        a = em.randn(33, 17, device="cuda")
        b = em.randn(17, 9, device="cuda")
        expected = a.cpu().numpy() @ b.cpu().numpy()
        # TF32 keeps 10 mantissa bits: agreement to ~1e-3 relative.
        np.testing.assert_allclose((a @ b).cpu().numpy(), expected, rtol=2e-2, atol=2e-2)
    finally:
        em.backends.cuda.matmul.allow_tf32 = before
