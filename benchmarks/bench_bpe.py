"""Byte-pair encoding: our trainer and encoder (core/lm/bpe.py) beside Hugging Face `tokenizers` and the naive loop.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_bpe.py [--repeats R] [--naive-merges M])

- training 1,000 merges on Python's manual (~0.47 MB) with GPT-2's split: ours (BPETrainer: distinct chunks
  weighted, incremental counts) vs tokenizers' BpeTrainer (Rust, same ByteLevel pre-splitting) vs the naive
  loop (`train_naive`, recounts every pair after each merge). The naive loop would need minutes, so it runs M
  merges and is EXTRAPOLATED to 1,000: its setup (splitting) is timed apart, and each merge costs a pass over
  the corpus, whose length in tokens after every merge we know from our run, so the estimate is
  (seconds per token per pass, measured) × (sum of the corpus's lengths over the 1,000 merges). A plain
  1000/M × the measured merges is given too (it overestimates: later passes are shorter).
  Ours and tokenizers' are interleaved, repeated, medians reported, and their merges compared one for one.
  Targets: ours at least 100× faster than the naive loop, and within 10× of tokenizers.
- the same 1,000 merges with GPT-4's split, and with no split (the corpus as one sequence; tokenizers rescans
  its one long "word" at every merge, ~10 minutes here, so it races on the first 50,000 characters only).
- encoding throughput (MB/s) on the manual with SmolLM2's vocabulary: our encoder (BPETokenizer.from_hf) vs
  tokenizers' encode of the same text, cold (empty chunk caches) and warm, and its encode_batch_fast over the
  manual's lines; ids compared.
Wall and CPU seconds are both kept (the machine may be shared). Writes benchmarks/results/bpe.json.
"""

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

from core.infra import data  # noqa: E402
from core.infra import models as registry  # noqa: E402
from core.lm import bpe  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "bpe.json"
MERGES = 1_000
BYTE_OF = {c: b for b, c in bpe.bytes_to_unicode().items()}


