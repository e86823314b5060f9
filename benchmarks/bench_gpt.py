"""The lab's GPT: training speed beside transformers' GPT-2, FLOP/s against the machine's matmul peak,
what three minutes of nanoGPT's CPU recipe reach on Python's manual, and the page's idle rerun.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_gpt.py [--threads 2] [--minutes 3] [--clock wall|cpu] [--quick])

- training tokens/s: our GPT and `GPT2LMHeadModel` with the same config, weights, batches, AdamW
  and torch threads, in interleaved blocks of steps (ours, theirs, ours, ...), medians (target: ours ≥ 1.0× theirs);
- achieved FLOP/s (6 per weight per token plus attention, core.transformers.gpt.flops_per_token) as a
  fraction of the measured float32 matmul peak (a 2048² matmul, best of several) (aim: 30 % or more);
- nanoGPT's CPU recipe (4 layers, 4 heads, width 128, context 64, batch 12, lr 1e-3 with warmup and
  cosine over 2,000 steps) trained for `--minutes` on the manual (bytes): the held-out loss on the
  whole split, beside the best add-k n-gram's on the same split (the GPT must be lower);
- the GPT page's AppTest rerun when nothing trains (target < 0.5 s), wall and CPU time.
The machine is shared: wall times grow with the load, CPU times much less; both are kept.
Writes benchmarks/results/gpt.json (gpt-threadsN.json with another --threads).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402

from core.infra import data  # noqa: E402
from core.lm.text_tokens import ByteTokenizer  # noqa: E402
from core.transformers import gpt_train  # noqa: E402
from core.transformers.gpt import GPT, GPTConfig, count_parameters, flops_per_token  # noqa: E402

RECIPE = GPTConfig(vocab_size=256, context=64, n_layer=4, n_head=4, n_embd=128)  # nanoGPT's shakespeare_char on a CPU
BATCH = 12


def matmul_peak(n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """float32 FLOP per wall second and per CPU second of one n × n matmul, best of `repeats` (what
    the BLAS can do on these threads; per CPU second it is what the cores do while they run us)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = [timed(lambda: a @ b) for _ in range(repeats)]
    return 2 * n**3 / min(t[0] for t in times), 2 * n**3 / min(t[1] for t in times)


def timed(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def twins(config: GPTConfig) -> tuple[GPT, GPT2LMHeadModel]:
    ours = GPT(config, torch.Generator().manual_seed(0))
    hf = ours.to_hf()
    hf.config.resid_pdrop = hf.config.embd_pdrop = hf.config.attn_pdrop = 0.0
    return ours.train(), hf.train().requires_grad_(True)


def race(config: GPTConfig, batch: int, blocks: int, steps_per_block: int) -> dict:
    """Training tokens/s of ours and GPT-2's, same weights and batches, interleaved blocks of steps."""
    ours, hf = twins(config)
    g = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, config.vocab_size, (batch, config.context + 1), generator=g) for _ in range(steps_per_block)]
    opts = {"ours": torch.optim.AdamW(ours.parameters(), lr=1e-4), "transformers": torch.optim.AdamW(hf.parameters(), lr=1e-4)}

    def block(who: str) -> None:
        for rows in batches:
            if who == "ours":
                loss = ours(rows[:, :-1], targets=rows[:, 1:]).loss
            else:
                loss = hf(rows[:, :-1], labels=rows[:, :-1]).loss  # transformers shifts the labels itself
            opts[who].zero_grad(set_to_none=True)
            loss.backward()
            opts[who].step()

    block("ours"), block("transformers")  # warm-up
    times = {"ours": [], "transformers": []}
    for _ in range(blocks):
        for who in times:
            times[who].append(timed(lambda who=who: block(who)))
    tokens = steps_per_block * batch * config.context
    out = {who: {"tokens_per_s": round(tokens / statistics.median(t[0] for t in ts)),
                 "tokens_per_cpu_s": round(tokens / statistics.median(t[1] for t in ts)),
                 "all_wall_s": [round(t[0], 3) for t in ts]} for who, ts in times.items()}
    out["ours_over_transformers"] = round(out["ours"]["tokens_per_s"] / out["transformers"]["tokens_per_s"], 3)
    out["parameters"] = count_parameters(ours)
    return out


