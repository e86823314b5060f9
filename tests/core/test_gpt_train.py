"""Training the lab's GPT (core.transformers.gpt_train), its checkpoints, experiments and tokenizers.

References: torch's own learning-rate schedulers for the schedule, F.cross_entropy for the held-out
loss, nltk-checked core.lm.ngram for the baseline, a long sample for the Markov floor, transformers'
tokenizers for the byte-level wrapper. Runs are tiny: seconds each.
"""

import io
import json
import math
import zipfile
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from core.errors import LabError
from core.lm.markov_source import MarkovSource
from core.lm.ngram import NGramConfig, NGramLM
from core.lm.text_tokens import ByteTokenizer, CharTokenizer, from_dict, to_hf_tokenizer
from core.transformers import gpt_checkpoint, gpt_experiments, gpt_inspect
from core.transformers import gpt_train as gt
from core.transformers.gpt import GPT, GPTConfig

TEXT = "the cat sat on the mat. the dog sat on the log. " * 60  # 2,940 characters
TINY = GPTConfig(vocab_size=256, context=16, n_layer=1, n_head=2, n_embd=16)
QUICK = gt.TrainConfig(steps=12, batch_size=4, lr=1e-2, warmup=3, eval_every=4, sample_tokens=8)


def test_schedule_equals_torchs_warmup_then_cosine():
    tc = gt.TrainConfig(lr=0.5, warmup=5, steps=40, min_lr_ratio=0.1)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=tc.lr)
    warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / tc.warmup)  # step 1 of ours is scheduler step 0
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tc.steps - tc.warmup, eta_min=tc.lr * tc.min_lr_ratio)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cosine], milestones=[tc.warmup - 1])
    theirs = []
    for _ in range(tc.steps):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    ours = [gt.learning_rate(s, tc) for s in range(1, tc.steps + 1)]
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ours[tc.warmup - 1] == tc.lr and ours[-1] == pytest.approx(tc.lr * tc.min_lr_ratio)


def test_split_is_the_last_tenth_of_the_text_whatever_the_tokens():
    text = "héllo wörld, " * 100
    for tok in (ByteTokenizer(), CharTokenizer.from_text(text)):
        data = gt.split_tokens(text, tok, 8)
        assert tok.decode(data.val.tolist()) == text[int(len(text) * 0.9):]
        assert tok.decode(data.train.tolist()) + tok.decode(data.val.tolist()) == text
        assert data.val_chars == len(text) - int(len(text) * 0.9)


