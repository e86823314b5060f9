"""Memory: the peak of a block of code, a run's own tensors, the size of a result, giving memory back.

`PeakMemory` measures the whole process (benchmarks, a run alone); `TensorMemory` only the tensors one
run allocated, so it stays true while other learners train in other threads (what a page reports);
`size_of` estimates what a result holds (the caches' byte budget); `give_back` returns freed memory
to the system after heavy work; `tune_malloc` and `Trimmer` keep a long-running server's idle size close
to what it holds.

Peak memory of a block of code, measured while it runs (`PeakMemory`):

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
import dataclasses
import gc
import json
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd
import psutil
import torch
from scipy import sparse
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc_mallinfo2():
    """glibc's `mallinfo2` (the allocator's own counts), or None when this is not glibc ≥ 2.33."""
    try:
        mallinfo2 = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    return mallinfo2


_MALLINFO2 = _glibc_mallinfo2()


def _glibc_in_use():
    """A function returning bytes malloc has handed out now, or None when this is not glibc ≥ 2.33."""
    mallinfo2 = _MALLINFO2
    if mallinfo2 is None:
        return None

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


# ----------------------------------------------------------------------------- one run's own tensors


class TensorMemory(TorchDispatchMode):
    """Context manager: `peak_bytes` is the most memory held at once by the torch tensors that code in
    this block allocated, in this thread, and `bytes_now` what they hold at the end.

    `PeakMemory` counts the whole process, so on a server where other learners train at the same
    time their runs land in your figure (375 MB alone read 1,344 MB beside others). Only torch knows
    which tensors one run made: every torch operation of this thread passes through this dispatch
    mode (dispatch modes are thread-local, and a CPU backward pass runs in the thread that calls it),
    so we count each new storage an operation returns (not a view of, or an in-place write into, one
    of its inputs) when it appears and forget it when it is freed (a finalizer on the storage).
    What it counts: activations, gradients, optimizer moments, copies of weights made inside. What it
    does not: NumPy or Python objects (tokenised text, DataFrames), and tensors made before the block.

    >>> with TensorMemory() as mem:
    ...     a = torch.ones(1_000_000)            # 4 MB
    ...     b = a * 2                            # 4 MB more
    ...     view = b[10:]                        # a view: nothing new
    ...     del a, b, view
    >>> mem.peak_bytes, mem.bytes_now
    (8000000, 0)
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # the lab compiles nothing; torch's default wraps us for torch.compile, importing dynamo (seconds)

    def __init__(self):
        super().__init__()
        self.peak_bytes = self.bytes_now = 0
        self._lock = threading.Lock()  # finalizers run in whichever thread frees the last reference

    def _freed(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_now -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {id(t.untyped_storage()) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            storage = t.untyped_storage()
            if id(storage) in inputs or storage.nbytes() == 0:
                continue  # a view or an in-place result: memory that existed before this operation
            inputs.add(id(storage))  # an op returning two views of one new storage counts it once
            nbytes = storage.nbytes()
            weakref.finalize(storage, self._freed, nbytes)  # a storage's Python object lives as long as its memory
            with self._lock:
                self.bytes_now += nbytes
                self.peak_bytes = max(self.peak_bytes, self.bytes_now)
        return out


# ----------------------------------------------------------------------------- sizes and giving memory back


def size_of(obj, _seen: set | None = None, _depth: int = 0) -> int:
    """About how many bytes `obj` holds: arrays, tensors, frames and sparse matrices by their buffers,
    containers, dataclasses and plain objects by what they hold. Cheap (no pickling); what caches
    use to keep within a byte budget. Shared buffers count once.

    >>> size_of({"a": np.zeros(1000), "b": [np.zeros(500), "text"]}) >= 12_000
    True
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 12:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (str, bytes, bytearray, int, float, bool, type(None))):
        return sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None or id(obj.base) not in seen else 0
    if isinstance(obj, torch.Tensor):
        storage = obj.untyped_storage()
        key = ("storage", storage.data_ptr())
        if key in seen:
            return 0
        seen.add(key)
        return storage.nbytes()
    if isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
        used = obj.memory_usage(index=True, deep=True)
        return int(used.sum()) if hasattr(used, "sum") else int(used)
    if sparse.issparse(obj):
        return sum(size_of(getattr(obj, a), seen, _depth + 1) for a in ("data", "indices", "indptr", "row", "col") if hasattr(obj, a))
    if isinstance(obj, torch.nn.Module):
        return sum(size_of(t, seen, _depth + 1) for t in [*obj.parameters(), *obj.buffers()]) + sys.getsizeof(obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(size_of(k, seen, _depth + 1) + size_of(v, seen, _depth + 1) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(size_of(v, seen, _depth + 1) for v in obj)
    if dataclasses.is_dataclass(obj):
        return sys.getsizeof(obj) + sum(size_of(getattr(obj, f.name, None), seen, _depth + 1) for f in dataclasses.fields(obj))
    held = getattr(obj, "__dict__", None)
    return sys.getsizeof(obj) + (size_of(held, seen, _depth + 1) if isinstance(held, dict) else 0)


def _glibc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        return None


_TRIM = _glibc_trim()


def give_back(collect: bool = True) -> int:
    """Return memory freed by finished work to the operating system; the bytes the resident size fell by.

    Freeing a tensor or an array hands its memory back to the allocator, not to the system: glibc keeps
    freed heap pages for later, so a server that ran a big job looks just as big while idle (2.3-3.1 GB
    measured, of which `malloc_trim` gave back 1.46 GB). A garbage collection first (reference cycles
    hold models and frames; `collect=False` skips it: a full collection of a server holding torch,
    transformers and Streamlit takes 0.25-0.5 s, `malloc_trim` well under a millisecond), then glibc's
    `malloc_trim(0)`, which hands back the free pages of every arena; elsewhere only the collection.
    """
    before = psutil.Process().memory_info().rss
    if collect:
        gc.collect()
    if _TRIM is not None:
        _TRIM(0)
    return max(0, before - psutil.Process().memory_info().rss)


M_ARENA_MAX, M_MMAP_THRESHOLD = -8, -3  # mallopt's parameter numbers (glibc's malloc.h)
MMAP_THRESHOLD = 1 << 20  # blocks of 1 MB and more (a training step's activations, 3-12 MB each) mapped on their own


def tune_malloc(arenas: int = 2, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Set glibc's malloc for a long-running server that trains in threads; True if glibc took both settings.

    - At most `arenas` arenas (pools of memory). glibc gives threads that allocate at the same moment arenas of
      their own, up to 8 per core; Streamlit runs every learner's page in its own thread and torch adds worker
      threads, so memory freed in one pool cannot serve another. (`MALLOC_ARENA_MAX=2`, the usual advice for
      threaded Python servers.) Must run early: glibc fixes the limit once it has made more than 8 arenas.
    - Blocks of `mmap_threshold` bytes and more each mapped on their own and unmapped when freed. glibc's default
      starts at 128 kB but *raises itself* to the size of each big block freed, up to 32 MB, so a training step's
      tensors come to live in the arenas' heaps, which fragment: measured with eight learners, the heaps grew to
      3.9 GB of address space for 1.1 GB in use, and the resident size peaked at 2.75-2.86 GB although malloc
      had never handed out more than 1.13 GB. A fixed threshold also keeps glibc's automatic trimming of a heap's
      top at 128 kB. The price: a page fault for each new page of a big block (a 3-layer encoder's training step
      3.59 → 3.82 s, +6 %, measured once on a shared machine).
    (Set from inside: a Community Cloud app cannot choose the environment its process starts with.)
    """
    if _MALLOPT is None or arenas < 1:
        return False
    return bool(_MALLOPT(M_ARENA_MAX, arenas)) & bool(_MALLOPT(M_MMAP_THRESHOLD, mmap_threshold))


def _glibc_mallopt():
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


_MALLOPT = _glibc_mallopt()


def allocator_counts() -> dict[str, float]:
    """What the process holds, in MB: resident size, and on glibc what malloc has handed out (`in_use`), what
    it holds free in its arenas (`free`, part of it already given back by a trim) and the arenas' size (`heap`).

    >>> allocator_counts()["rss_mb"] > 0
    True
    """
    counts = {"rss_mb": psutil.Process().memory_info().rss / 1e6}
    if _MALLINFO2 is not None:
        info = _MALLINFO2()
        counts |= {"in_use_mb": (info.uordblks + info.hblkhd) / 1e6, "free_mb": info.fordblks / 1e6, "heap_mb": info.arena / 1e6}
    return {k: round(v, 1) for k, v in counts.items()}


class Trimmer:
    """Gives memory back every `every_s` seconds while the server is quiet, in a daemon thread.

    Memory freed when heavy work ends goes back at once (`core.infra.admission` calls `give_back` when a
    slot is released), but memory freed *later* (a learner's session dropped after they left, a cache
    emptied) would stay in malloc's arenas for good on a server nobody visits. So each tick, while
    `quiet()` says no heavy work runs (a trim then would only be undone by the next allocation):

    - `before()` is called first, if given (the app forgets what learners who left kept); when it returns
      something true, objects were let go and a garbage collection comes first (cycles hold models);
    - then `give_back`, without the collection otherwise (a trim costs under a millisecond, a collection
      0.25-0.5 s of every thread's time).

    `log`: a file to which every tick appends one JSON line of `allocator_counts` (and `extra()`, if given):
    how an operator (or benchmarks/bench_concurrency.py) sees what the server holds over time.

    >>> ticks = []
    >>> t = Trimmer(quiet=lambda: False, before=lambda: ticks.append(1))
    >>> t.tick() is None, ticks          # not quiet: nothing is done
    (True, [])
    """

    def __init__(self, quiet: Callable[[], bool], every_s: float = 10, before: Callable[[], object] | None = None,
                 log: str | None = None, extra: Callable[[], dict] | None = None):
        self.quiet, self.every_s, self.before, self.log, self.extra = quiet, every_s, before, log, extra
        self.given_back = 0  # bytes, all ticks together
        self._stop = threading.Event()

    def tick(self) -> int | None:
        """One round: the bytes given back, or None when the server was busy."""
        given = None
        if self.quiet():
            collect = bool(self.before()) if self.before is not None else False
            given = give_back(collect=collect)
            self.given_back += given
        if self.log:
            record = {"time": round(time.time(), 1), "quiet": given is not None, "gave_back_mb": round((given or 0) / 1e6, 1)}
            record |= allocator_counts() | (self.extra() if self.extra else {})
            with open(self.log, "a") as f:
                f.write(json.dumps(record) + "\n")
        return given

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 (a failed tick must not end the thread; the next one tries again)
                pass

    def start(self) -> "Trimmer":
        threading.Thread(target=self._run, name="llm-lab-trimmer", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()


def trim_every_s_from_environment(default: float = 10) -> float:
    """LLM_LAB_TRIM_EVERY_S when it is a number (0 or less: no trimmer), else `default`.

    >>> trim_every_s_from_environment(default=7) > 0 or os.environ.get("LLM_LAB_TRIM_EVERY_S") is not None
    True
    """
    try:
        return float(os.environ.get("LLM_LAB_TRIM_EVERY_S", default))
    except ValueError:
        return default
