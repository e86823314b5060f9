"""core.llm.finetune on a tiny random BERT (fast): parameter counts against peft, the head saved with the
adapter, merging, isolation of the base model, reproducibility and bad input. The real MiniLM run
is in tests/app/test_lora_finetune.py and benchmarks/bench_lora.py."""

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import torch
import transformers
from safetensors.torch import load as load_safetensors
from transformers import BertConfig, BertModel

from core.errors import LabError, Unavailable
from core.infra import models
from core.infra.data import sentiment
from core.infra.models import LoadedModel
from core.infra.network import Reachability
from core.llm import finetune as ft
from core.llm import finetune_analysis, finetune_data
from core.training import Dropout, History

VOCAB = 200


class CharTokenizer:
    """A stand-in tokenizer with the call signature the lab uses (ids from characters)."""

    def __call__(self, texts, padding=True, truncation=True, max_length=64, return_tensors="pt"):
        ids = [[1] + [3 + ord(c) % (VOCAB - 3) for c in t][: max_length - 2] + [2] for t in texts]
        width = max(map(len, ids))
        return {"input_ids": torch.tensor([i + [0] * (width - len(i)) for i in ids]),
                "attention_mask": torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids])}


@pytest.fixture(scope="module")
def base():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    return LoadedModel(CharTokenizer(), BertModel(config).eval().requires_grad_(False), "tiny")


@pytest.fixture(scope="module")
def data():
    return sentiment("train").iloc[:96], sentiment("test").iloc[:32]


def quick(**kw) -> ft.FinetuneConfig:
    return ft.FinetuneConfig(**{"epochs": 1, "batch_size": 16, "max_length": 32, "eval_every": 3, **kw})


@pytest.fixture(scope="module")
def lora_result(base, data):
    return ft.fit(quick(r=4, alpha=8, lr=1e-2), *data, base=base)


def test_trainable_count_matches_peft_and_includes_the_head(lora_result):
    model = lora_result.model
    peft_trainable, _ = model.get_nb_trainable_parameters()
    assert lora_result.trainable == peft_trainable
    adapters = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    head = 32 * 2 + 2
    assert lora_result.trainable == adapters + head
    # query, value and the three dense layers of each of 2 layers: r·(in + out) each
    assert adapters == 4 * 2 * ((32 + 32) * 3 + (32 + 64) + (64 + 32))


def test_counts_per_method(base, data, lora_result):
    probe = ft.fit(quick(method="probe"), *data, base=base)
    full = ft.fit(quick(method="full", lr=1e-3), *data, base=base)
    assert probe.trainable == 66
    for result in (probe, full, lora_result):  # the live count on the page, before building anything
        count = ft.parameter_count(base.model, result.config, 2)
        assert (count["trainable"], count["total"]) == (result.trainable, result.total)
    assert full.trainable == full.total == probe.total == sum(p.numel() for p in base.model.parameters()) - 32 * 32 - 32 + 66


def test_the_head_is_saved_with_the_adapter_and_reloads(lora_result, base, data):
    blob = ft.adapter_zip(lora_result)
    files = zipfile.ZipFile(io.BytesIO(blob))
    assert {"adapter_config.json", "adapter_model.safetensors", "labels.json"} <= set(files.namelist())
    weights = load_safetensors(files.read("adapter_model.safetensors"))
    assert any("classifier" in k for k in weights), "modules_to_save must put the trained head in the adapter file"
    assert any("lora_A" in k for k in weights) and any("lora_B" in k for k in weights)
    texts = data[1].text.tolist()
    reloaded = ft.load_adapter(blob, base)
    assert reloaded.labels == lora_result.labels
    assert (reloaded.trainable, reloaded.total) == (lora_result.trainable, lora_result.total)  # what was trained, not 0
    pd.testing.assert_frame_equal(ft.predict(reloaded, texts), ft.predict(lora_result, texts), atol=1e-6, rtol=0)


def test_merge_gives_identical_predictions(lora_result, data):
    check = finetune_analysis.merge_check(lora_result, data[1].text.tolist())
    assert check["same prediction"] == 1.0 and check["max |Δp|"] < 1e-5
    merged = finetune_analysis.merge(lora_result)
    assert not any("lora" in n for n, _ in merged.named_parameters())


