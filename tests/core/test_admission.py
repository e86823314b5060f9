"""core.infra.admission: at most `slots` holders at once, the others first come first served, each told how many
wait ahead of it; a waiter that gives up leaves the queue; one thread's nested slots are one slot; memory goes back
to the system when a slot is given back."""

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from core.infra import admission, memory
from core.infra.admission import Admission

ROOT = Path(__file__).parents[2]


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(admission, "POLL_S", 0.02)


def wait_until(condition, timeout_s: float = 10):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_no_more_than_slots_run_at_once_and_the_queue_is_first_come_first_served():
    gate = Admission(slots=2)
    order, running, most = [], [0], [0]
    lock = threading.Lock()
    release = threading.Event()
    seen_ahead: dict[int, list[int]] = {}

    def job(i: int):
        with gate.slot(on_wait=lambda ahead: seen_ahead.setdefault(i, []).append(ahead)):
            with lock:
                order.append(i)
                running[0] += 1
                most[0] = max(most[0], running[0])
            release.wait()
            with lock:
                running[0] -= 1

    threads = []
    for i in range(6):
        threads.append(threading.Thread(target=job, args=(i,)))
        threads[-1].start()
        wait_until(lambda n=i + 1: gate.busy + gate.waiting == n)  # arrive one after another
    wait_until(lambda: all(i in seen_ahead for i in range(2, 6)))
    assert gate.busy == 2 and gate.waiting == 4
    assert [seen_ahead[i][0] for i in range(2, 6)] == [0, 1, 2, 3]  # "2 ahead of you" for the fifth to arrive
    release.set()
    for t in threads:
        t.join(10)
    assert sorted(order[:2]) == [0, 1] and order[2:] == [2, 3, 4, 5]
    assert most[0] == 2 and gate.busy == 0 and gate.waiting == 0
    assert all(s == sorted(s, reverse=True) for s in seen_ahead.values())  # each waiter only moves forward


def test_a_waiter_that_gives_up_leaves_the_queue():
    gate = Admission(slots=1)
    hold, done = threading.Event(), threading.Event()

    def holder():
        with gate.slot():
            hold.set()
            done.wait()

    t = threading.Thread(target=holder)
    t.start()
    hold.wait()

    class ClickedElsewhere(Exception):
        pass

    def impatient(ahead):
        raise ClickedElsewhere  # what Streamlit raises in a script whose learner clicked elsewhere

    with pytest.raises(ClickedElsewhere):
        with gate.slot(on_wait=impatient):
            pytest.fail("admitted although the slot was busy")
    assert gate.waiting == 0 and gate.busy == 1
    done.set()
    t.join(10)
    with gate.slot():  # the slot is free again
        assert gate.busy == 1


def test_nested_slots_in_one_thread_are_one_slot_and_cannot_deadlock():
    gate = Admission(slots=1)
    with gate.slot():
        with gate.slot():  # a training run that loads its model: would wait for itself forever otherwise
            assert gate.busy == 1 and gate.held()
        assert gate.held()
    assert not gate.held() and gate.busy == 0


def test_memory_goes_back_to_the_system_when_the_last_slot_of_a_thread_is_given_back(monkeypatch):
    calls = []
    monkeypatch.setattr(admission, "give_back", lambda: calls.append(1))
    gate = Admission(slots=1)
    with gate.slot():
        with gate.slot():
            pass
        assert calls == []
    assert calls == [1]


@pytest.mark.skipif(memory._TRIM is None, reason="malloc_trim is glibc's; elsewhere give_back only collects garbage")
def test_give_back_returns_freed_heap_memory_to_the_system():
    """Freed heap blocks stay in the process (glibc keeps them for later) until malloc_trim hands them back: the
    idle server of the issue stayed at 2.3-3.1 GB. 190 MB of 64 kB blocks (below glibc's mmap threshold, so on the
    heap), every hundredth kept so the heap's top cannot simply shrink."""
    rss = lambda: psutil.Process().memory_info().rss  # noqa: E731
    blocks = [bytearray(64_000) for _ in range(3_000)]
    kept = blocks[::100] + [blocks[-1]]
    before = rss()
    del blocks
    assert before - rss() < 100e6  # freed, yet still the process's
    assert memory.give_back() > 100e6  # handed back to the system
    assert len(kept) == 31


