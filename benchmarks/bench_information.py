"""Information theory lab: our code beside the references it is tested against, plus the learning-curve figures.

    python benchmarks/bench_information.py      # writes benchmarks/results/information.json

- n-gram LM (add-k): fit + held-out cross-entropy, ours vs nltk.lm.Lidstone on the same Markov text
- entropy / KL on a million outcomes, ours vs scipy.stats.entropy
- Huffman code on 100,000 outcomes
- cross-entropy loss forward + backward, ours vs torch.nn.functional.cross_entropy (batch 256, 32,000 classes)
- held-out cross-entropy of unigram/bigram/trigram models at 100k training tokens vs the source's entropy rate
- each page's rerun time after one analytic control moves (AppTest)
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parents[1]))

from benchmarks.timing import Timing, measure, race, timed  # noqa: E402
from core.foundations import cross_entropy_loss, prefix_codes  # noqa: E402
from core.foundations import information as info  # noqa: E402
from core.lm.markov_source import MarkovSource, SourceConfig  # noqa: E402
from core.lm.ngram import LearningCurveConfig, NGramConfig, NGramLM, learning_curve  # noqa: E402

OUT = Path(__file__).parent / "results" / "information.json"


def ngram_race(n_train=30_000, n_heldout=5_000, order=3, k=0.1) -> dict:
    from nltk.lm import Lidstone
    from nltk.util import everygrams

    source = MarkovSource(SourceConfig())
    train, heldout = source.sample(n_train, seed=0).split(), source.sample(n_heldout, seed=1).split()

    def ours():
        lm = NGramLM(NGramConfig(order=order, k=k)).fit(train)
        return lm.cross_entropy(heldout)

    def nltk():
        lm = Lidstone(k, order)
        lm.fit([everygrams(train, max_len=order)], vocabulary_text=train)
        grams = [tuple(heldout[i - order + 1 : i + 1]) for i in range(order - 1, len(heldout))]
        return lm.entropy(grams)  # nltk: mean -log2 score over the n-grams

    times = race({"ours": ours, "nltk": nltk}, repeats=3, warmup=0)
    return {"train_tokens": n_train, "heldout_tokens": n_heldout, "order": order,
            "ours_s": times["ours"].wall_s, "nltk_s": times["nltk"].wall_s, "ours_bits": ours(), "nltk_bits": nltk()}


def entropy_race(n=1_000_000) -> dict:
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    p, q = rng.random(n), rng.random(n)
    times = race({"entropy_ours_s": lambda: info.entropy(p), "entropy_scipy_s": lambda: entropy(p, base=2),
                  "kl_ours_s": lambda: info.kl_divergence(p, q), "kl_scipy_s": lambda: entropy(p, q, base=2)})
    return {"outcomes": n, **{name: t.wall_s for name, t in times.items()},
            "kl_abs_diff": abs(info.kl_divergence(p, q) - entropy(p, q, base=2))}


def huffman_timing(n=100_000) -> dict:
    p = np.random.default_rng(0).dirichlet(np.ones(n))
    code = prefix_codes.huffman_code(p)
    return {"outcomes": n, "seconds": timed(lambda: prefix_codes.huffman_code(p), repeats=3, warmup=0).wall_s,
            "entropy_bits": info.entropy(p), "average_length_bits": code.average_length(p)}


def loss_race(batch=256, classes=32_000) -> dict:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, classes, generator=g, requires_grad=True)
    target = torch.randint(0, classes, (batch,), generator=g)

    def run(fn):
        return lambda: torch.autograd.grad(fn(logits, target, label_smoothing=0.1), logits)

    times = race({"ours_s": run(cross_entropy_loss.cross_entropy_from_logits), "torch_s": run(F.cross_entropy)})
    return {"batch": batch, "classes": classes, **{name: t.wall_s for name, t in times.items()}}


def learning_curve_figures() -> dict:
    source = MarkovSource(SourceConfig())
    rows = learning_curve(source.sample(100_000, seed=0).split(), source.sample(20_000, seed=1).split(),
                          LearningCurveConfig(train_sizes=(1_000, 10_000, 100_000)), source)
    return {"entropy_rate_bits": source.entropy_rate, "rows": rows}


def page_reruns() -> dict:
    """Seconds for a page to rerun after one analytic control moves (AppTest, no browser; median of 3)."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).parents[1] / "streamlit_app.py")
    moves = {"pages/information_theory.py": ("slider", "P(six)", [0.2, 0.9, 0.5]),
             "pages/cross_entropy_loss.py": ("slider", "Label smoothing", [0.3, 0.0, 0.1]),
             # the n-gram page's training controls sit in a form; the corpus radio reruns it (its results are cached)
             "pages/ngram_perplexity.py": ("radio", "Text", ["Python's reference manual (real English)",
                                                             "Synthetic Markov source (known entropy rate)",
                                                             "Python's reference manual (real English)"])}
    out = {}
    for path, (kind, label, values) in moves.items():
        at = AppTest.from_file(app, default_timeout=300).run().switch_page(path).run()
        widget = next(w for w in getattr(at, kind) if w.label.startswith(label))
        times = Timing()
        for v in values:
            widget.set_value(v)
            times.add(*measure(at.run)[:2])
            widget = next(w for w in getattr(at, kind) if w.label.startswith(label))
        out[path] = times.wall_s
    return out


def main() -> None:
    results = {"torch_threads": torch.get_num_threads(), "ngram": ngram_race(), "entropy": entropy_race(),
               "huffman": huffman_timing(), "loss": loss_race(), "learning_curve": learning_curve_figures(),
               "page_rerun_s": page_reruns()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    n, e, h, lo = results["ngram"], results["entropy"], results["huffman"], results["loss"]
    print(f"{'what':46s} {'ours':>10s} {'reference':>10s}")
    print(f"{'trigram fit+score, 30k/5k tokens (s) vs nltk':46s} {n['ours_s']:10.3f} {n['nltk_s']:10.3f}"
          f"   bits {n['ours_bits']:.6f} vs {n['nltk_bits']:.6f}")
    print(f"{'entropy, 1M outcomes (s) vs scipy':46s} {e['entropy_ours_s']:10.4f} {e['entropy_scipy_s']:10.4f}")
    print(f"{'KL, 1M outcomes (s) vs scipy':46s} {e['kl_ours_s']:10.4f} {e['kl_scipy_s']:10.4f}   |diff| {e['kl_abs_diff']:.1e}")
    print(f"{'Huffman, 100k outcomes (s)':46s} {h['seconds']:10.3f} {'':>10s}   "
          f"L {h['average_length_bits']:.4f} vs H {h['entropy_bits']:.4f}")
    print(f"{'CE loss fwd+bwd, 256 x 32k (s) vs torch':46s} {lo['ours_s']:10.4f} {lo['torch_s']:10.4f}")
    for path, seconds in results["page_rerun_s"].items():
        print(f"{'page rerun after a control moves: ' + path.removeprefix('pages/').removesuffix('.py'):46s} {seconds:10.3f}")
    lc = results["learning_curve"]
    print(f"\nentropy rate {lc['entropy_rate_bits']:.4f} bits/token; held-out cross-entropy (measured / exact):")
    for r in lc["rows"]:
        print(f"  {r['order']}-gram, {r['train_tokens']:>7,} tokens: {r['measured_bits']:.4f} / {r['exact_bits']:.4f}  "
              f"(perplexity {r['perplexity']:.2f})")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