def test_the_update_is_low_rank_and_nonzero(lora_result):
    layers = finetune_analysis.lora_layers(lora_result)
    assert len(layers) == 2 * 5
    update = finetune_analysis.lora_update(lora_result, layers[0])
    delta, singular = update.delta, update.singular
    assert update.layer == layers[0] and delta.shape == (32, 32)
    assert singular[0] > 1e-4, "training must have moved B away from zero"
    assert singular[4:].max() < 1e-5 * singular[0] + 1e-7  # rank ≤ r = 4
    np.testing.assert_allclose(singular, scipy.linalg.svdvals(delta.astype(np.float64)), rtol=1e-4, atol=1e-6 * singular[0])
    w0 = lora_result.model.base_model.model.get_submodule(layers[0]).base_layer.weight.detach().double().numpy()
    np.testing.assert_allclose(update.base_singular, scipy.linalg.svdvals(w0), rtol=1e-5, atol=1e-7)
    # ‖M‖_F = sqrt(Σ σ²): the norms from the singular values checked against scipy above
    assert update.relative_norm == pytest.approx(np.sqrt((singular ** 2).sum() / (update.base_singular ** 2).sum()), rel=1e-4)
    assert update.directions_90 == finetune_analysis.energy_rank(singular) and 1 <= update.directions_90 <= 4
    assert update.stored == 4 * (32 + 32)
    assert update.gap_to_ours < 1e-6


@pytest.mark.parametrize("share", [0.5, 0.9, 0.99])
def test_energy_rank_is_the_smallest_truncated_svd_keeping_the_share(share):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(12, 9)) @ np.diag(0.85 ** np.arange(9)) @ rng.normal(size=(9, 9))
    u, s, vt = scipy.linalg.svd(m)
    kept = [1 - ((m - (u[:, :k] * s[:k]) @ vt[:k]) ** 2).sum() / (m ** 2).sum() for k in range(10)]
    expected = next(k for k in range(10) if kept[k] >= share - 1e-12)
    assert finetune_analysis.energy_rank(s, share) == expected
    assert 1 < expected < 9  # the case is not trivial
    assert finetune_analysis.energy_rank(np.zeros(4)) == 0  # an untrained update (B = 0) has no direction at all


def test_peft_layer_rebuilt_from_scratch_gives_the_same_output(lora_result):
    layer = finetune_analysis.lora_layers(lora_result)[3]
    ours = finetune_analysis.as_lora_linear(lora_result, layer)
    theirs = lora_result.model.base_model.model.get_submodule(layer)
    x = torch.randn(5, ours.base.in_features)
    with torch.no_grad():
        assert not torch.allclose(theirs(x), theirs.base_layer(x))  # the trained update is there
        assert torch.allclose(ours(x), theirs(x), atol=1e-6, rtol=0)
        delta = finetune_analysis.lora_update(lora_result, layer).delta
        assert torch.allclose(ours.delta_weight(), torch.from_numpy(delta), atol=1e-7)


def test_training_never_touches_the_base_model(base, data):
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    for method in ft.METHODS:
        ft.fit(quick(method=method, lr=1e-2), *data, base=base)
    after = base.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not base.model.training and not any(p.requires_grad for p in base.model.parameters())
    assert base.model.pooler is not None  # the copy lost its pooler, the original did not


def test_probe_keeps_encoder_full_moves_it(base, data):
    def encoder_weight(result):
        return result.model.encoder.encoder.layer[0].attention.self.query.weight

    probe = ft.fit(quick(method="probe"), *data, base=base)
    full = ft.fit(quick(method="full", lr=1e-3), *data, base=base)
    original = base.model.encoder.layer[0].attention.self.query.weight
    assert torch.equal(encoder_weight(probe), original)
    assert not torch.equal(encoder_weight(full), original)


def test_same_seed_same_run_and_metrics_are_reported(base, data):
    a = ft.fit(quick(seed=3), *data, base=base)
    b = ft.fit(quick(seed=3), *data, base=base)
    assert a.history.metrics["loss"] == b.history.metrics["loss"]
    assert {"loss", "acc", "test_acc", "test_loss", "train_s", "steps_per_s", "sentences_per_s"} <= set(a.history.metrics)
    assert a.history.steps[-1] == 6  # 96 rows / 16
    assert len(a.test) == 32
    assert a.test_acc == a.history.last("test_acc")  # the final evaluation, after the last step
    predicted = ft.predict(a, a.test.text.tolist()).idxmax(axis=1).to_numpy()
    assert (predicted == a.test.predicted.to_numpy()).all()
    assert a.test_acc == (predicted == a.test.label.to_numpy()).mean()
    assert finetune_analysis.confusion_table(a).to_numpy().sum() == 32


