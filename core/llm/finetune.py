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

The base model handed in is never touched: `fit` trains a deep copy (or a fresh load). Every random
draw of a run (the head's and LoRA's initial weights, dropout masks, the batch order) comes from the
run's own generators, so a seed repeats a run bit for bit while other runs train in other threads.
The rows come checked from core.llm.finetune_data; what a trained adapter did is in
core.llm.finetune_analysis.

>>> FinetuneConfig().method, FinetuneConfig().targets
('lora', ('query', 'value', 'dense'))
>>> from core.infra.data import sentiment
>>> result = fit(FinetuneConfig(epochs=1), sentiment("train"), sentiment("test"))  # doctest: +SKIP
"""

import copy
import io
import json
import math
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import pandas as pd
import torch
from torch import nn

from core.errors import LabError
from core.infra import models
from core.infra.memory import TensorMemory
from core.llm.finetune_data import prepare
from core.training import Dropout, History, OnStep, generators, init_parameters, run_steps

Method = Literal["probe", "lora", "full"]
METHODS: tuple[Method, ...] = ("probe", "lora", "full")
TARGETS = ("query", "key", "value", "dense")
# The same roles under other BERT-family names (DistilBERT), so the target picker works for both.
_ALIASES = {"query": ("query", "q_lin"), "key": ("key", "k_lin"), "value": ("value", "v_lin"),
            "dense": ("dense", "out_lin", "lin1", "lin2")}
# A good learning rate differs by orders of magnitude between methods: a fresh head alone can take
# big steps; nudging 22 M pretrained weights needs small ones. Comparisons use these by default.
DEFAULT_LR: dict[str, float] = {"probe": 1e-2, "lora": 3e-3, "full": 1e-4}


@dataclass
class FinetuneConfig:
    method: Method = "lora"
    model: str = "minilm"  # a core.infra.models key, or a Hub id / local folder of a BERT-family encoder
    r: int = 8  # rank of the LoRA update B·A
    alpha: float = 16.0  # the update is scaled by alpha/r, so changing r keeps its size comparable
    dropout: float = 0.1  # LoRA dropout on the adapter's input
    targets: tuple[str, ...] = ("query", "value", "dense")  # which linear layers get an adapter
    lr: float = 3e-3  # AdamW peak learning rate (see DEFAULT_LR for the other methods)
    epochs: int = 3  # passes over the training set (the page default: the bundled set's 850 rows in 81 steps, ~70 s
    # on one core; 3 beat 2 on a validation fifth of the training rows, 0.82 against 0.81, and on held-out rows)
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

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from tokens, or from `features` computed earlier (a probe's frozen encoder gives the same ones)."""
        return self.classifier(self.features(input_ids, attention_mask) if features is None else features)


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
    peak_memory: int  # most bytes held at once by the tensors training allocated (this run only: core.infra.memory.TensorMemory)
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


# ----------------------------------------------------------------------------- tokens


def tokenized(tokenizer, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    """input_ids and attention_mask of `texts`, padded to the longest and cut at max_length."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def _rows(batch: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rows `idx` of a batch, without the padding columns none of them needs (short batches run faster)."""
    rows = {k: v[idx] for k, v in batch.items()}
    if "attention_mask" not in rows:  # precomputed features: nothing to trim
        return rows
    width = int(rows["attention_mask"].sum(1).max())
    return {k: v[:, :width] for k, v in rows.items()}


@torch.no_grad()
def _chunked(fn, batch: dict[str, torch.Tensor], chunk: int = 64) -> torch.Tensor:
    """`fn(**rows)` over a whole batch, `chunk` rows at a time, no gradients: a model in eval mode
    (logits) or its `features` (the probe's frozen features)."""
    n = next(iter(batch.values())).shape[0]
    return torch.cat([fn(**_rows(batch, torch.arange(i, min(i + chunk, n)))) for i in range(0, n, chunk)])


def probabilities(model: nn.Module, tokenizer, texts: list[str], max_length: int) -> torch.Tensor:
    """softmax(logits) of the classifier for each text: one row per text, one column per class."""
    return _chunked(model.eval(), tokenized(tokenizer, texts, max_length)).softmax(-1)


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


def own_randomness(model: nn.Module, g: torch.Generator) -> nn.Module:
    """Make every dropout of `model` draw its masks from the run's generator `g`.

    Each nn.Dropout (hidden states, embeddings, LoRA's input) becomes core.training.Dropout with the
    same p. Attention-probability dropout is set to 0 instead: a transformers attention layer does
    not call its dropout module, it hands the module's p to the attention kernel (torch's
    scaled_dot_product_attention, or F.dropout in eager mode), and those take no generator: they
    would draw from the process-wide one, which other learners' runs share. Fine-tuning for a few
    epochs loses nothing measurable without it.
    """
    for parent in list(model.modules()):
        attention = type(parent).__name__.endswith("SelfAttention")  # BERT's and DistilBERT's (p read, never called)
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Dropout):
                setattr(parent, name, Dropout(0.0 if attention else child.p, g))
    return model


def build(config: FinetuneConfig, base: models.LoadedModel, n_classes: int, g: torch.Generator) -> nn.Module:
    """The classifier to train, on a private copy of `base` (the cached one stays as it was), with its new
    weights (the head, LoRA's A) and its dropout drawn from the run's generator `g`."""
    encoder = copy.deepcopy(base.model)
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None  # BERT's [CLS] pooler is unused by our head: don't count or adapt it
    model = Classifier(encoder, n_classes, config.pooling)
    init_parameters(model.classifier, g)
    if config.method == "lora":
        from peft import LoraConfig, get_peft_model

        if config.r < 1:
            raise LabError("the LoRA rank r must be at least 1")
        lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                          target_modules=target_modules(encoder, config.targets),
                          modules_to_save=["classifier"])  # the head trains AND is saved with the adapter
        model = get_peft_model(model, lora)
        for name, p in model.named_parameters():  # A as peft draws it, U(±1/√in), but from g; B stays 0
            if "lora_A" in name:
                nn.init.kaiming_uniform_(p, a=math.sqrt(5), generator=g)
    else:
        model.requires_grad_(config.method == "full")
        model.classifier.requires_grad_(True)
    return own_randomness(model, g)


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


