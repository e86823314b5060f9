"""Peak memory of a block of code, measured while it runs.

On a GPU torch counts its own allocations (`torch.cuda.max_memory_allocated`). On a CPU it does
not, and the process's resident size is a poor proxy: the allocator keeps freed memory, so a
second run in the same process looks free. glibc, though, knows how many bytes are handed out
*right now* (`mallinfo2`: small blocks + mmapped big ones), so a thread that samples it every few
milliseconds sees the peak of what the block allocated, run after run. Elsewhere (macOS, musl) we
fall back to the resident size.

>>> import numpy as np
>>> with PeakMemory() as mem:
...     a = np.ones(20_000_000)          # 160 MB
...     del a
>>> 150e6 < mem.peak_bytes < 200e6
True
"""

import ctypes
import ctypes.util
import threading
import time

import psutil


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc_in_use():
    """A function returning bytes malloc has handed out now, or None when this is not glibc ≥ 2.33."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd  # heap blocks in use + big blocks mmapped directly
    return in_use


_IN_USE = _glibc_in_use()


def bytes_in_use() -> int:
    """Bytes allocated by this process now (malloc's count on glibc, else the resident size)."""
    return _IN_USE() if _IN_USE else psutil.Process().memory_info().rss


class PeakMemory:
    """Context manager: `peak_bytes` is the most memory in use above the level at entry."""

    def __init__(self, every_s: float = 0.002):
        self.every_s = every_s
        self.peak_bytes = 0
        self.method = "glibc mallinfo2 (bytes allocated)" if _IN_USE else "resident set size"

    def _sample(self) -> None:
        while not self._done.is_set():
            self._peak = max(self._peak, bytes_in_use())
            time.sleep(self.every_s)

    def __enter__(self) -> "PeakMemory":
        self._start = bytes_in_use()
        self._peak = self._start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak_bytes = max(self._peak, bytes_in_use()) - self._start
