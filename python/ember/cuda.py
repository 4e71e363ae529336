"""ember.cuda: devices, memory, streams and events (PyTorch's torch.cuda names).

Without a CUDA build or a GPU, is_available() is False, device_count() is 0
and empty_cache() does nothing; everything else raises a clear error.

Random numbers: ember has one counter-based (Philox) generator for every
device, so manual_seed seeds CPU and CUDA draws alike, and the same seed
gives the same numbers on either device.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from . import _C


def is_available() -> bool:
    """True when ember was built with CUDA and a GPU is visible."""
    return _C.cuda.device_count() > 0


def device_count() -> int:
    """The number of visible CUDA devices (0 without a CUDA build or driver)."""
    return _C.cuda.device_count()


def _index(device) -> int:
    """A device index from None (the current device), an int, 'cuda:N' or a device."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    parsed = _C.Device(str(device))
    if parsed.type != "cuda":
        raise ValueError(f"expected a CUDA device, got {device!r}")
    return parsed.index


def current_device() -> int:
    return _C.cuda.current_device()


def set_device(device) -> None:
    """Makes `device` (an int or 'cuda:N') the current CUDA device."""
    _C.cuda.set_device(_index(device))


class device(contextlib.ContextDecorator):
    """Context manager that makes `device` current and restores the previous one."""

    def __init__(self, device):
        self.index = _index(device)
        self.previous = None

    def __enter__(self):
        self.previous = current_device()
        set_device(self.index)
        return self

    def __exit__(self, *exc):
        set_device(self.previous)
        return False


_device_guard = device  # for functions whose `device` argument hides the class


def synchronize(device=None) -> None:
    """Waits for all work on `device` (default: current) to finish. An error of
    an earlier asynchronous kernel surfaces here as RuntimeError."""
    if device is None:
        _C.cuda.synchronize()
        return
    with _device_guard(device):
        _C.cuda.synchronize()


def get_device_name(device=None) -> str:
    return _C.cuda.device_name(_index(device))


@dataclass(frozen=True)
class DeviceProperties:
    """What a CUDA device is: its name, memory, SMs and clocks."""

    name: str
    total_memory: int
    major: int
    minor: int
    multi_processor_count: int
    max_threads_per_block: int
    max_threads_per_multiprocessor: int
    shared_memory_per_block: int
    shared_memory_per_multiprocessor: int
    regs_per_multiprocessor: int
    warp_size: int
    l2_cache_size: int
    clock_rate_khz: int
    memory_clock_rate_khz: int
    memory_bus_width: int


def get_device_properties(device=None) -> DeviceProperties:
    return DeviceProperties(**_C.cuda.device_properties(_index(device)))


def get_device_capability(device=None) -> tuple[int, int]:
    props = get_device_properties(device)
    return props.major, props.minor


def manual_seed(seed: int) -> None:
    """Seeds the generator (shared by every device: see the module docstring)."""
    _C.manual_seed(int(seed))


manual_seed_all = manual_seed


# --------------------------------------------------------------------- memory
def memory_stats(device=None) -> dict:
    """The caching allocator's counters for `device`: allocated/reserved bytes
    and their peaks, requested bytes, allocation and segment counts, and how
    often the device ran out of memory."""
    return dict(_C.cuda.memory_stats(_index(device)))


def memory_allocated(device=None) -> int:
    """Bytes held by live tensors on `device`."""
    return memory_stats(device)["allocated_bytes"]


def max_memory_allocated(device=None) -> int:
    return memory_stats(device)["peak_allocated_bytes"]


def memory_reserved(device=None) -> int:
    """Bytes held from the driver: live tensors plus the cache."""
    return memory_stats(device)["reserved_bytes"]


def max_memory_reserved(device=None) -> int:
    return memory_stats(device)["peak_reserved_bytes"]


def reset_peak_memory_stats(device=None) -> None:
    _C.cuda.reset_peak_memory_stats(_index(device))


def empty_cache() -> None:
    """Gives cached, unused device memory back to the driver (other processes
    and libraries can then use it)."""
    _C.cuda.empty_cache()


def _format_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} GiB"


