"""Linear probe vs LoRA vs full fine-tuning of MiniLM on the lab's sentiment set, one run side by side.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_lora.py [--epochs 3] [--budget SECONDS] [--threads 2]
                        [--methods lora])

Does held-out accuracy predict accuracy on new text? Each trained model is also scored on
benchmarks/data/sentiment_outside.csv: 100 sentences (50/50) written apart from the bundled set, in other
domains (plumbers, ferries, tax software, dentists…), longer, with negation, contrast, sarcasm and
understatement. `outside_accuracy` beside `held_out_accuracy`, the gap between them and each one's 95%
Wilson interval (chance alone moves an accuracy on 100 sentences by about ±7 points) are in the JSON.
Issue 14: held-out accuracy must predict the outside one, so the bundled test rows include sentences
that state what happened and leave the verdict to the reader, as the outside ones do
(core/infra/assets/README.md); the outside set never enters training or the choice of defaults.

The same training sentences, batches, seed and head for all three; each with its own learning
rate (core.llm.finetune.DEFAULT_LR). Each run does `--epochs` passes (or stops once its training time
passes `--budget`). Reports trainable parameters, steps/s, training time, peak memory (bytes
allocated above the level before training), held-out accuracy on the bundled test rows, and the
training time to reach 80% and 85% held-out accuracy (evaluated every 4 steps; evaluation time
excluded). Target (issue 7): LoRA reaches ≥ 85% within 60 s of training on 2 CPU cores, so torch
is limited to `--threads` (default 2) threads whatever the machine has; the JSON records both.
(The 85% was set on the easier test rows before issue 14; on today's split 80% is the comparable mark.)

Wall time is only meaningful on an idle machine, so the load average is recorded, and so is the
process's CPU time to each accuracy: on 2 idle cores the wall time would lie between CPU/2
(perfect use of both cores) and CPU/1. Writes benchmarks/results/lora.json.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from core.infra.data import sentiment  # noqa: E402
from core.infra.models import load  # noqa: E402
from core.llm import finetune as ft  # noqa: E402

TARGETS = (0.80, 0.85)
OUTSIDE = ROOT / "benchmarks" / "data" / "sentiment_outside.csv"  # written apart from the training data


def outside_accuracy(result: ft.FinetuneResult) -> float:
    """Accuracy of a trained model on the sentences written outside the bundled set."""
    outside = pd.read_csv(OUTSIDE)
    predicted = ft.predict(result, outside.text.tolist()).idxmax(axis=1).to_numpy()
    return float((predicted == outside.label.to_numpy()).mean())


def interval(accuracy: float, n: int) -> list[float]:
    """95% Wilson interval of an accuracy measured on n sentences (how far chance alone moves it)."""
    ci = binomtest(round(accuracy * n), n).proportion_ci(0.95, method="wilson")
    return [round(float(ci.low), 3), round(float(ci.high), 3)]


def run(config: ft.FinetuneConfig, budget_s: float, base) -> dict:
    def on_step(step: int, metrics: dict) -> bool:  # stop once the training time passes the budget
        return metrics.get("train_s", 0.0) < budget_s

    result = ft.fit(config, sentiment("train"), sentiment("test"), on_step, base)
    h = result.history
    out = {"trainable_parameters": result.trainable, "total_parameters": result.total,
           "steps": h.steps[-1], "steps_per_s": round(h.last("steps_per_s"), 3),
           "train_steps_per_s": round(h.steps[-1] / result.train_s, 3),
           "train_s": round(result.train_s, 1), "wall_s": round(result.wall_s, 1),
           "peak_memory_mb": round(result.peak_memory / 1e6, 1), "held_out_accuracy": round(result.test_acc, 4),
           "outside_accuracy": round(outside_accuracy(result), 4),
           "best_held_out_accuracy": round(float(np.nanmax(h.metrics["test_acc"])), 4),
           "train_cpu_s": round(h.metrics["train_cpu_s"][-1], 1),
           "lr": config.lr, "config": asdict(config)}
    n_outside = len(pd.read_csv(OUTSIDE))
    out["held_out_minus_outside"] = round(out["held_out_accuracy"] - out["outside_accuracy"], 4)
    out["held_out_95pct"] = interval(result.test_acc, len(result.test))
    out["outside_95pct"] = interval(out["outside_accuracy"], n_outside)
    for target in TARGETS:
        for clock, name in (("train_s", "s"), ("train_cpu_s", "cpu_s")):
            secs = ft.time_to_accuracy(h, target, clock)
            out[f"time_to_{int(target * 100)}pct_{name}"] = round(secs, 1) if secs != float("inf") else None
        steps = [s for s, a in zip(h.steps, h.metrics["test_acc"]) if a >= target]
        out[f"steps_to_{int(target * 100)}pct"] = steps[0] if steps else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=float("inf"), help="stop a method after this many training seconds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads: the target is for 2 CPU cores")
    parser.add_argument("--methods", nargs="+", choices=ft.METHODS, default=list(ft.METHODS), help="which methods to run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = load("minilm")
    load_before = os.getloadavg()
    results = {}
    for method, config in ft.race_configs(ft.FinetuneConfig(epochs=args.epochs, eval_every=4)).items():
        if method not in args.methods:
            continue
        results[method] = run(config, args.budget, base)
        print(f"{method}: done ({results[method]['train_s']} s)", flush=True)
    train, test = sentiment("train"), sentiment("test")
    report = {"what": f"probe vs LoRA vs full fine-tuning, MiniLM, LLM Lab sentiment set ({len(train)} train / {len(test)} test); "
                      f"outside: {OUTSIDE.relative_to(ROOT)}, {len(pd.read_csv(OUTSIDE))} sentences written apart from it",
              "budget_s": args.budget, "epochs": args.epochs, "threads_requested": args.threads, "torch_threads": torch.get_num_threads(),
              "cpu_count": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "lora_reached_85pct_within_60s_wall": (results.get("lora", {}).get("time_to_85pct_s") or 1e9) <= 60,
              "lora_reached_85pct_within_60s_cpu": (results.get("lora", {}).get("time_to_85pct_cpu_s") or 1e9) <= 60,
              "methods": results, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    out = ROOT / "benchmarks" / "results" / "lora.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    cols = ["trainable_parameters", "steps", "train_steps_per_s", "train_s", "train_cpu_s", "peak_memory_mb", "held_out_accuracy",
            "outside_accuracy", "held_out_minus_outside", "held_out_95pct", "outside_95pct", "steps_to_85pct", "time_to_85pct_s",
            "time_to_85pct_cpu_s"]
    for method, r in results.items():
        print(f"{method}: " + ", ".join(f"{c}={r[c]}" for c in cols))
    print(f"load average before/after: {report['load_average_before']} / {report['load_average_after']} "
          f"({report['torch_threads']} torch threads on {report['cpu_count']} cores; a load above the thread count makes the wall "
          f"timings pessimistic) · LoRA ≥85% within 60 s: wall {report['lora_reached_85pct_within_60s_wall']}, "
          f"CPU {report['lora_reached_85pct_within_60s_cpu']}")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
