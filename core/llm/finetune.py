"""Fine-tune a BERT-family encoder as a text classifier: linear probe, LoRA (peft), or everything.

One call, from a page or a notebook:

    from core.infra.data import sentiment
    result = fit(FinetuneConfig(method="lora", r=8), sentiment("train"), sentiment("test"))
    result.test_acc, result.trainable, result.total
    predict(result, ["Not bad at all, actually."])          # class probabilities

The classifier is the encoder, a pooling of its last hidden states (mean over tokens, or the
[CLS] vector) and one linear layer, the *head*, on top. Three ways to train it on the same
batches in the same order:

- ``probe``: the encoder stays frozen; only the head learns (its features are computed once).
- ``lora``: peft adds a rank-r update B·A to the chosen linear layers; A, B and the head learn.
  The head is new, so it must be trained AND saved with the adapter: peft's `modules_to_save`.
  Forget it and the saved adapter reloads with a random head (the classic PEFT pitfall).
- ``full``: every weight of the encoder and the head learns.

The base model handed in is never touched: `fit` trains a deep copy (or a fresh load).

>>> FinetuneConfig().method, FinetuneConfig().targets
('lora', ('query', 'value', 'dense'))
>>> from core.infra.data import sentiment
>>> result = fit(FinetuneConfig(epochs=1), sentiment("train"), sentiment("test"))  # doctest: +SKIP
"""

import copy
import io
import json
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.errors import LabError
from core.infra import models
from core.infra.memory import PeakMemory
from core.training import History, OnStep, run_steps, seed_everything

Method = Literal["probe", "lora", "full"]
METHODS: tuple[Method, ...] = ("probe", "lora", "full")
TARGETS = ("query", "key", "value", "dense")
# The same roles under other BERT-family names (DistilBERT), so the target picker works for both.
_ALIASES = {"query": ("query", "q_lin"), "key": ("key", "k_lin"), "value": ("value", "v_lin"),
            "dense": ("dense", "out_lin", "lin1", "lin2")}
# A good learning rate differs by orders of magnitude between methods: a fresh head alone can take
# big steps; nudging 22 M pretrained weights needs small ones. Comparisons use these by default.
DEFAULT_LR: dict[str, float] = {"probe": 1e-2, "lora": 3e-3, "full": 1e-4}
MAX_ROWS = 50_000  # more than this would take hours on a CPU; the page says so instead


@dataclass
class FinetuneConfig:
    method: Method = "lora"
    model: str = "minilm"  # a core.infra.models key, or a Hub id / local folder of a BERT-family encoder
    r: int = 8  # rank of the LoRA update B·A
    alpha: float = 16.0  # the update is scaled by alpha/r, so changing r keeps its size comparable
    dropout: float = 0.1  # LoRA dropout on the adapter's input
    targets: tuple[str, ...] = ("query", "value", "dense")  # which linear layers get an adapter
    lr: float = 3e-3  # AdamW peak learning rate (see DEFAULT_LR for the other methods)
    epochs: int = 2  # passes over the training set (the page default: ~20-40 s on 2 cores)
    batch_size: int = 32
    max_length: int = 64  # tokens per sentence; longer ones are cut
    pooling: Literal["mean", "cls"] = "mean"  # MiniLM was trained for mean pooling
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of the steps spent ramping the learning rate up, then linear decay
    eval_every: int = 8  # steps between held-out evaluations (the live accuracy curve)
    seed: int = 0


class Classifier(nn.Module):
    """encoder → pool the tokens → linear head. `head` is named `classifier` for peft's modules_to_save."""

    def __init__(self, encoder: nn.Module, n_classes: int, pooling: str = "mean"):
        super().__init__()
        self.encoder, self.pooling = encoder, pooling
        self.classifier = nn.Linear(encoder.config.hidden_size, n_classes)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # average the real tokens, not the padding
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(input_ids, attention_mask))


