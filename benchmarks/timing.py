"""How every benchmark of the lab times things, on a machine other processes share.

- Interleave the contenders: each round runs every one of them once, in an order that rotates from
  round to round, so a burst of load from elsewhere slows all of them alike, not whichever ran then.
- Repeat, and report the median (one unlucky round does not move it) beside the fastest run.
- Report CPU seconds beside wall seconds: another process's load stretches this one's wall time,
  not its CPU time.

    times = race({"ours": lambda: ours(x), "scipy": lambda: theirs(x)}, repeats=5)
    times["ours"].wall_s, times["ours"].cpu_s, times["ours"].summary()

>>> t = race({"a": lambda: sum(range(100)), "b": lambda: sorted(range(100))}, repeats=3)
>>> sorted(t), len(t["a"].walls), t["a"].wall_s <= max(t["a"].walls)
(['a', 'b'], 3, True)
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def measure(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, its result) of one call fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


@dataclass
class Timing:
    """Every run's wall and CPU seconds, and their medians."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.walls.append(wall)
        self.cpus.append(cpu)

    @property
    def wall_s(self) -> float:
        return statistics.median(self.walls)

    @property
    def best_wall_s(self) -> float:
        return min(self.walls)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpus)

    def summary(self, digits: int = 4) -> dict:
        """What a results JSON keeps: medians, the fastest run, how many runs."""
        return {"wall_s": round(self.wall_s, digits), "best_wall_s": round(self.best_wall_s, digits),
                "cpu_s": round(self.cpu_s, digits), "runs": len(self.walls)}


def race(contenders: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1) -> dict[str, Timing]:
    """Time each contender `repeats` times, interleaved round by round, after `warmup` untimed rounds
    (first calls allocate caches and pick kernels)."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    times = {name: Timing() for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            wall, cpu, _ = measure(contenders[name])
            times[name].add(wall, cpu)
    return times


def timed(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> Timing:
    """One contender alone: `race` of one."""
    return race({"": fn}, repeats, warmup)[""]


def page_reruns(controls: list[tuple], move: Callable, trials: int, name: Callable[[int, tuple], str],
                timeout_s: int = 300, clear: Callable[[], None] = lambda: None) -> dict[tuple[str, str], tuple[Timing, list[str]]]:
    """Time a page's rerun after a learner moves one control, for each (page, kind, which, value) in `controls`.

    Each trial starts with every cache empty (`clear` empties a benchmark's own), so each control's new value is
    computed from scratch: the cost of a first click on it. Pages open once per trial, controls move in order on
    them, as a learner's clicks follow one another. `move(at, kind, which, value)` sets one control;
    `name(number, control)` labels it. Returns (page, label) → (the timings, error texts seen) in control order."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).parents[1] / "streamlit_app.py")
    out: dict[tuple[str, str], tuple[Timing, list[str]]] = {}
    for _ in range(trials):
        st.cache_data.clear()
        st.cache_resource.clear()
        clear()
        apps: dict[str, AppTest] = {}
        for number, control in enumerate(controls, 1):
            page, kind, which, value = control
            if page not in apps:
                apps[page] = AppTest.from_file(app, default_timeout=timeout_s).run().switch_page(page).run()
            at = apps[page]
            move(at, kind, which, value)
            wall, cpu, _ = measure(at.run)
            timing, errors = out.setdefault((page, name(number, control)), (Timing(), []))
            timing.add(wall, cpu)
            errors.extend(str(e.value)[:80] for e in [*at.exception, *at.error])
    return out
