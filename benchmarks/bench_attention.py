"""Attention lab timings: all 6 layers × 12 heads of MiniLM for a 32-token sentence, once the model is cached.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_attention.py)

- core: `attention_heads.attentions` (one forward pass for the layer inputs + our attention for
  every layer), raced against transformers' own `output_attentions=True` eager forward;
  head statistics; BertViz head + model view HTML;
- page: AppTest of pages/attention_heads.py with the model already cached: a NEW 32-token sentence
  (cache miss: everything computed and drawn) and a rerun with unchanged widgets;
- ablation: switching off each of the 72 heads alone, batched in one pass vs 72 separate passes.
Target: a new sentence's heads appear in under 1 s. Writes benchmarks/results/attention.json.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.timing import measure, race, timed  # noqa: E402
from core.infra import bertviz_offline, models  # noqa: E402
from core.transformers import attention_heads as ah  # noqa: E402

WORDS = ("the quick brown fox jumps over a lazy dog while seven happy birds sing softly in tall green trees near "
         "an old stone bridge today and the river runs slowly past the quiet little town at night").split()
REPEATS = 7


def sentence(lm, n_tokens: int, shift: int = 0) -> str:
    """A sentence of exactly n_tokens tokens ([CLS] and [SEP] included), different for each shift."""
    words = WORDS[shift % len(WORDS):] + WORDS[: shift % len(WORDS)]
    text = " ".join(words[: n_tokens - 2])
    assert len(lm.tokenizer(text)["input_ids"]) == n_tokens, text
    return text


def reference_forward(lm, text):
    batch = lm.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return lm.model(**batch, output_attentions=True).attentions


def one_at_a_time(lm, text):
    layers, heads = ah.shape(lm.model)
    batch, _ = ah.model_inputs(lm, text)
    for layer in range(layers):
        for head in range(heads):
            mask = torch.ones(layers, heads)
            mask[layer, head] = 0
            with torch.no_grad(), ah.head_mask(lm.model, mask):
                lm.model(**batch)


def page_timings(lm) -> dict:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page("pages/attention_heads.py").run()  # loads the model into the cache
    shifts = iter(range(1, 100))

    def new_sentence():  # a different sentence each time: nothing cached but the model
        at.text_area[0].set_value(sentence(lm, 32, next(shifts))).run()
        assert not at.exception and not at.error

    return {"new_sentence": timed(new_sentence, REPEATS).summary(), "rerun": timed(at.run, REPEATS).summary()}


def main():
    load_s, _, lm = measure(lambda: models.load("minilm"))
    text = sentence(lm, 32)
    att = ah.attentions(lm, text)
    out = {
        "sentence_tokens": len(att.tokens),
        "heads": int(att.weights.shape[0] * att.weights.shape[1]),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "model_load_s": round(load_s, 2),
        **{name: t.summary() for name, t in race({"core_all_heads": lambda: ah.attentions(lm, text),
                                                   "transformers_output_attentions": lambda: reference_forward(lm, text)},
                                                  REPEATS).items()},
        "head_stats": timed(lambda: ah.head_stats(att), REPEATS).summary(),
        "bertviz_html": timed(lambda: (bertviz_offline.head_view_html(att.weights, att.tokens),
                                       bertviz_offline.model_view_html(att.weights, att.tokens)), REPEATS).summary(),
        "page": page_timings(lm),
        **{name: t.summary() for name, t in race({"ablation_batched_72_heads": lambda: ah.ablate_each_head(lm, text),
                                                   "ablation_one_at_a_time_72_heads": lambda: one_at_a_time(lm, text)},
                                                  1).items()},
        "load_average_at_end": os.getloadavg()[0],
    }
    new = out["page"]["new_sentence"]
    out["target_new_sentence_under_1s"] = {"wall": new["wall_s"] < 1.0, "best_wall": new["best_wall_s"] < 1.0, "cpu": new["cpu_s"] < 1.0}
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "attention.json").write_text(json.dumps(out, indent=2))
    print(f"MiniLM, {out['sentence_tokens']}-token sentence, {out['heads']} heads, {out['torch_threads']} torch threads, "
          f"{out['cpu_count']} CPUs, load average {out['load_average_at_start']:.1f} → {out['load_average_at_end']:.1f}")
    rows = [("all heads (ours: forward + from-scratch attention)", out["core_all_heads"]),
            ("all heads (transformers output_attentions, eager)", out["transformers_output_attentions"]),
            ("head statistics + labels", out["head_stats"]),
            ("BertViz head + model view HTML (offline)", out["bertviz_html"]),
            ("page: new sentence, everything drawn (AppTest)", out["page"]["new_sentence"]),
            ("page: rerun, unchanged widgets (AppTest)", out["page"]["rerun"]),
            ("ablation: 72 heads, one batched pass", out["ablation_batched_72_heads"]),
            ("ablation: 72 heads, 72 passes", out["ablation_one_at_a_time_72_heads"])]
    width = max(len(r[0]) for r in rows)
    print(f"{'(medians; best = fastest repeat)':<{width}}  {'wall ms':>9}  {'best ms':>9}  {'CPU ms':>9}")
    for name, t in rows:
        print(f"{name:<{width}}  {t['wall_s'] * 1000:9.1f}  {t['best_wall_s'] * 1000:9.1f}  {t['cpu_s'] * 1000:9.1f}")
    met = out["target_new_sentence_under_1s"]
    verdict = ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items())
    print(f"target: a new sentence's heads in < 1 s (median wall, best wall, median CPU) → {verdict}")


if __name__ == "__main__":
    main()