@dataclass
class FinetuneResult:
    config: FinetuneConfig
    model: nn.Module | None  # the Classifier (wrapped in a PeftModel for LoRA), in eval mode; None once slimmed
    tokenizer: object
    labels: list[str]  # class names; logits column i is labels[i]
    history: History
    trainable: int  # parameters the optimizer updates (head included)
    total: int  # parameters of the classifier (encoder + adapters + head)
    train_s: float  # seconds spent training (feature extraction of the probe included, evaluation not)
    wall_s: float  # seconds for the whole call
    peak_memory: int  # bytes above the level before training (see core.infra.memory)
    test: pd.DataFrame = field(repr=False)  # held-out rows: text, label, predicted, confidence

    @property
    def test_acc(self) -> float:
        return float((self.test.label == self.test.predicted).mean())

    def slim(self) -> "FinetuneResult":
        """The numbers without the model: what a comparison table keeps (a MiniLM copy is ~90 MB)."""
        return replace(self, model=None)

    def summary(self) -> dict:
        return {"method": self.config.method, "trainable parameters": self.trainable, "total parameters": self.total,
                "trainable %": 100 * self.trainable / self.total, "learning rate": self.config.lr,
                "train s": self.train_s, "wall s": self.wall_s, "peak memory MB": self.peak_memory / 1e6,
                "steps/s": self.history.last("steps_per_s") if self.history.steps else float("nan"),
                "held-out accuracy": self.test_acc}


# ----------------------------------------------------------------------------- data


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with both a label and a text that is not blank, as strings (what training sees).

    >>> clean(pd.DataFrame({"text": ["good", " ", None, "bad"], "label": ["pos", "neg", "pos", None]}))
       text label
    0  good   pos
    """
    df = df.dropna(subset=["text", "label"]).astype({"text": str, "label": str})
    return df[df.text.str.strip() != ""].reset_index(drop=True)


def prepare(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Check a train/test pair of (text, label) frames; return clean copies and the class names.

    >>> tr = pd.DataFrame({"text": ["good", "bad", " "], "label": ["pos", "neg", "pos"]})
    >>> prepare(tr, tr)[2]
    ['neg', 'pos']
    """
    frames = []
    for name, df in (("training", train), ("test", test)):
        if not {"text", "label"} <= set(df.columns):
            raise LabError(f"the {name} data needs columns 'text' and 'label'; it has {', '.join(map(str, df.columns))}")
        df = clean(df)
        if df.empty:
            raise LabError(f"the {name} data has no rows with both a text and a label")
        if len(df) > MAX_ROWS:
            raise LabError(f"the {name} data has {len(df):,} rows; on a CPU keep it under {MAX_ROWS:,} (sample it first)")
        frames.append(df[["text", "label"]])
    train, test = frames
    labels = sorted(train.label.unique())
    if len(labels) < 2:
        raise LabError(f"the training data has a single class ('{labels[0]}'); a classifier needs at least two")
    unseen = sorted(set(test.label) - set(labels))
    if unseen:
        raise LabError(f"the test data has labels the training data never shows: {', '.join(unseen[:5])}")
    return train, test, labels