def total_steps(config: FinetuneConfig, n_rows: int) -> int:
    """Optimizer steps of a run: `epochs` passes over `n_rows` in batches of batch_size (the last one short).

    >>> total_steps(FinetuneConfig(epochs=2, batch_size=32), 100)
    8
    """
    return config.epochs * -(-n_rows // config.batch_size)


@dataclass
class Stopwatch:
    """Wall and CPU seconds spent inside `timing()` blocks (CPU time is honest on a busy machine)."""

    wall: float = 0.0
    cpu: float = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu


def fit(config: FinetuneConfig, train: pd.DataFrame, test: pd.DataFrame, on_step: OnStep | None = None,
        base: models.LoadedModel | None = None) -> FinetuneResult:
    """Fine-tune `config.model` (or a copy of `base`) on `train`; report held-out accuracy on `test`.

    `build` decides, by the method, which parameters train; one loop trains them. A probe's encoder is
    frozen, so its features are the same every epoch: they are computed once (as training time) and
    the loop feeds them to the head instead of the tokens.

    on_step gets, every step, the batch `loss` and `acc`, and every `eval_every` steps the held-out
    `test_loss`, `test_acc` and `train_s`/`train_cpu_s` (training seconds so far, for time-to-accuracy).
    """
    wall_start = time.perf_counter()
    train, test, labels = prepare(train, test)
    if config.method not in METHODS:
        raise LabError(f"unknown method '{config.method}'; choose one of {', '.join(METHODS)}")
    if config.epochs < 1 or config.batch_size < 1 or config.max_length < 2:
        raise LabError("epochs and batch size must be at least 1, max length at least 2")
    base = base or load_base(config.model)
    rng, g = generators(config.seed)
    model = build(config, base, len(labels), g)
    trainable, total = count_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    index = {name: i for i, name in enumerate(labels)}
    y_train, y_test = (torch.tensor(df.label.map(index).to_numpy()) for df in (train, test))
    x_train, x_test = (tokenized(base.tokenizer, df.text.tolist(), config.max_length) for df in (train, test))

    n_steps, n_batches = total_steps(config, len(train)), total_steps(replace(config, epochs=1), len(train))
    batches = [torch.from_numpy(rng.permutation(len(train))) for _ in range(config.epochs)]  # the same for every method
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, int(config.warmup * n_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (n_steps - s) / max(1, n_steps - warmup))))
    clock = Stopwatch()

    with TensorMemory() as memory:  # counts this run's tensors only, whoever else trains in other threads
        if config.method == "probe":
            classifier = model.eval()
            with clock.timing():
                x_train = {"features": _chunked(classifier.features, x_train)}
            x_test = {"features": _chunked(classifier.features, x_test)}  # evaluation, not training: not timed

        def step(i: int) -> dict[str, float]:
            with clock.timing():
                epoch, k = divmod(i - 1, n_batches)
                idx = batches[epoch][k * config.batch_size:(k + 1) * config.batch_size]
                logits = model.train()(**_rows(x_train, idx))
                loss = nn.functional.cross_entropy(logits, y_train[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)  # one bad batch can't throw the weights away
                optimizer.step()
                schedule.step()
            metrics = {"loss": loss.item(), "acc": (logits.argmax(1) == y_train[idx]).float().mean().item()}
            if i % config.eval_every == 0 or i == n_steps:
                test_logits = _chunked(model.eval(), x_test)
                metrics.update(test_loss=nn.functional.cross_entropy(test_logits, y_test).item(),
                               test_acc=(test_logits.argmax(1) == y_test).float().mean().item(),
                               train_s=clock.wall, train_cpu_s=clock.cpu)
            return metrics

        history = run_steps(step, n_steps, on_step, items_per_step=config.batch_size, item_name="sentences")
    probs = _chunked(model.eval(), x_test).softmax(-1).numpy()
    held_out = test.assign(predicted=[labels[j] for j in probs.argmax(1)], confidence=probs.max(1)).reset_index(drop=True)
    return FinetuneResult(config, model, base.tokenizer, labels, history, trainable, total, clock.wall,
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


def predict(result: FinetuneResult, texts: list[str]) -> pd.DataFrame:
    """Class probabilities, one row per text, one column per class."""
    texts = [t if t.strip() else "[empty]" for t in texts]
    probs = probabilities(result.model, result.tokenizer, texts, result.config.max_length).numpy()
    return pd.DataFrame(probs, columns=result.labels, index=texts)


# ----------------------------------------------------------------------------- saving


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
        classifier = build(replace(config, method="probe"), base, len(extra["labels"]), generators(config.seed)[1])  # no adapter yet
        model = PeftModel.from_pretrained(classifier, folder).eval()
    counted = parameter_count(base.model, config, len(extra["labels"]))  # what training trained (peft loads it frozen)
    empty = pd.DataFrame(columns=["text", "label", "predicted", "confidence"])
    return FinetuneResult(config, model, base.tokenizer, extra["labels"], History(), counted["trainable"], counted["total"],
                          0.0, 0.0, 0, empty)
