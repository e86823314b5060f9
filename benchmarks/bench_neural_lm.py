"""Neural language models: our Kneser-Ney against nltk.lm's, our LSTM against torch's fused one, the ladder's default run.

    python benchmarks/bench_neural_lm.py [--threads 2] [--quick]     # writes benchmarks/results/neural_lm.json

- Kneser-Ney scoring throughput: the same interpolated trigram (discount 0.75, nltk's conventions: every j-gram
  counted, training singletons as <UNK>), ours (core.lm.ngram, nltk_kn=True) vs nltk.lm.KneserNeyInterpolated, on
  word tokens of Python's manual and on the Markov text. nltk scores a few hundred tokens per second at best, so
  it is timed on a slice; ours on the whole held-out part and on the same slice; the perplexities on the slice
  must agree. Target: ours >= 5,000x nltk's tokens/s on the manual.
- Recurrent training tokens/s: one LSTM language model (embedding 16, hidden 64, batch 64 x 32 tokens) trained
  with core.nn.recurrent's LSTM cells (a Python loop over time) and with torch.nn.LSTM (fused), same weights,
  same batches, interleaved; medians and the ratio.
  Measured at 1 thread and at --threads.
- The ladder's default run (core.lm.ladder: n-gram, MLP, RNN, GRU, LSTM, GPT on the Markov text, 400 steps each):
  seconds per rung and in total, wall and CPU. Target: under 3 minutes on 2 cores.

The machine may be shared: contenders are interleaved and repeated, and CPU time is reported beside wall time.
"""

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1]))

from benchmarks.timing import measure, race  # noqa: E402
from core.lm import ladder  # noqa: E402
from core.lm.neural_lm import next_token_loss  # noqa: E402
from core.lm.ngram import NGramConfig, NGramLM, words  # noqa: E402
from core.lm.rnn_lm import RNNLM, RNNLMConfig  # noqa: E402
from core.training import generators, init_parameters  # noqa: E402

OUT = Path(__file__).parent / "results" / "neural_lm.json"


def kneser_ney_race(tokens: list[str], name: str, slice_tokens: int, repeats: int) -> dict:
    from nltk.lm import KneserNeyInterpolated, Vocabulary
    from nltk.util import everygrams

    cut = int(0.9 * len(tokens))
    train, heldout = tokens[:cut], tokens[cut:]
    ours = NGramLM(NGramConfig(order=3, smoothing="kneser-ney", discount=0.75, nltk_kn=True, unk_cutoff=2)).fit(train)
    ref = KneserNeyInterpolated(3, discount=0.75, vocabulary=Vocabulary(train, unk_cutoff=2))
    ref.fit([everygrams(train, max_len=3)])
    grams = [tuple(heldout[i - 2 : i + 1]) for i in range(2, len(heldout))]
    part = grams[:slice_tokens]
    times = race({"ours_full": lambda: ours.surprisals(heldout),  # the same trigrams, read from the stream
                  "ours_slice": lambda: ours.score_ngrams(part),
                  "nltk_slice": lambda: [ref.logscore(g[-1], g[:-1]) for g in part]}, repeats=repeats, warmup=0)
    full_bits, ours_bits = ours.surprisals(heldout), ours.score_ngrams(part)
    assert np.array_equal(full_bits, ours.score_ngrams(grams))  # the stream scores exactly those trigrams
    nltk_bits = -np.array([ref.logscore(g[-1], g[:-1]) for g in part])
    ours_rate, nltk_rate = len(grams) / times["ours_full"].cpu_s, len(part) / times["nltk_slice"].cpu_s
    return {"corpus": name, "train_tokens": len(train), "heldout_tokens": len(grams), "nltk_slice_tokens": len(part),
            "vocabulary": len(ours.vocab), "ours_tokens_per_cpu_s": ours_rate, "nltk_tokens_per_cpu_s": nltk_rate,
            "speedup": ours_rate / nltk_rate, "timings": {k: t.summary(6) for k, t in times.items()},
            "perplexity_ours_slice": 2 ** float(np.mean(ours_bits)), "perplexity_nltk_slice": 2 ** float(np.mean(nltk_bits)),
            "max_abs_bits_difference": float(np.max(np.abs(ours_bits - nltk_bits))),
            "perplexity_ours_full": 2 ** float(np.mean(full_bits)), "target_speedup": 5000,
            "target_met": ours_rate / nltk_rate >= 5000}