def split_upload(df: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test from one labelled frame's usable rows (`clean`): its own `split` column if it has
    one, else a stratified split."""
    df = clean(df)
    if "split" in df.columns:  # data.labelled_from_upload checked it holds both train and test rows
        return df[df.split == "train"], df[df.split == "test"]
    from sklearn.model_selection import train_test_split

    counts = df.label.value_counts()
    stratify = df.label if len(df) * test_fraction >= len(counts) and counts.min() >= 2 else None
    try:
        return tuple(train_test_split(df, test_size=test_fraction, random_state=seed, stratify=stratify))
    except ValueError as e:  # too few rows to split at all
        raise LabError(f"can't split {len(df)} rows into train and test: {e}") from e


def sample_rows(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """At most `n` rows of `df`, drawn at random (all of them when it is small enough).

    >>> len(sample_rows(pd.DataFrame({"text": list("abcdef")}), 4))
    4
    """
    return df if len(df) <= n else df.sample(n, random_state=seed).reset_index(drop=True)


def _tokenize(tokenizer, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def _trim(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop padding columns no row of this batch needs: short batches run faster."""
    width = int(batch["attention_mask"].sum(1).max())
    return {k: v[:, :width] for k, v in batch.items()}


def _rows(batch: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return _trim({k: v[idx] for k, v in batch.items()})


# ----------------------------------------------------------------------------- the model


def load_base(key: str) -> models.LoadedModel:
    """A registry model by key, else a Hub id / local folder as an encoder (fails clearly offline)."""
    return models.load(key) if key in models.REGISTRY else models.load_hub(key, "encoder")


def target_modules(encoder: nn.Module, targets: tuple[str, ...]) -> list[str]:
    """Names (last part) of the encoder's linear layers playing the chosen roles.

    >>> from transformers import BertConfig, BertModel
    >>> enc = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16))
    >>> target_modules(enc, ("query", "dense"))
    ['dense', 'query']
    """
    if not targets:
        raise LabError("choose at least one target module for LoRA (query, key, value, dense)")
    names = {name.rsplit(".", 1)[-1] for name, m in encoder.named_modules() if isinstance(m, nn.Linear)}
    found = sorted({alias for t in targets for alias in _ALIASES.get(t, (t,)) if alias in names})
    if not found:
        raise LabError(f"this encoder has no linear layers named {', '.join(targets)}; it has {', '.join(sorted(names))}")
    return found


def parameter_count(encoder: nn.Module, config: FinetuneConfig, n_classes: int) -> dict[str, int]:
    """What `build` will train, counted without building it (cheap enough to update live).

    LoRA on a layer with `in` inputs and `out` outputs adds r·(in + out) numbers; the head adds
    hidden·classes + classes; the encoder itself has the rest.
    """
    linear = {name: m for name, m in encoder.named_modules() if isinstance(m, nn.Linear) and not name.startswith("pooler")}
    pooler = getattr(encoder, "pooler", None)
    encoder_total = sum(p.numel() for p in encoder.parameters()) - sum(p.numel() for p in (pooler.parameters() if pooler else []))
    head = encoder.config.hidden_size * n_classes + n_classes
    adapters = 0
    if config.method == "lora":
        chosen = set(target_modules(encoder, config.targets))
        adapters = sum(config.r * (m.in_features + m.out_features) for name, m in linear.items() if name.rsplit(".", 1)[-1] in chosen)
    trainable = {"probe": head, "lora": adapters + head, "full": encoder_total + head}[config.method]
    return {"adapters": adapters, "head": head, "encoder": encoder_total, "trainable": trainable, "total": encoder_total + adapters + head}


def build(config: FinetuneConfig, base: models.LoadedModel, n_classes: int) -> nn.Module:
    """The classifier to train, on a private copy of `base` (the cached one stays as it was)."""
    encoder = copy.deepcopy(base.model)
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None  # BERT's [CLS] pooler is unused by our head: don't count or adapt it
    model = Classifier(encoder, n_classes, config.pooling)
    if config.method == "lora":
        from peft import LoraConfig, get_peft_model

        if config.r < 1:
            raise LabError("the LoRA rank r must be at least 1")
        lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                          target_modules=target_modules(encoder, config.targets),
                          modules_to_save=["classifier"])  # the head trains AND is saved with the adapter
        return get_peft_model(model, lora)
    model.requires_grad_(config.method == "full")
    model.classifier.requires_grad_(True)
    return model


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total). peft keeps a frozen original beside the trained copy of a saved module;
    those originals are not part of the classifier, so they are not counted."""
    trainable = total = 0
    for name, p in model.named_parameters():
        if ".original_module." in name:
            continue
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total


# ----------------------------------------------------------------------------- training


@torch.no_grad()
def _chunked(fn, batch: dict[str, torch.Tensor], chunk: int = 64) -> torch.Tensor:
    """`fn(input_ids, attention_mask)` over a whole tokenized set, `chunk` rows at a time, no gradients.
    `fn` is a model in eval mode (logits) or its `features` (the probe's frozen features)."""
    n = batch["input_ids"].shape[0]
    return torch.cat([fn(**_rows(batch, torch.arange(i, min(i + chunk, n)))) for i in range(0, n, chunk)])


def fit(config: FinetuneConfig, train: pd.DataFrame, test: pd.DataFrame, on_step: OnStep | None = None,
        base: models.LoadedModel | None = None) -> FinetuneResult:
    """Fine-tune `config.model` (or a copy of `base`) on `train`; report held-out accuracy on `test`.

    on_step gets, every step, the batch `loss` and `acc`, and every `eval_every` steps the held-out
    `test_loss`, `test_acc` and `train_s` (training seconds so far, for time-to-accuracy).
    """
    wall_start = time.perf_counter()
    train, test, labels = prepare(train, test)
    if config.method not in METHODS:
        raise LabError(f"unknown method '{config.method}'; choose one of {', '.join(METHODS)}")
    if config.epochs < 1 or config.batch_size < 1 or config.max_length < 2:
        raise LabError("epochs and batch size must be at least 1, max length at least 2")
    base = base or load_base(config.model)
    seed_everything(config.seed)
    model = build(config, base, len(labels))
    trainable, total = count_parameters(model)
    index = {name: i for i, name in enumerate(labels)}
    y_train = torch.tensor(train.label.map(index).to_numpy())
    y_test = torch.tensor(test.label.map(index).to_numpy())
    x_train = _tokenize(base.tokenizer, train.text.tolist(), config.max_length)
    x_test = _tokenize(base.tokenizer, test.text.tolist(), config.max_length)

    steps_per_epoch = -(-len(train) // config.batch_size)
    n_steps = config.epochs * steps_per_epoch
    order = torch.Generator().manual_seed(config.seed)  # the same batches in the same order, whatever the method
    batches = [torch.randperm(len(train), generator=order) for _ in range(config.epochs)]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, int(config.warmup * n_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (n_steps - s) / max(1, n_steps - warmup))))
    classifier = model.base_model.model if config.method == "lora" else model  # the Classifier inside
    head = classifier.classifier

    train_s = train_cpu_s = 0.0  # wall and CPU seconds of training (CPU time: honest on a busy machine)
    with PeakMemory() as memory:
        if config.method == "probe":  # a frozen encoder gives the same features every epoch: compute them once
            t, cpu = time.perf_counter(), time.process_time()
            feats = _chunked(classifier.eval().features, x_train)
            train_s += time.perf_counter() - t
            train_cpu_s += time.process_time() - cpu
            test_feats = _chunked(classifier.features, x_test)  # evaluation, not training: not timed

        def evaluate() -> torch.Tensor:
            if config.method == "probe":
                with torch.no_grad():
                    return head.eval()(test_feats)
            return _chunked(model.eval(), x_test)

        def step(i: int) -> dict[str, float]:
            nonlocal train_s, train_cpu_s
            t, cpu = time.perf_counter(), time.process_time()
            epoch, k = divmod(i - 1, steps_per_epoch)
            idx = batches[epoch][k * config.batch_size:(k + 1) * config.batch_size]
            if config.method == "probe":
                head.train()
                logits = head(feats[idx])
            else:
                model.train()
                logits = model(**_rows(x_train, idx))
            loss = nn.functional.cross_entropy(logits, y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)  # one bad batch can't throw the weights away
            optimizer.step()
            schedule.step()
            train_s += time.perf_counter() - t
            train_cpu_s += time.process_time() - cpu
            metrics = {"loss": loss.item(), "acc": (logits.argmax(1) == y_train[idx]).float().mean().item()}
            if i % config.eval_every == 0 or i == n_steps:
                test_logits = evaluate()
                metrics.update(test_loss=nn.functional.cross_entropy(test_logits, y_test).item(),
                               test_acc=(test_logits.argmax(1) == y_test).float().mean().item(), train_s=train_s,
                               train_cpu_s=train_cpu_s)
            return metrics

        history = run_steps(step, n_steps, on_step, items_per_step=config.batch_size, item_name="sentences")
    model.eval()
    probs = evaluate().softmax(-1).numpy()
    held_out = test.assign(predicted=[labels[j] for j in probs.argmax(1)], confidence=probs.max(1)).reset_index(drop=True)
    return FinetuneResult(config, model, base.tokenizer, labels, history, trainable, total, train_s,
                          time.perf_counter() - wall_start, memory.peak_bytes, held_out)


