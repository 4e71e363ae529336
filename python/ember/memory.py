"""Host memory facilities: the CPU caching allocator's statistics and cache."""

from __future__ import annotations

from . import _C


def memory_stats() -> dict:
    """Statistics of the CPU caching allocator.

    Returns:
        allocated_bytes, peak_allocated_bytes, reserved_bytes (allocated +
        cached), num_allocs and num_os_allocs (allocations that missed the cache).
    """
    return dict(_C.cpu_memory_stats())


def empty_cache() -> None:
    """Returns every cached, unused CPU block to the operating system."""
    _C.cpu_empty_cache()


def reset_peak_memory_stats() -> None:
    _C.cpu_reset_peak_memory_stats()