def lstm_race(steps: int, repeats: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    corpus = ladder.load_corpus("markov", n_tokens=50_000)
    config = RNNLMConfig(kind="lstm", embed=16, hidden=64)
    batch, block = 64, 32

    class Fused(torch.nn.Module):
        def __init__(self, ours: RNNLM):
            super().__init__()
            self.embedding, self.out, self.rnn = ours.embedding, ours.out, ours.rnn.torch_twin()

        def forward(self, x):
            return self.out(self.rnn(self.embedding(x))[0])

    _, g = generators(0)
    ours = init_parameters(RNNLM(config, len(corpus.vocab)), g)
    ours.rnn.reset_parameters(g)
    fused = Fused(RNNLM(config, len(corpus.vocab)))
    fused.load_state_dict({k.replace("rnn.cells.0.", "rnn.").replace("_ih", "_ih_l0").replace("_hh", "_hh_l0") if "cells" in k else k: v
                           for k, v in ours.state_dict().items()})
    train = torch.as_tensor(corpus.train)
    rng = np.random.default_rng(0)
    batches = [train[torch.as_tensor(rng.integers(0, len(train) - block - 1, batch))[:, None] + torch.arange(block + 1)]
               for _ in range(steps)]
    models = {"ours": ours, "torch_fused": fused}
    optimizers = {k: torch.optim.Adam(m.parameters(), lr=1e-2) for k, m in models.items()}

    def train_steps(name):
        losses = []
        for w in batches:
            loss = next_token_loss(models[name](w[:, :-1]), w[:, 1:])
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
            losses.append(loss.item())
        return losses

    first = {name: train_steps(name) for name in models}  # also the warm-up round
    times = race({name: (lambda name=name: train_steps(name)) for name in models}, repeats=repeats, warmup=0)
    tokens = steps * batch * block
    rate = {k: tokens / t.cpu_s for k, t in times.items()}
    return {"threads": threads, "embed": 16, "hidden": 64, "batch": batch, "block": block, "steps_per_repeat": steps, "repeats": repeats,
            "ours_tokens_per_cpu_s": rate["ours"], "torch_fused_tokens_per_cpu_s": rate["torch_fused"],
            "ours_tokens_per_wall_s": tokens / times["ours"].wall_s, "torch_fused_tokens_per_wall_s": tokens / times["torch_fused"].wall_s,
            "ratio_ours_over_fused": rate["ours"] / rate["torch_fused"],
            "first_losses_equal_to_1e-5": bool(np.allclose(first["ours"][:3], first["torch_fused"][:3], atol=1e-5))}


def ladder_run() -> dict:
    corpus = ladder.load_corpus("markov")
    config = ladder.LadderConfig()
    rungs = {}
    total_wall, total_cpu = time.perf_counter(), time.process_time()
    for name in config.rungs:
        wall, cpu, results = measure(lambda name=name: ladder.run_rung(name, config, corpus))
        rungs[name] = {"wall_s": wall, "cpu_s": cpu, "heldout_bits": {r.name: r.heldout_bits for r in results},
                       "parameters": {r.name: r.n_parameters for r in results}}
    wall, cpu = time.perf_counter() - total_wall, time.process_time() - total_cpu
    return {"corpus": "markov", "entropy_rate_bits": corpus.entropy_rate, "steps_per_network": config.train.steps, "rungs": rungs,
            "total_wall_s": wall, "total_cpu_s": cpu, "target_s": 180, "target_met": wall < 180}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the lab's target machine has 2 cores)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and slices: a smoke test")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from core.infra.data import python_docs_text
    from core.lm.markov_source import MarkovSource, SourceConfig

    manual = words(python_docs_text())
    markov = MarkovSource(SourceConfig()).sample(100_000).split()
    slice_tokens, repeats = (60, 1) if args.quick else (300, 3)
    results = {"machine": {"cpus": __import__("os").cpu_count(), "torch_threads": torch.get_num_threads(),
                           "load_average": list(__import__("os").getloadavg()), "python": platform.python_version(),
                           "torch": torch.__version__},
               "kneser_ney": [kneser_ney_race(manual, "python-docs words", slice_tokens, repeats),
                              kneser_ney_race(markov, "markov words", 10 * slice_tokens, repeats)],
               "lstm_training": {f"{n}_threads": lstm_race(10 if args.quick else 40, 1 if args.quick else 3, n) for n in (1, args.threads)},
               "ladder_default_run": ladder_run()}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    for kn in results["kneser_ney"]:
        print(f"Kneser-Ney trigram on {kn['corpus']}: ours {kn['ours_tokens_per_cpu_s']:,.0f} tokens/s, "
              f"nltk {kn['nltk_tokens_per_cpu_s']:,.0f} "
              f"-> {kn['speedup']:,.0f}x; perplexity {kn['perplexity_ours_slice']:.6f} vs {kn['perplexity_nltk_slice']:.6f} "
              f"(max |bits diff| {kn['max_abs_bits_difference']:.1e})")
    for lstm in results["lstm_training"].values():
        print(f"LSTM training, {lstm['threads']} thread(s): ours {lstm['ours_tokens_per_cpu_s']:,.0f} tokens/CPU-s, "
              f"torch fused {lstm['torch_fused_tokens_per_cpu_s']:,.0f} (ours/fused = {lstm['ratio_ours_over_fused']:.2f})")
    lad = results["ladder_default_run"]
    print(f"Ladder default run: {lad['total_wall_s']:.1f} s wall, {lad['total_cpu_s']:.1f} s CPU "
          + " · ".join(f"{k} {v['wall_s']:.1f}s" for k, v in lad["rungs"].items()))
    print(f"wrote {OUT}")
    if not all(math.isfinite(k["speedup"]) for k in results["kneser_ney"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