def race_configs(config: FinetuneConfig, lr: dict[str, float] | None = None,
                 methods: tuple[Method, ...] = METHODS) -> dict[Method, FinetuneConfig]:
    """One config per method for a side-by-side race: the same data, batches, seed and head, only
    what trains differs, each with its own learning rate (`lr`, else `config.lr` for config.method
    and DEFAULT_LR for the others). Run each with `fit` (its own on_step: a page's progress bar,
    a benchmark's time budget):

        {m: fit(c, train, test) for m, c in race_configs(FinetuneConfig()).items()}

    >>> {m: c.lr for m, c in race_configs(FinetuneConfig(lr=5e-3), {"full": 3e-5}).items()}
    {'probe': 0.01, 'lora': 0.005, 'full': 3e-05}
    """
    rates = {**DEFAULT_LR, config.method: config.lr, **(lr or {})}
    return {m: replace(config, method=m, lr=rates[m]) for m in methods}


def time_to_accuracy(history: History, target: float, clock: str = "train_s") -> float:
    """Training seconds (wall, or CPU with clock="train_cpu_s") at the first evaluation whose
    held-out accuracy reached `target` (inf if none did)."""
    for acc, secs in zip(history.metrics.get("test_acc", []), history.metrics.get(clock, [])):
        if acc >= target:
            return secs
    return float("inf")