def run_fingerprint(result: ft.FinetuneResult) -> tuple:
    """Everything a run produced that randomness could change: losses, accuracies, every weight."""
    return result.history.metrics["loss"], result.history.metrics["acc"], {k: v.clone() for k, v in result.model.state_dict().items()}


def assert_same_run(a: tuple, b: tuple) -> None:
    assert a[0] == b[0] and a[1] == b[1]
    assert a[2].keys() == b[2].keys() and all(torch.equal(a[2][k], b[2][k]) for k in a[2])


@pytest.mark.parametrize("method", ["lora", "full"])
def test_one_seed_gives_the_same_run_while_another_trains_in_a_thread(base, data, method):
    """Head, LoRA's A, dropout masks and batch order all come from the run's generators: two runs with
    one seed at once in two threads equal a run alone, bit for bit (with dropout on: p = 0.1 here)."""
    config = quick(method=method, seed=5, dropout=0.2, lr=1e-3)
    alone = run_fingerprint(ft.fit(config, *data, base=base))
    with ThreadPoolExecutor(2) as pool:
        together = [f.result() for f in [pool.submit(lambda: run_fingerprint(ft.fit(config, *data, base=base))) for _ in range(2)]]
    for run in together:
        assert_same_run(run, alone)
    other_seed = run_fingerprint(ft.fit(replace(config, seed=6), *data, base=base))
    assert other_seed[0] != alone[0]  # the seed does matter


def test_dropout_draws_from_the_run_generator_and_attention_dropout_is_off(base):
    g = torch.Generator().manual_seed(0)
    model = ft.build(quick(dropout=0.2), base, 2, g)
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())  # all replaced by core.training.Dropout
    ours = [m for m in model.modules() if isinstance(m, Dropout)]
    assert {m.generator for m in ours} == {g}
    attention = [m.dropout for m in model.modules() if type(m).__name__ == "BertSelfAttention"]
    assert len(attention) == 2 and all(d.p == 0.0 for d in attention)  # its p goes to a kernel that takes no generator
    assert sorted({m.p for m in ours} - {0.0}) == [0.1, 0.2]  # BERT's hidden dropout, LoRA's


def test_stop_keeps_the_model_so_far(base, data):
    result = ft.fit(quick(), *data, on_step=lambda step, m: step < 2, base=base)
    assert result.history.stopped and result.history.steps[-1] == 2
    assert len(ft.predict(result, ["fine"]).columns) == 2


def test_race_gives_each_method_its_learning_rate_and_nothing_else(base, data):
    config = quick(lr=5e-3, r=4, seed=2)
    configs = ft.race_configs(config, {"full": 3e-5}, methods=("probe", "lora", "full"))
    assert list(configs) == ["probe", "lora", "full"]
    assert {m: c.lr for m, c in configs.items()} == {"probe": ft.DEFAULT_LR["probe"], "lora": 5e-3, "full": 3e-5}
    for method, c in configs.items():
        assert c.method == method and replace(c, method="lora", lr=5e-3) == config  # only these two differ
    results = {m: ft.fit(c, *data, base=base) for m, c in configs.items() if m != "full"}
    assert results["probe"].trainable < results["lora"].trainable
    assert ft.time_to_accuracy(results["lora"].history, 1.1) == float("inf")


def test_time_to_accuracy_is_the_clock_at_the_first_evaluation_reaching_the_target():
    h = History()
    h.record(1, {"loss": 1.0})
    h.record(2, {"loss": 0.9, "test_acc": 0.50, "train_s": 2.0, "train_cpu_s": 3.5})
    h.record(3, {"loss": 0.8})
    h.record(4, {"loss": 0.7, "test_acc": 0.875, "train_s": 4.0, "train_cpu_s": 7.0})
    h.record(6, {"loss": 0.6, "test_acc": 0.80, "train_s": 6.0, "train_cpu_s": 10.5})  # a dip after the target
    assert ft.time_to_accuracy(h, 0.5) == 2.0  # reached exactly counts
    assert ft.time_to_accuracy(h, 0.51) == 4.0
    assert ft.time_to_accuracy(h, 0.8) == 4.0  # the first time, not the last
    assert ft.time_to_accuracy(h, 0.8, clock="train_cpu_s") == 7.0
    assert ft.time_to_accuracy(h, 0.9) == float("inf")
    assert ft.time_to_accuracy(History(), 0.0) == float("inf")  # never evaluated