def timed(fn) -> tuple[float, float, object]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def hf_train(text: str, merges: int, pattern: str | None) -> list[tuple[bytes, bytes]]:
    tokenizer = Tokenizer(models.BPE())
    level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pattern == "gpt2")
    tokenizer.pre_tokenizer = level if pattern in ("gpt2", None) else pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(bpe.PATTERNS[pattern]), behavior="isolated"), level])
    trainer = trainers.BpeTrainer(vocab_size=256 + merges, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator([text], trainer)
    return [tuple(bytes(BYTE_OF[c] for c in side) for side in (m.split(" ") if isinstance(m, str) else m))
            for m in json.loads(tokenizer.to_str())["model"]["merges"]]


def race(text: str, pattern: str | None, repeats: int, with_hf: bool = True) -> dict:
    """Ours and tokenizers', interleaved; medians of wall and CPU seconds; are the merges the same?"""
    contenders = {"ours": lambda: bpe.merges_of(bpe.BPETokenizer.train(text, 256 + MERGES, pattern))}
    if with_hf:
        contenders["tokenizers"] = lambda: hf_train(text, MERGES, pattern)
    runs = {name: [] for name in contenders}
    merges = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            wall, cpu, merges[name] = timed(fn)
            runs[name].append((wall, cpu))
    out = {"chars": len(text), "bytes": len(text.encode()), "pattern": pattern, "merges": MERGES}
    for name, times in runs.items():
        out[f"{name}_s"] = statistics.median(t[0] for t in times)
        out[f"{name}_cpu_s"] = statistics.median(t[1] for t in times)
    if with_hf:
        out["same_merges"] = merges["ours"] == merges["tokenizers"]
        out["ours_vs_tokenizers"] = out["ours_s"] / out["tokenizers_s"]
    return out


def naive_estimate(text: str, pattern: str, n: int) -> dict:
    """Time `train_naive` for 0 and for n merges; extrapolate to 1,000 by the tokens each pass reads."""
    setup, _, _ = timed(lambda: bpe.train_naive(text, 256, pattern))
    wall, cpu, _ = timed(lambda: bpe.train_naive(text, 256 + n, pattern))
    result = bpe.fit(bpe.BPEConfig(256 + MERGES, pattern), text)
    lengths = [result.corpus_bytes] + [s.tokens for s in result.steps]  # the corpus's length before merge k+1
    per_token = (wall - setup) / sum(lengths[:n])
    return {"merges_run": n, "setup_s": setup, "run_s": wall, "run_cpu_s": cpu, "per_merge_s": (wall - setup) / n,
            "estimate_1000_s": setup + per_token * sum(lengths[:MERGES]),
            "plain_extrapolation_1000_s": setup + (wall - setup) / n * MERGES}


def encode_race(text: str, repeats: int) -> dict:
    reference = registry.load_tokenizer("smollm2")
    ours = bpe.BPETokenizer.from_hf(reference)
    mb = len(text.encode()) / 1e6
    cold = {"ours": [], "tokenizers": []}
    warm = {"ours": [], "tokenizers": []}
    for _ in range(repeats):
        ours._cache.clear()
        reference.model._clear_cache()
        cold["ours"].append(timed(lambda: ours.encode(text))[0])
        cold["tokenizers"].append(timed(lambda: reference.encode(text, add_special_tokens=False))[0])
        warm["ours"].append(timed(lambda: ours.encode(text))[0])
        warm["tokenizers"].append(timed(lambda: reference.encode(text, add_special_tokens=False))[0])
    lines = text.splitlines(keepends=True)  # tokenizers' batch call over lines (Rust threads), its fastest use
    batch = statistics.median(timed(lambda: reference.encode_batch_fast(lines, add_special_tokens=False))[0] for _ in range(repeats))
    same = ours.encode(text) == reference.encode(text, add_special_tokens=False).ids
    return {"tokenizer": "SmolLM2-135M (49,152 ids)", "megabytes": mb, "same_ids": same,
            **{f"{k}_cold_MB_per_s": mb / statistics.median(v) for k, v in cold.items()},
            **{f"{k}_warm_MB_per_s": mb / statistics.median(v) for k, v in warm.items()},
            "tokenizers_batch_of_lines_MB_per_s": mb / batch}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-merges", type=int, default=5, help="merges the naive loop actually runs before extrapolating")
    args = parser.parse_args()
    text = data.python_docs_text()
    report = {"machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                          "load_average": list(__import__("os").getloadavg())}}
    print(f"training {MERGES:,} merges on Python's manual ({len(text.encode()) / 1e6:.2f} MB), GPT-2's split ...")
    main_race = race(text, "gpt2", args.repeats)
    naive = naive_estimate(text, "gpt2", args.naive_merges)
    main_race["naive"] = naive
    main_race["ours_speedup_over_naive"] = naive["estimate_1000_s"] / main_race["ours_s"]
    main_race["target_100x_naive"] = main_race["ours_speedup_over_naive"] >= 100
    main_race["target_within_10x_tokenizers"] = main_race["ours_vs_tokenizers"] <= 10
    report["train_gpt2_split"] = main_race
    print(f"  ours {main_race['ours_s']:.2f} s · tokenizers {main_race['tokenizers_s']:.2f} s ({main_race['ours_vs_tokenizers']:.1f}×) · "
          f"naive ~{naive['estimate_1000_s'] / 60:.1f} min extrapolated from {args.naive_merges} merges "
          f"(plain ×{MERGES // args.naive_merges}: {naive['plain_extrapolation_1000_s'] / 60:.1f} min) → ours "
          f"{main_race['ours_speedup_over_naive']:,.0f}× faster · same merges: {main_race['same_merges']}")
    report["train_gpt4_split"] = race(text, "gpt4", args.repeats)
    report["train_no_split"] = race(text, None, args.repeats, with_hf=False)
    report["train_no_split_50k_chars"] = race(text[:50_000], None, args.repeats)
    for key in ("train_gpt4_split", "train_no_split", "train_no_split_50k_chars"):
        r = report[key]
        print(f"  {key}: ours {r['ours_s']:.2f} s" + (f" · tokenizers {r['tokenizers_s']:.2f} s · same merges: {r['same_merges']}"
                                                       if "tokenizers_s" in r else ""))
    enc = encode_race(text, args.repeats)
    report["encode"] = enc
    print(f"encoding the manual with SmolLM2's vocabulary: ours {enc['ours_cold_MB_per_s']:.2f} MB/s cold, "
          f"{enc['ours_warm_MB_per_s']:.2f} warm · tokenizers {enc['tokenizers_cold_MB_per_s']:.2f} cold, "
          f"{enc['tokenizers_warm_MB_per_s']:.2f} warm, {enc['tokenizers_batch_of_lines_MB_per_s']:.2f} as a batch of lines · "
          f"same ids: {enc['same_ids']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    print(f"wrote {OUT}")
    ok = main_race["target_100x_naive"] and main_race["target_within_10x_tokenizers"] and main_race["same_merges"] and enc["same_ids"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