# ----------------------------------------------------------------------------- after training


def predict(result: FinetuneResult, texts: list[str]) -> pd.DataFrame:
    """Class probabilities, one row per text, one column per class."""
    texts = [t if t.strip() else "[empty]" for t in texts]
    batch = _tokenize(result.tokenizer, texts, result.config.max_length)
    probs = _chunked(result.model.eval(), batch).softmax(-1).numpy()
    return pd.DataFrame(probs, columns=result.labels, index=texts)


def confusion(result: FinetuneResult) -> pd.DataFrame:
    """Counts of (true label, predicted label) on the held-out rows, every pair present."""
    counts = pd.crosstab(result.test.label, result.test.predicted)
    return counts.reindex(index=result.labels, columns=result.labels, fill_value=0)


def lora_layers(result: FinetuneResult) -> list[str]:
    """Names of the layers that carry a LoRA adapter (empty for probe / full)."""
    from peft.tuners.lora import LoraLayer

    return [name.removeprefix("base_model.model.") for name, m in result.model.named_modules() if isinstance(m, LoraLayer)]


def energy_rank(singular: np.ndarray, share: float = 0.9) -> int:
    """How many of the largest singular values hold `share` of the energy Σσ² (0 for a zero matrix):
    the smallest k whose best rank-k approximation leaves at most 1 − share of ‖M‖²_F out.

    >>> energy_rank(np.array([3.0, 1.0, 0.0]), 0.8), energy_rank(np.array([3.0, 1.0, 0.0]), 0.95)
    (1, 2)
    """
    energy = np.cumsum(np.asarray(singular, dtype=float) ** 2)
    if energy[-1] == 0:
        return 0
    return min(int(np.searchsorted(energy / energy[-1], share)) + 1, len(energy))


@dataclass
class LayerUpdate:
    """What LoRA did to one adapted layer, beside the pretrained weight W0 it left untouched."""

    layer: str
    delta: np.ndarray  # ΔW = (alpha/r)·B·A, out × in
    singular: np.ndarray  # ΔW's singular values, largest first: at most r are non-zero
    base_singular: np.ndarray  # W0's: a pretrained weight is full rank, its spectrum decays slowly
    relative_norm: float  # ‖ΔW‖_F / ‖W0‖_F: how far training moved the layer
    directions_90: int  # singular directions holding 90% of ΔW's energy (energy_rank)
    stored: int  # numbers the adapter keeps for it, r·(in + out), against in·out for a full ΔW
    gap_to_ours: float  # max |peft's layer(x) − core.llm.lora.LoRALinear(x)| on 8 random inputs