def test_batches_are_windows_and_their_next_tokens():
    ids = torch.arange(100)
    x, y = gt.get_batch(ids, 8, 10, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 10)
    assert torch.equal(y, x + 1) and torch.equal(x[:, 1:], x[:, :-1] + 1)  # contiguous windows, shifted by one
    x2, _ = gt.get_batch(ids, 8, 10, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_held_out_loss_is_cross_entropy_over_every_window():
    model = GPT(TINY, torch.Generator().manual_seed(0)).eval()
    ids = torch.randint(0, 256, (100,), generator=torch.Generator().manual_seed(1))
    starts = [0, 16, 33, 49, 66, 83]  # (100 - 1) // 16 = 6 windows of 16 (+1 target), spread evenly over the ids
    x = torch.stack([ids[s: s + 16] for s in starts])
    y = torch.stack([ids[s + 1: s + 17] for s in starts])
    with torch.no_grad():
        expected = F.cross_entropy(model(x).logits.reshape(-1, 256), y.reshape(-1)).item()
    assert gt.evaluate(model, ids) == pytest.approx(expected, abs=1e-6)


def test_a_run_learns_is_reproducible_and_reports_what_the_page_draws():
    reports = []
    run = gt.fit(TINY, QUICK, TEXT, ByteTokenizer(), lambda s, m: reports.append((s, m)), lines={"n-gram (bits)": 1.5})
    assert run.finished and run.step == 12 and run.stop_reason is None
    assert [s for s, _ in reports] == list(range(1, 13))
    first, last = reports[0][1], reports[-1][1]
    assert last["train_bits"] < first["train_bits"] and first["train_bits"] == pytest.approx(first["loss"] / math.log(2))
    assert {"val_loss", "val_bits", "tokens_per_s", "lr"} <= last.keys() and last["n-gram (bits)"] == 1.5
    assert [s for s, _ in run.samples] == [4, 8, 12] and all(isinstance(t, str) for _, t in run.samples)
    assert run.val_loss == pytest.approx(gt.evaluate(run.model, run.data.val), abs=1e-6)  # the whole held-out split
    assert run.bits_per_char == pytest.approx(run.val_bits)  # ASCII: a byte is a character
    again = gt.fit(TINY, QUICK, TEXT, ByteTokenizer())
    assert again.history.metrics["loss"] == run.history.metrics["loss"]  # same seed, same run, bit for bit
    assert again.samples == run.samples


def test_a_stopped_run_resumes_into_the_same_run_as_one_left_alone():
    whole = gt.fit(TINY, QUICK, TEXT, ByteTokenizer())
    stopped = gt.fit(TINY, QUICK, TEXT, ByteTokenizer(), on_step=lambda s, m: s < 5)
    assert stopped.step == 5 and not stopped.finished and stopped.val_loss is None
    resumed = gt.fit(TINY, QUICK, TEXT, ByteTokenizer(), resume_from=stopped)
    assert resumed is stopped and resumed.step == 12
    assert resumed.history.metrics["loss"] == whole.history.metrics["loss"]
    assert all(torch.equal(p, q) for p, q in zip(resumed.model.parameters(), whole.model.parameters()))


def test_a_diverging_learning_rate_stops_and_says_why():
    run = gt.fit(GPTConfig(vocab_size=256, context=16, n_layer=2, n_head=2, n_embd=32),
                 gt.TrainConfig(steps=60, batch_size=4, lr=30.0, warmup=0, grad_clip=0.0, eval_every=100), TEXT, ByteTokenizer())
    assert run.stop_reason is not None and run.step < 60 and run.history.diverged
    assert "learning rate" in run.stop_reason and run.val_loss is None
    assert gt.divergence(float("nan"), 3, 1.0, 256).startswith("the loss became nan at step 3")
    assert gt.divergence(5.0, 3, 1.0, 256) is None  # 5 nats is below uniform guessing (5.55): bad, not diverged


def test_bad_corpora_and_settings_are_explained():
    with pytest.raises(LabError, match="empty"):
        gt.fit(TINY, QUICK, "   ", ByteTokenizer())
    with pytest.raises(LabError, match="shorter context"):
        gt.fit(TINY, QUICK, "a short text, shorter than a window", ByteTokenizer())
    with pytest.raises(LabError, match="multiple of the number of heads"):
        gt.fit(GPTConfig(n_embd=30, n_head=4), QUICK, TEXT, ByteTokenizer())
    with pytest.raises(LabError, match="learning rate"):
        gt.fit(TINY, gt.TrainConfig(lr=0.0), TEXT, ByteTokenizer())
    with pytest.raises(LabError, match="vocabulary"):
        gt.fit(TINY, QUICK, TEXT, CharTokenizer.from_text(TEXT))  # 256 ≠ the characters' vocabulary


def test_emoji_and_other_scripts_train_as_bytes_and_are_refused_by_an_unseen_character_vocabulary():
    text = "Grüße 😀 مرحبا שלום こんにちは — naïve café. " * 40
    run = gt.fit(TINY, QUICK, text, ByteTokenizer())
    assert run.finished and math.isfinite(run.val_loss) and run.bits_per_char > run.val_bits  # several bytes per character
    chars = CharTokenizer.from_text(text)
    config = GPTConfig(vocab_size=chars.vocab_size, context=16, n_layer=1, n_head=2, n_embd=16)
    chars_run = gt.fit(config, QUICK, text, chars)
    assert chars.decode(chars.encode(text)) == text
    with pytest.raises(LabError, match="never appeared in the training text"):
        gpt_inspect.next_token_table(chars_run.model, chars, "🎉 new")
    table = gpt_inspect.next_token_table(run.model, ByteTokenizer(), "🎉 new")
    assert table.probability.between(0, 1).all() and table.probability.is_monotonic_decreasing


# ----------------------------------------------------------------------------- the lines to beat


def test_ngram_baseline_is_chosen_on_the_training_part_alone():
    text = "abcab" * 300 + "xyz" * 200
    data = gt.split_tokens(text, ByteTokenizer(), 4)
    base = gt.best_ngram(data, 256)
    assert base.order >= 2 and base.val_bits < 0.1  # a periodic text: a context predicts it
    best_tuning = min(base.tuning, key=lambda r: r["bits"])
    assert (base.order, base.k) == (best_tuning["order"], best_tuning["k"])
    lm = NGramLM(NGramConfig(base.order, base.k)).fit([str(i) for i in data.train.tolist()], [str(i) for i in range(256)])
    assert base.val_bits == pytest.approx(lm.cross_entropy([str(i) for i in data.val.tolist()]))
    changed = gt.TokenSplit(data.train, torch.tensor(ByteTokenizer().encode("qqqqqqqqqqqq")), 12)
    again = gt.best_ngram(changed, 256)
    assert (again.order, again.k, again.tuning) == (base.order, base.k, base.tuning)  # the held-out text plays no part


def test_markov_floor_per_character_matches_a_long_sample_and_the_ngram_stays_above_it():
    source = MarkovSource()
    text = source.sample(100_000, seed=5)
    measured = source.entropy_rate * 100_000 / len(text)  # bits per word × words / characters
    assert source.entropy_rate_per_character == pytest.approx(measured, rel=0.01)
    base = gt.best_ngram(gt.split_tokens(source.sample(20_000, seed=1), ByteTokenizer(), 8), 256, orders=(1, 2, 3, 4))
    assert base.bits_per_char > source.entropy_rate_per_character


# ----------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def trained():
    return gt.fit(TINY, QUICK, TEXT, ByteTokenizer())


def test_checkpoint_round_trip_through_a_folder_and_a_zip(trained, tmp_path):
    log = {"steps": trained.history.steps, "metrics": trained.history.metrics, "samples": trained.samples}
    gpt_checkpoint.save(trained.model, trained.tokenizer, tmp_path, {"corpus": "test"}, log)
    ids = torch.tensor([ByteTokenizer().encode("the cat sat")])
    zipped = gpt_checkpoint.zipped(trained.model, trained.tokenizer, {"corpus": "test"}, log)
    for loaded in (gpt_checkpoint.load_folder(tmp_path), gpt_checkpoint.load_upload({"run.zip": zipped}),
                   gpt_checkpoint.load_upload({n: (tmp_path / n).read_bytes() for n in ("model.safetensors", "config.json")})):
        with torch.no_grad():
            assert torch.equal(loaded.model(ids).logits, trained.model.eval()(ids).logits)
        assert loaded.model.lm_head.weight is loaded.model.transformer.wte.weight
        assert isinstance(loaded.tokenizer, ByteTokenizer)
    full = gpt_checkpoint.load_folder(tmp_path)
    assert full.meta == {"corpus": "test"} and full.samples == trained.samples
    assert full.history.metrics["loss"] == trained.history.metrics["loss"]
    assert (tmp_path / "model.safetensors").read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_foreign_truncated_and_oversized_uploads_are_refused_clearly(trained):
    good = gpt_checkpoint.files(trained.model, trained.tokenizer)
    whole_zip = gpt_checkpoint.zipped(trained.model, trained.tokenizer)
    config = json.loads(good["config.json"])
    with_gpt = lambda **change: json.dumps(config | {"gpt": config["gpt"] | change}).encode()  # noqa: E731
    cases = {
        "not a readable zip": {"run.zip": whole_zip[: len(whole_zip) // 2]},  # cut short while downloading
        "damaged or cut short": {"model.safetensors": good["model.safetensors"][:-100], "config.json": good["config.json"]},
        "config.json missing": {"x.zip": zip_of({"model.safetensors": good["model.safetensors"]})},
        "not a checkpoint of the lab's GPT": {"model.safetensors": good["model.safetensors"], "config.json": b'{"model_type": "gpt2"}'},
        "not valid JSON": {"model.safetensors": good["model.safetensors"], "config.json": b"\x00\x01"},
        "do not match its config": {"model.safetensors": good["model.safetensors"],
                                    "config.json": with_gpt(n_layer=2)},
        "more than this lab loads": {"model.safetensors": good["model.safetensors"],
                                     "config.json": with_gpt(n_embd=100_000, n_head=1)},
        "not a int": {"model.safetensors": good["model.safetensors"],
                      "config.json": with_gpt(n_layer="1; rm -rf /")},
        "unknown tokenizer": {"model.safetensors": good["model.safetensors"],
                              "config.json": json.dumps(config | {"tokenizer": "x"}).encode()},
        "is not a checkpoint": {"random.bin": b"\x89PNG not a model"},
    }
    for expected, upload in cases.items():
        with pytest.raises(LabError, match=expected):
            gpt_checkpoint.load_upload(upload)


def test_a_transformers_gpt2_folder_is_not_taken_for_ours(tmp_path):
    from tests.stand_ins import tiny_gpt2

    tiny_gpt2(256, layers=1, heads=2, width=16, positions=16).save_pretrained(tmp_path)
    with pytest.raises(LabError, match="not a checkpoint of the lab's GPT"):
        gpt_checkpoint.load_upload({n: (tmp_path / n).read_bytes() for n in ("model.safetensors", "config.json")})


# ----------------------------------------------------------------------------- tokenizers, inspection, experiments


def test_byte_tokenizer_for_transformers_has_the_same_ids():
    hf = to_hf_tokenizer(ByteTokenizer())
    for text in ["plain ASCII", "naïve café 😀\n\ttabs", "مرحبا", "", "<b>html</b> & \x00nul"]:
        ids = ByteTokenizer().encode(text)
        assert hf(text, add_special_tokens=False).input_ids == ids
        assert hf.decode(ids) == text
    assert len(hf) == 256 and hf.eos_token_id is None
    assert from_dict(CharTokenizer("abc").to_dict()).chars == "abc"
    with pytest.raises(LabError):
        to_hf_tokenizer(CharTokenizer("abc"))


def test_inspection_returns_the_models_own_causal_attention(trained):
    att = gpt_inspect.attentions(trained.model, trained.tokenizer, "the cat sat on the mat, and more text beyond the context")
    assert att.weights.shape == (1, 2, 16, 16) and att.truncated and att.n_tokens > 16
    with torch.no_grad():
        out = trained.model(torch.tensor([ByteTokenizer().encode("the cat sat on th")[:16]]), output_attentions=True)
    assert torch.equal(torch.from_numpy(att.weights[0]), out.attentions[0][0])
    ids, n = gpt_inspect.encode_prompt(trained.model, trained.tokenizer, "x" * 40, room=6)
    assert len(ids) == 10 and n == 40
    with pytest.raises(LabError):
        gpt_inspect.attentions(trained.model, trained.tokenizer, "  ")


def test_ablation_variants_differ_in_one_thing_and_depth_vs_width_keeps_the_size():
    base = GPTConfig(vocab_size=256, context=64, n_layer=4, n_head=4, n_embd=128)
    for name in gpt_experiments.ABLATIONS:
        variant = gpt_experiments.ablation_config(base, name)
        changed = {k for k, v in variant.to_dict().items() if v != base.to_dict()[k]}
        assert changed <= {"position", "residual", "layer_norm", "n_head", "n_layer", "n_embd"}
        if name in ("deeper and narrower", "shallower and wider"):
            assert abs(gpt_experiments.parameters(variant) / gpt_experiments.parameters(base) - 1) < 0.1
    for variant in [base, *(gpt_experiments.ablation_config(base, n) for n in gpt_experiments.ABLATIONS), replace(base, bias=False)]:
        assert gpt_experiments.parameters(variant) == sum(p.numel() for p in GPT(variant).parameters()), variant


def test_ablations_and_sweep_train_on_the_same_budget():
    seen = []
    result = gpt_experiments.run_ablations(TINY, gt.TrainConfig(steps=5, batch_size=2, warmup=1), TEXT, ByteTokenizer(),
                                           ["full model", "no LayerNorm"], on_step=lambda s, m: seen.append(s))
    assert list(result.table.run) == ["full model", "no LayerNorm"] and seen == list(range(1, 11))
    assert (result.table.steps == 5).all() and result.table["val loss (bits)"].notna().all()
    sweep = gpt_experiments.run_sweep(TINY, gt.TrainConfig(steps=3, batch_size=2, warmup=1), TEXT, ByteTokenizer(),
                                      sizes=((1, 16), (1, 32)))
    assert list(sweep.table.parameters) == sorted(sweep.table.parameters) and len(sweep.table) == 2
    with pytest.raises(LabError):
        gpt_experiments.run_ablations(TINY, QUICK, TEXT, ByteTokenizer(), [])
