"""Decoding speed with the offline SmolLM2-135M: our from-scratch loops beside `model.generate`.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_generation.py [--threads N] [--repeats R])

- greedy and beam search (width 3), ours and transformers', on the same prompt and settings,
  interleaved (ours, theirs, ours, theirs, ...) so a busy neighbour slows both alike; medians reported,
  plus the ratio theirs / ours of tokens per second (target: ours within 1.2x, i.e. ratio <= 1.2);
- the step view of pages/decoding.py: per click, one token through the page's KV cache
  (core.llm.generation.Stepper), then the filters and the top-20 table;
- the same click as the learner waits for it: AppTest clicks "Add it" on pages/decoding.py and the
  whole page reruns (step view, bar chart, chips, the cached strategies' table, the beam-search
  tree); median over several clicks (target: < 0.5 s per click).
Wall and CPU seconds are both kept: on a shared machine wall time grows with the load, CPU time
much less. Writes benchmarks/results/generation.json (generation-threadsN.json with --threads N).
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.timing import Timing, measure, timed  # noqa: E402
from core.infra import models  # noqa: E402
from core.llm import generation as g  # noqa: E402
from core.llm.prompting import prompt_token_ids  # noqa: E402

PROMPT = "The best thing about learning a new language is"
NEW_TOKENS = 32


def hf_generate(model, ids, **kwargs) -> list[int]:
    x = torch.tensor([ids])
    out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=NEW_TOKENS, do_sample=False, **kwargs)
    return out[0, len(ids):].tolist()


def race(model, ids, eos: int, repeats: int) -> dict:
    """Interleaved runs of each pair, both stopping at the model's EOS (this prompt runs the full length)."""
    pairs = {
        "greedy": (lambda: g.greedy(model, ids, NEW_TOKENS, eos).new_ids, lambda: hf_generate(model, ids)),
        "beam search, width 3": (lambda: g.beam_search(model, ids, NEW_TOKENS, 3, eos_token_id=eos).new_ids,
                                 lambda: hf_generate(model, ids, num_beams=3, early_stopping=False)),
    }
    results = {}
    for name, (ours, theirs) in pairs.items():
        ours(), theirs()  # warm-up: first calls allocate caches and pick kernels
        times = {"ours": Timing(), "transformers": Timing()}
        same = True
        for r in range(repeats):  # interleaved, the order alternating (as benchmarks/timing.race does)
            outputs = {}
            for who, fn in [("ours", ours), ("transformers", theirs)][::1 if r % 2 == 0 else -1]:
                wall, cpu, outputs[who] = measure(fn)
                times[who].add(wall, cpu)
            same &= outputs["ours"] == outputs["transformers"]
            n_tokens = len(outputs["ours"])
        row = {}
        for who, t in times.items():
            row[who] = {"median_wall_s": round(t.wall_s, 3), "median_cpu_s": round(t.cpu_s, 3),
                        "tokens_per_s": round(n_tokens / t.wall_s, 2), "all_wall_s": [round(w, 3) for w in t.walls]}
        row["ratio_theirs_speed_over_ours"] = round(row["transformers"]["tokens_per_s"] / row["ours"]["tokens_per_s"], 3)
        row["same_tokens"], row["tokens"] = same, n_tokens
        results[name] = row
    return results


def step_view(model, ids, repeats: int) -> dict:
    """What one click costs on the decoding page: next-token logits through the page's Stepper (its
    KV cache: one new token per click), then the filters and the top-20 table. The first view of a
    prompt reads the whole prompt; that is timed apart."""
    s = g.Sampling(temperature=0.8, top_k=50, top_p=0.9, min_p=0.02, repetition_penalty=1.2)
    text = ids + g.greedy(model, ids, repeats + 1).new_ids
    stepper = g.Stepper(model)
    first, _, _ = measure(lambda: g.next_tokens(stepper(ids), ids, s, 20))
    clicks = [measure(lambda n=n: g.next_tokens(stepper(text[:n]), text[:n], s, 20))[0] for n in range(len(ids) + 1, len(text) + 1)]
    return {"prompt_tokens": len(ids), "first_view_s": round(first, 3), "median_click_s": round(statistics.median(clicks), 3),
            "all_clicks_s": [round(c, 3) for c in clicks], "target_s": 0.5}


def page_click(clicks: int) -> dict:
    """One "Add it" click on the decoding page as AppTest runs it: the whole script reruns, as in the
    browser, minus the network. The first view (model load, five strategies decoded and cached) is
    not timed; each click adds the top token, so every click is a new step through the Stepper."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600).run()
    at.switch_page("pages/decoding.py").run()

    def click():
        next(b for b in at.button if b.label == "Add it").click().run()
        assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]

    times = timed(click, repeats=clicks, warmup=0)  # each click adds a token: every one is a new step
    assert len(at.session_state["decoding.chosen"]) == clicks
    return {"clicks": clicks, "median_wall_s": round(times.wall_s, 3), "median_cpu_s": round(times.cpu_s, 3),
            "all_wall_s": [round(w, 3) for w in times.walls], "target_s": 0.5, "target_met": times.wall_s < 0.5}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lm = models.load("smollm2")
    ids = prompt_token_ids(lm.tokenizer, PROMPT)
    load_before = os.getloadavg()[0]
    result = {
        "model": "SmolLM2-135M-Instruct (offline, float32)", "prompt_tokens": len(ids), "new_tokens": NEW_TOKENS,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "repeats": args.repeats,
        "race": race(lm.model, ids, lm.tokenizer.eos_token_id, args.repeats), "step_view": step_view(lm.model, ids, max(5, args.repeats)),
        "page_click": page_click(max(7, args.repeats)),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    name = f"generation-threads{args.threads}" if args.threads else "generation"  # a forced thread count keeps its own file
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"SmolLM2-135M, {len(ids)}-token prompt, {NEW_TOKENS} new tokens, {result['torch_threads']} torch threads, "
          f"load average {result['load_average_1min']}")
    print(f"{'strategy':<22} {'ours tok/s':>11} {'generate tok/s':>15} {'theirs/ours':>12} {'same tokens':>12}")
    for name, row in result["race"].items():
        print(f"{name:<22} {row['ours']['tokens_per_s']:>11.2f} {row['transformers']['tokens_per_s']:>15.2f} "
              f"{row['ratio_theirs_speed_over_ours']:>12.3f} {str(row['same_tokens']):>12}")
    sv = result["step_view"]
    print(f"step view (core): first view of the prompt {sv['first_view_s']:.3f} s, then median {sv['median_click_s']:.3f} s per step")
    pc = result["page_click"]
    print(f"decoding page, one 'Add it' click (AppTest rerun): median {pc['median_wall_s']:.3f} s wall, "
          f"{pc['median_cpu_s']:.3f} s CPU over {pc['clicks']} clicks (target < 0.5 s: {'met' if pc['target_met'] else 'NOT met'})")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