def memory_summary(device=None) -> str:
    """A table of the caching allocator's state for `device`."""
    index = _index(device)
    s = memory_stats(index)
    rows = [
        ("allocated (live tensors)", _format_bytes(s["allocated_bytes"])),
        ("  peak", _format_bytes(s["peak_allocated_bytes"])),
        ("  requested by tensors", _format_bytes(s["requested_bytes"])),
        ("reserved (from the driver)", _format_bytes(s["reserved_bytes"])),
        ("  peak", _format_bytes(s["peak_reserved_bytes"])),
        ("  cached, free", _format_bytes(s["reserved_bytes"] - s["allocated_bytes"])),
        ("segments", str(s["num_segments"])),
        ("cached blocks", str(s["cached_blocks"])),
        ("allocations / frees", f"{s['num_allocs']} / {s['num_frees']}"),
        ("driver allocations / frees", f"{s['num_device_allocs']} / {s['num_device_frees']}"),
        ("out-of-memory retries", str(s["num_ooms"])),
    ]
    width = max(len(name) for name, _ in rows)
    title = f"ember CUDA memory summary, cuda:{index}"
    lines = [title, "=" * len(title)]
    lines += [f"{name:<{width}}  {value:>12}" for name, value in rows]
    return "\n".join(lines)


# ------------------------------------------------------------ streams, events
class Stream:
    """A CUDA stream: kernels and copies issued while it is current (see
    `stream()`) run in order on it, concurrently with other streams."""

    def __init__(self, device=None, priority: int = 0, *, _handle: int | None = None):
        self.device_index = _index(device)
        self._owned = _handle is None
        self.handle = (
            _C.cuda.stream_create(self.device_index, int(priority)) if _handle is None
            else _handle
        )

    def synchronize(self) -> None:
        """Waits until all work queued on this stream is done."""
        _C.cuda.stream_synchronize(self.handle)

    def query(self) -> bool:
        """True when all work queued on this stream is done."""
        return _C.cuda.stream_query(self.handle)

    def wait_event(self, event: Event) -> None:
        """Makes later work on this stream wait for `event`."""
        _C.cuda.stream_wait_event(self.handle, event.handle)

    def wait_stream(self, stream: Stream) -> None:
        """Makes later work on this stream wait for the work queued on `stream`."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and self.handle == other.handle

    def __hash__(self) -> int:
        return hash(self.handle)

    def __repr__(self) -> str:
        return f"<ember.cuda.Stream device=cuda:{self.device_index} handle={self.handle:#x}>"

    def __del__(self):
        if getattr(self, "_owned", False):
            _C.cuda.stream_destroy(self.handle)


def current_stream(device=None) -> Stream:
    """The stream ember launches on in this thread (the default stream unless a
    `stream()` context is active)."""
    return Stream(device, _handle=_C.cuda.current_stream())


def default_stream(device=None) -> Stream:
    return Stream(device, _handle=0)


def set_stream(stream: Stream) -> None:
    _C.cuda.set_current_stream(stream.handle, stream.device_index)


@contextlib.contextmanager
def stream(s: Stream | None):
    """Runs the block with `s` as the current stream (None: no change)."""
    if s is None:
        yield None
        return
    previous = current_stream(s.device_index)
    set_stream(s)
    try:
        yield s
    finally:
        set_stream(previous)


class Event:
    """A CUDA event: a marker in a stream to wait on or to time between."""

    def __init__(self, enable_timing: bool = False):
        self.enable_timing = bool(enable_timing)
        self.handle = _C.cuda.event_create(self.enable_timing)

    def record(self, stream: Stream | None = None) -> None:
        """Marks the current point of `stream` (default: the current stream)."""
        handle = _C.cuda.current_stream() if stream is None else stream.handle
        _C.cuda.event_record(self.handle, handle)

    def wait(self, stream: Stream | None = None) -> None:
        """Makes later work on `stream` (default: current) wait for this event."""
        (current_stream() if stream is None else stream).wait_event(self)

    def synchronize(self) -> None:
        _C.cuda.event_synchronize(self.handle)

    def query(self) -> bool:
        return _C.cuda.event_query(self.handle)

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds from this event to `end_event` (both recorded, both
        created with enable_timing=True)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise ValueError("Event.elapsed_time: both events need enable_timing=True")
        return _C.cuda.event_elapsed_ms(self.handle, end_event.handle)

    def __repr__(self) -> str:
        return f"<ember.cuda.Event handle={self.handle:#x} timing={self.enable_timing}>"

    def __del__(self):
        if hasattr(self, "handle"):
            _C.cuda.event_destroy(self.handle)