def recipe_run(minutes: float, clock: str) -> dict:
    """nanoGPT's CPU recipe for `minutes` of training on the manual, judged on the whole held-out split.

    clock "wall": minutes of wall time (an idle machine); "cpu": minutes of this process's CPU time,
    which a busy neighbour does not eat into (with one thread: one core's minutes)."""
    text = data.python_docs_text()
    tc = gpt_train.TrainConfig(steps=2000, batch_size=BATCH, lr=1e-3, warmup=100, beta2=0.99, eval_every=250)
    now = time.perf_counter if clock == "wall" else time.process_time
    stop_at, wall0, cpu0 = now() + 60 * minutes, time.perf_counter(), time.process_time()
    run = gpt_train.fit(RECIPE, tc, text, ByteTokenizer(), on_step=lambda s, m: now() < stop_at)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    val = run.val_loss if run.val_loss is not None else gpt_train.evaluate(run.model, run.data.val)
    baseline = gpt_train.best_ngram(run.data, 256)
    return {"minutes": minutes, "clock": clock, "wall_s": round(wall), "cpu_s": round(cpu), "steps": run.step,
            "tokens_per_s": round(run.history.last("tokens_per_s")),
            "val_loss_nats": round(val, 4), "val_bits_per_byte": round(val / gpt_train.LN2, 4),
            "ngram": {"order": baseline.order, "k": baseline.k, "val_bits_per_byte": round(baseline.val_bits, 4)},
            "gpt_beats_ngram": val / gpt_train.LN2 < baseline.val_bits, "last_sample": run.samples[-1][1] if run.samples else ""}


def page_rerun(repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at = at.switch_page("pages/gpt.py").run()
    at.run()  # caches warm
    times = []
    for _ in range(repeats):
        times.append(timed(at.run))
    assert not at.exception, [e.value for e in at.exception]
    return {"median_wall_s": round(statistics.median(t[0] for t in times), 3),
            "median_cpu_s": round(statistics.median(t[1] for t in times), 3), "all_wall_s": [round(t[0], 3) for t in times]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what the minutes count (cpu: on a busy machine)")
    p.add_argument("--quick", action="store_true", help="a smoke test: short race, 0.2-minute recipe, 2 reruns")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    result = {"threads": a.threads, "cpus": os.cpu_count(), "load_average": os.getloadavg(), "torch": torch.__version__}
    peak, peak_cpu = matmul_peak()
    result["matmul_peak_gflops"] = {"per_wall_s": round(peak / 1e9, 1), "per_cpu_s": round(peak_cpu / 1e9, 1)}
    result["race"] = race(RECIPE, BATCH, blocks=2 if a.quick else 7, steps_per_block=3 if a.quick else 10)
    achieved = flops_per_token(RECIPE) * result["race"]["ours"]["tokens_per_s"]
    achieved_cpu = flops_per_token(RECIPE) * result["race"]["ours"]["tokens_per_cpu_s"]
    result["achieved_gflops"] = {"per_wall_s": round(achieved / 1e9, 1), "per_cpu_s": round(achieved_cpu / 1e9, 1)}
    result["fraction_of_peak"] = round(achieved / peak, 3)  # on an idle machine; on a busy one read the next line
    result["fraction_of_peak_cpu_time"] = round(achieved_cpu / peak_cpu, 3)
    print(json.dumps(result, indent=1), flush=True)
    result["recipe"] = recipe_run(0.2 if a.quick else a.minutes, a.clock)
    print(json.dumps(result["recipe"], indent=1), flush=True)
    result["page_rerun"] = page_rerun(2 if a.quick else 7)
    result["load_average_after"] = os.getloadavg()
    out = ROOT / "benchmarks" / "results" / ("gpt.json" if a.threads == 2 else f"gpt-threads{a.threads}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    print(f"ours / transformers training tokens/s: {result['race']['ours_over_transformers']} (target ≥ 1.0); "
          f"{result['fraction_of_peak']:.0%} of the matmul peak ({result['fraction_of_peak_cpu_time']:.0%} by CPU time); "
          f"after {a.minutes} min the GPT's held-out "
          f"{result['recipe']['val_bits_per_byte']} bits/byte vs the n-gram's {result['recipe']['ngram']['val_bits_per_byte']}; "
          f"page rerun {result['page_rerun']['median_wall_s']} s")


if __name__ == "__main__":
    main()
