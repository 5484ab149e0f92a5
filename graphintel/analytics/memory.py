"""Hand memory freed by a stage back to the operating system.

Large temporaries freed during a stage (Arrow buffers from ``dictionary_encode`` / ``to_pylist``,
pandas and NumPy intermediates) stay mapped in the process: pyarrow's allocator (mimalloc or
jemalloc) and glibc's ``malloc`` keep freed pages for reuse. The later stages allocate through
other pools, so that memory is never reused and only raises the peak resident set size.
:func:`release_unused_memory` returns it between stages; values are untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

import pyarrow as pa

__all__ = ["release_unused_memory"]


@functools.cache
def _malloc_trim() -> object | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None


def release_unused_memory() -> None:
    """Return freed, still-mapped heap pages to the operating system (Arrow pool, then glibc).

    Safe to call at any time: nothing allocated is moved or freed.

    Examples
    --------
    >>> release_unused_memory()
    """
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]