def test_many_classes_and_string_labels(base):
    df = pd.DataFrame({"text": [f"sentence {i} {w}" for i in range(30) for w in ("red", "green", "blue")],
                       "label": ["red", "green", "blue"] * 30})
    train, test = finetune_data.split_upload(df)
    result = ft.fit(quick(targets=("key",)), train, test, base=base)
    assert result.labels == ["blue", "green", "red"]
    assert ft.predict(result, ["a", ""]).shape == (2, 3)
    assert all(name.endswith(".key") for name in finetune_analysis.lora_layers(result))


def test_split_upload_keeps_only_usable_rows_and_honours_a_split_column():
    df = pd.DataFrame({"text": [f"row {i}" for i in range(10)] + ["  ", None],
                       "label": ["a", "b"] * 6, "split": ["train"] * 7 + ["test"] * 3 + ["train", "test"]})
    train, test = finetune_data.split_upload(df)
    assert train.text.tolist() == [f"row {i}" for i in range(7)] and test.text.tolist() == ["row 7", "row 8", "row 9"]
    train, test = finetune_data.split_upload(df.drop(columns="split"), test_fraction=0.2)
    assert sorted(train.text.tolist() + test.text.tolist()) == sorted(f"row {i}" for i in range(10)) and len(test) == 2


@pytest.mark.parametrize("train,test,message", [
    (pd.DataFrame({"text": ["a", "b"], "label": ["x", "x"]}), None, "single class"),
    (pd.DataFrame({"sentence": ["a", "b"], "label": ["x", "y"]}), None, "needs columns"),
    (pd.DataFrame({"text": ["", " ", None], "label": ["x", "y", "x"]}), None, "no rows"),
    (pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}), pd.DataFrame({"text": ["c"], "label": ["z"]}), "never shows"),
])
def test_bad_data_is_explained(base, train, test, message):
    with pytest.raises(LabError, match=message):
        ft.fit(quick(), train, train if test is None else test, base=base)


def test_bad_settings_are_explained(base, data):
    with pytest.raises(LabError, match="target module"):
        ft.fit(quick(targets=()), *data, base=base)
    with pytest.raises(LabError, match="rank"):
        ft.fit(quick(r=0), *data, base=base)
    with pytest.raises(LabError, match="epochs"):
        ft.fit(quick(epochs=0), *data, base=base)


def test_unknown_model_id_fails_clearly(data):
    with pytest.raises(Unavailable):
        ft.fit(quick(model="no-such-org/not a model"), *data)
    with pytest.raises(Unavailable):
        ft.fit(quick(model="no-such-org/no-such-model"), *data)  # offline in tests: the Hub is out of reach


HUB_404 = ("no-such-org/no-such-model is not a local folder and is not a valid model identifier listed on "
           "'https://huggingface.co/models'\nIf this is a private repository, make sure to pass a token")


def pretend_the_hub_answers_404(monkeypatch) -> list[str]:
    """The Hub reachable, every from_pretrained refusing the id as the Hub does for a missing repo."""
    asked = []

    def not_found(model_id, *args, **kwargs):
        asked.append(model_id)
        raise OSError(HUB_404)

    monkeypatch.setattr(models, "hub_reachable", lambda: Reachability(True, "huggingface.co answers"))
    for auto in (transformers.AutoTokenizer, transformers.AutoModel):
        monkeypatch.setattr(auto, "from_pretrained", not_found)
    return asked


def test_a_model_id_the_hub_does_not_know_fails_clearly(data, monkeypatch):
    asked = pretend_the_hub_answers_404(monkeypatch)
    with pytest.raises(Unavailable, match=r"could not load 'no-such-org/no-such-model' as an? encoder: .*not a valid model identifier"):
        ft.fit(quick(model="no-such-org/no-such-model"), *data)
    assert asked == ["no-such-org/no-such-model"]  # it got as far as asking the (pretend) Hub


@pytest.mark.parametrize("method", ["full", "lora"])
def test_diverging_learning_rate_stops_and_says_so(base, data, method):
    result = ft.fit(quick(method=method, lr=1e6), *data, base=base)
    assert result.history.diverged and result.history.stopped
    assert result.history.steps[-1] < 6