def lora_update(result: FinetuneResult, layer: str) -> LayerUpdate:
    """One adapted layer's effective update ΔW = (alpha/r)·B·A, its spectrum beside W0's, and the
    from-scratch `LoRALinear` rebuilt from it checked against peft's layer."""
    module = result.model.base_model.model.get_submodule(layer)
    a, b, w0 = module.lora_A["default"].weight, module.lora_B["default"].weight, module.base_layer.weight
    ours = as_lora_linear(result, layer)
    x = torch.randn(8, w0.shape[1], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        delta = module.scaling["default"] * b @ a
        gap = (ours(x) - module(x)).abs().max().item()  # result.model is in eval mode: no dropout
        singular = torch.linalg.svdvals(delta).numpy()
        return LayerUpdate(layer, delta.numpy(), singular, torch.linalg.svdvals(w0).numpy(),
                           (torch.linalg.norm(delta) / torch.linalg.norm(w0)).item(), energy_rank(singular),
                           a.numel() + b.numel(), gap)


def as_lora_linear(result: FinetuneResult, layer: str):
    """One adapted layer rebuilt as the lab's from-scratch `core.llm.lora.LoRALinear` (same W0, A, B, alpha/r)."""
    from core.llm.lora import LoRALinear

    module = result.model.base_model.model.get_submodule(layer)
    config = result.config
    ours = LoRALinear(copy.deepcopy(module.base_layer), config.r, config.alpha).eval()
    with torch.no_grad():
        ours.A.copy_(module.lora_A["default"].weight)
        ours.B.copy_(module.lora_B["default"].weight)
    return ours


def merge(result: FinetuneResult) -> nn.Module:
    """A copy of the LoRA classifier with every B·A folded into its weights: a plain model, no peft."""
    return copy.deepcopy(result.model).merge_and_unload().eval()


def merge_check(result: FinetuneResult, texts: list[str]) -> dict[str, float]:
    """Adapter vs merged model on `texts`: largest probability difference, fraction of equal predictions."""
    merged = merge(result)
    batch = _tokenize(result.tokenizer, texts, result.config.max_length)
    before, after = _chunked(result.model.eval(), batch).softmax(-1), _chunked(merged, batch).softmax(-1)
    return {"max |Δp|": (before - after).abs().max().item(),
            "same prediction": (before.argmax(1) == after.argmax(1)).float().mean().item(),
            "parameters after merge": sum(p.numel() for p in merged.parameters())}


def adapter_zip(result: FinetuneResult) -> bytes:
    """The PEFT adapter folder (adapter_config.json, adapter_model.safetensors with the head) plus
    labels.json, zipped for a download. Reload it with `load_adapter`."""
    with tempfile.TemporaryDirectory() as folder:
        result.model.save_pretrained(folder)  # safetensors; modules_to_save puts the head in it too
        extra = {"labels": result.labels, "config": asdict(result.config)}
        Path(folder, "labels.json").write_text(json.dumps(extra, indent=2))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(Path(folder).iterdir()):
                z.write(path, path.name)
    return buffer.getvalue()


def load_adapter(data: bytes, base: models.LoadedModel) -> FinetuneResult:
    """Rebuild a trained LoRA classifier from `adapter_zip` bytes on a copy of `base` (no training)."""
    from peft import PeftModel

    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(io.BytesIO(data)).extractall(folder)
        extra = json.loads(Path(folder, "labels.json").read_text())
        config = FinetuneConfig(**{**extra["config"], "targets": tuple(extra["config"]["targets"])})
        classifier = build(replace(config, method="probe"), base, len(extra["labels"]))  # plain copy, no adapter yet
        model = PeftModel.from_pretrained(classifier, folder).eval()
    counted = parameter_count(base.model, config, len(extra["labels"]))  # what training trained (peft loads it frozen)
    empty = pd.DataFrame(columns=["text", "label", "predicted", "confidence"])
    return FinetuneResult(config, model, base.tokenizer, extra["labels"], History(), counted["trainable"], counted["total"],
                          0.0, 0.0, 0, empty)