def test_the_number_of_slots_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LLM_LAB_HEAVY_SLOTS", "3")
    assert admission.slots_from_environment() == 3
    for bad in ("0", "-2"):
        monkeypatch.setenv("LLM_LAB_HEAVY_SLOTS", bad)
        assert admission.slots_from_environment() == 1
    monkeypatch.setenv("LLM_LAB_HEAVY_SLOTS", "many")
    assert admission.slots_from_environment(default=2) == 2
    with pytest.raises(ValueError):
        Admission(0)


def test_the_trimmer_gives_memory_back_only_while_no_slot_is_held_and_collects_only_after_letting_go(monkeypatch, tmp_path):
    """The idle server of the issue kept what it had freed after its last heavy job (sessions dropped later, caches
    emptied): the trimmer hands it back, but never under a running job (the next allocation would undo it), and pays
    for a garbage collection (0.25-0.5 s) only when `before` let something go."""
    calls = []
    monkeypatch.setattr(memory, "give_back", lambda collect=True: calls.append(collect) or 7)
    monkeypatch.setattr(admission, "give_back", lambda: None)
    gate = Admission(slots=1)
    let_go = []
    log = tmp_path / "memory.jsonl"
    trimmer = memory.Trimmer(quiet=lambda: gate.busy == 0, before=lambda: let_go.pop() if let_go else 0, log=str(log))
    held, release = threading.Event(), threading.Event()

    def job():
        with gate.slot():
            held.set()
            release.wait()

    t = threading.Thread(target=job)
    t.start()
    held.wait()
    assert trimmer.tick() is None and calls == []  # a job runs: nothing is trimmed
    release.set()
    t.join(10)
    assert trimmer.tick() == 7 and calls == [False]  # quiet: trimmed, no collection
    let_go.append(1)
    assert trimmer.tick() == 7 and calls == [False, True]  # sessions forgotten: collected first
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["quiet"] for r in lines] == [False, True, True] and all(r["rss_mb"] > 0 for r in lines)


MALLOC = """
import ctypes, sys, threading
libc = ctypes.CDLL("libc.so.6")
if sys.argv[1] == "tuned":
    from core.infra import memory
    assert memory.tune_malloc()
    mallinfo2 = memory._MALLINFO2
else:
    from ctypes.util import find_library
    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                                                   "uordblks", "fordblks", "keepcost")]
    mallinfo2 = libc.mallinfo2
    mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
block = libc.malloc(4 << 20)
libc.free(block)  # glibc's default now raises its mmap threshold to 4 MB
mapped = mallinfo2().hblks
block = libc.malloc(4 << 20)
print(mallinfo2().hblks - mapped)  # 1: mapped on its own, 0: from a heap
go = threading.Barrier(7)
def allocate():
    libc.malloc(1000)  # a thread's first malloc picks its arena
    go.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for t in threads: t.start()
go.wait()
libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


@pytest.mark.slow  # two Python processes, one importing torch
@pytest.mark.skipif(memory._MALLOPT is None, reason="mallopt is glibc's")
def test_tune_malloc_keeps_threads_to_two_arenas_and_big_blocks_mapped_on_their_own():
    """Six threads allocating at once get six arenas of their own (glibc: up to 8 per core), each keeping its free
    memory apart; tuned, they share two. A freed 4 MB block raises glibc's mmap threshold, so the next one comes from
    a heap (where blocks fragment it); tuned, it is mapped on its own and goes back to the system when freed."""
    def run(mode: str) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", MALLOC, mode], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return len(re.findall(r"^Arena \d+:", done.stderr, re.M)), int(done.stdout.split()[-1])

    assert run("plain") == (7, 0)
    assert run("tuned") == (2, 1)
