"""Giving large freed buffers back to the system at once, so a server's memory follows its load."""

import ctypes
import ctypes.util

# glibc's mallopt parameter for the size from which an allocation gets a mapping of its own.
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 1024 * 1024


def unmap_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Have glibc map every allocation of `threshold` bytes or more apart, and unmap it when freed.

    By default glibc raises that threshold each time a large block is freed, after which request
    bodies and answers of a few MiB come from per-thread heaps that keep their peak: a server's
    resident size then grows with its threads times the largest request, and stays there. A fixed
    threshold also turns the dynamic raising off. False where the C library is not glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None)
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, threshold))
