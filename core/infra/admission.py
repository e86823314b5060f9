"""Admission for heavy work: a process-wide limit on how many trainings, scans and model loads run at once.

One server trains for many learners. Eight of them fine-tuning at the same moment would each get an
eighth of the CPU and together need eight working sets of memory (four concurrent heavy sessions
peaked at 4.7 GB). So heavy work waits for one of a few *slots*, first come first served, and a
learner who waits can be told where they stand ("2 ahead of you"):

>>> gate = Admission(slots=1)
>>> with gate.slot():
...     gate.busy, gate.waiting
(1, 0)
>>> gate.busy
0

A slot is re-entrant within one thread: heavy work that calls other heavy work (a training run that
loads its model) holds one slot, not two, and cannot deadlock waiting for itself.

When the last slot of a thread is given back, memory the work freed goes back to the system
(`core.infra.memory.give_back`), so an idle server shrinks again. `HEAVY` is the lab's one gate, with
`LLM_LAB_HEAVY_SLOTS` slots (default 2: one per core of a small server).
"""

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.infra.memory import give_back

POLL_S = 0.5  # how often a waiting learner is told where they stand (and may give up: a rerun, a closed tab)


class Admission:
    """At most `slots` holders at once; the others queue in arrival order."""

    def __init__(self, slots: int):
        if slots < 1:
            raise ValueError("an admission gate needs at least one slot")
        self.slots = slots
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._busy = 0
        self._tickets = itertools.count()
        self._held = threading.local()  # how many nested slots this thread holds

    @property
    def busy(self) -> int:
        """Slots held now."""
        return self._busy

    @property
    def waiting(self) -> int:
        """Holders queued for a slot now."""
        return len(self._queue)

    def held(self) -> bool:
        """Does the calling thread hold a slot already?"""
        return getattr(self._held, "depth", 0) > 0

    def _admit(self, ticket: int) -> int | None:
        """Take a slot if it is `ticket`'s turn and one is free (None), else how many wait ahead of it."""
        with self._cond:
            if self._queue[0] == ticket and self._busy < self.slots:
                self._queue.popleft()
                self._busy += 1
                self._cond.notify_all()  # the next in line may find a slot too
                return None
            return self._queue.index(ticket)

    def _wait(self) -> None:
        with self._cond:
            self._cond.wait(POLL_S)

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold a slot for the `with` block, queueing for one first if all are busy.

        While it waits, `on_wait(ahead)` is called about every POLL_S seconds with the number of holders
        queued ahead of this one. It may raise (a page whose learner clicked elsewhere): the place in
        the queue is then given up and the exception goes on.
        """
        if self.held():
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        ticket = next(self._tickets)
        with self._cond:
            self._queue.append(ticket)
        try:
            while (ahead := self._admit(ticket)) is not None:
                if on_wait is not None:
                    on_wait(ahead)
                self._wait()
        except BaseException:
            with self._cond:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()
            raise
        self._held.depth = 1
        try:
            yield
        finally:
            self._held.depth = 0
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()
            give_back()


def slots_from_environment(default: int = 2) -> int:
    """LLM_LAB_HEAVY_SLOTS when it is a whole number of at least 1, else `default`.

    >>> slots_from_environment(default=3) >= 1
    True
    """
    try:
        return max(1, int(os.environ.get("LLM_LAB_HEAVY_SLOTS", default)))
    except ValueError:
        return default


def threads_per_slot(slots: int, cpus: int | None = None) -> int:
    """Torch threads for one piece of heavy work: the CPUs this process may use, shared among the slots.

    torch's intra-op threads are per process, and each splits every operation and then waits for the
    others. More threads than CPUs make them wait on each other: on the shared 2-core machine, 300 steps
    of the seq2seq page's transformer took 6 s of CPU on one thread and 129 s on two while another job
    ran. So two slots on two CPUs get one thread each; an 8-CPU laptop gives each of its two slots four.

    >>> threads_per_slot(2, cpus=2), threads_per_slot(2, cpus=8), threads_per_slot(4, cpus=2)
    (1, 4, 1)
    """
    return max(1, (cpus or len(os.sched_getaffinity(0))) // slots)


HEAVY = Admission(slots_from_environment())
