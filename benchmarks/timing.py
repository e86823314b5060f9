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
