"""Seq2seq timings on the number task at its default length (words → digits, up to 4 digits, training sources ≤ 34 characters).

    ./lab bench        (or: .venv/bin/python benchmarks/bench_seq2seq.py [--seconds 20] [--repeats 3] [--threads 2])

1. Time to 95 %: the transformer with the page's default settings trains until its exact match on ALL
   held-out test pairs reaches 95 % (checked every 25 steps, the checks' time included); wall and CPU seconds, steps.
2. Equal time: each model trains for the same number of seconds, of CPU time by default (`--clock cpu`: on a
   shared machine another process's load does not eat the budget) or of wall time (`--clock wall`, the page's
   'same seconds'), the three interleaved in rotating order, `repeats` times; medians of held-out exact match
   (test lengths and longer-than-training), steps taken, and pairs per second.
Writes benchmarks/results/seq2seq.json. The machine may be shared: CPU seconds beside wall seconds.
"""

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.transformers import seq2seq_train as s2s  # noqa: E402
from core.transformers.translation_task import TaskConfig, make_task  # noqa: E402


def time_to_target(task, target: float = 0.95, max_steps: int = 5000, check_every: int = 25) -> dict:
    """Train the default transformer, scoring ALL test pairs every `check_every` steps (fit's own check), until `target`."""
    tc = replace(s2s.TrainConfig(model="transformer"), steps=max_steps, eval_every=check_every, eval_pairs=len(task.test))
    seen = []

    def on_step(step, metrics):
        if "test_exact" in metrics:
            seen.append((step, round(metrics["test_exact"], 4)))
            return metrics["test_exact"] < target
        return True

    w0, c0 = time.perf_counter(), time.process_time()
    run = s2s.fit(tc, task, on_step)
    reached = bool(seen) and seen[-1][1] >= target
    return {"target_exact": target, "reached": reached, "steps": run.steps, "wall_s": round(time.perf_counter() - w0, 2),
            "cpu_s": round(time.process_time() - c0, 2), "checks (step, exact)": seen[-8:]}


def equal_time(task, seconds: float, repeats: int, clock: str = "cpu") -> dict:
    """Each model trains for `seconds` of CPU time (clock="cpu", fair on a shared machine: another process's load
    does not eat the budget) or of wall time (clock="wall": TrainConfig.seconds, what the page's 'same seconds' does)."""
    results = {name: [] for name in s2s.MODELS}
    for r in range(repeats):
        order = s2s.MODELS[r % 3:] + s2s.MODELS[:r % 3]  # rotate who trains first
        for name in order:
            wall_budget = seconds if clock == "wall" else 0.0
            tc = replace(s2s.TrainConfig(model=name), steps=s2s.MAX_STEPS, seconds=wall_budget, eval_every=10**9)
            c0 = time.process_time()
            cpu_budget = (lambda step, metrics, c0=c0: time.process_time() - c0 < seconds) if clock == "cpu" else None
            run = s2s.fit(tc, task, cpu_budget)
            cpu = time.process_time() - c0
            frame = s2s.score(run.model, task.test + task.longer, task.vocab)
            cap = task.config.train_max_chars
            results[name].append({"steps": run.steps, "cpu_s": cpu, "wall_s": run.seconds,
                                  "test_exact": frame[frame.length <= cap].exact.mean(),
                                  "longer_exact": frame[frame.length > cap].exact.mean(),
                                  "pairs_per_s": run.steps * tc.batch_size / run.seconds})
    med = lambda rows, k: round(float(statistics.median(r[k] for r in rows)), 4)
    keys = ("steps", "cpu_s", "wall_s", "test_exact", "longer_exact", "pairs_per_s")
    return {name: {k: med(rows, k) for k in keys} for name, rows in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="training seconds per model in the equal-time race")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the lab's machines have 2 cores)")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu", help="what the equal-time budget counts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = make_task(TaskConfig())
    race = equal_time(task, args.seconds, args.repeats, args.clock)
    out = {"task": {"train": len(task.train), "test": len(task.test), "longer": len(task.longer), **vars(task.config)},
           "threads": args.threads, "time_to_95": time_to_target(task),
           "equal_time": {"seconds_per_model": args.seconds, "clock": args.clock, **race}}
    path = ROOT / "benchmarks" / "results" / "seq2seq.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
