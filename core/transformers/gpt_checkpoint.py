"""Saving and loading the lab's GPT: safetensors weights, a JSON config, the training log.

A checkpoint is three files (in a folder, or zipped for a download):

    model.safetensors   the weights (the tied output layer is the token embedding: stored once)
    config.json         {"format": "llm-lab-gpt", "gpt": GPTConfig, "tokenizer": ..., "train": TrainConfig, ...}
    training_log.json   the loss curves and the samples written while training

Loading never unpickles anything: safetensors holds only named arrays, and every name and shape
is checked against the model its config builds (after a size check) before a single weight is
copied, so a foreign, truncated or oversized file is refused with a message.

>>> import tempfile
>>> from core.lm.text_tokens import ByteTokenizer
>>> model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=8, context=16))
>>> folder = save(model, ByteTokenizer(), tempfile.mkdtemp())
>>> sorted(p.name for p in folder.iterdir())
['config.json', 'model.safetensors', 'training_log.json']
>>> load_folder(folder).model.config == model.config
True
"""

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from core.errors import LabError
from core.lm.text_tokens import from_dict as tokenizer_from_dict
from core.training import History
from core.transformers.gpt import GPT, GPTConfig

FORMAT = "llm-lab-gpt"
FILES = ("model.safetensors", "config.json", "training_log.json")
MAX_BYTES = 200_000_000  # a checkpoint file larger than this is refused before it is read (≈ 50 M parameters)
TIED = "lm_head.weight"  # the same tensor as transformer.wte.weight: saved once


@dataclass
class Checkpoint:
    model: GPT  # in eval mode
    tokenizer: object  # core.lm.text_tokens (or any tokenizer whose to_dict from_dict understands)
    meta: dict = field(default_factory=dict)  # config.json minus the model and tokenizer: training config, corpus, results
    log: dict = field(default_factory=dict)  # training_log.json (empty if there was none)

    @property
    def history(self) -> History:
        """The training curves saved in the log, as the History a run keeps (empty if none)."""
        steps, metrics = self.log.get("steps"), self.log.get("metrics")
        if not isinstance(steps, list) or not isinstance(metrics, dict):
            return History()
        return History(steps=steps, metrics={k: v for k, v in metrics.items() if isinstance(v, list) and len(v) == len(steps)})

    @property
    def tokens_per_char(self) -> float | None:
        """Held-out tokens per held-out character of the run that made it (bits per token × this = bits per
        character), as config.json's results record it; None if they do not (a checkpoint saved without them).
        Older checkpoints recorded it only inside two losses: bits per character ÷ bits per token."""
        results = self.meta.get("results")
        results = results if isinstance(results, dict) else {}
        ratio = results.get("held-out tokens per character")
        if ratio is None and all(isinstance(results.get(k), (int, float)) for k in ("bits per character", "val loss (bits)")):
            ratio = results["bits per character"] / results["val loss (bits)"] if results["val loss (bits)"] else None
        return float(ratio) if isinstance(ratio, (int, float)) and 0 < ratio < float("inf") else None

    @property
    def samples(self) -> list[tuple[int, str]]:
        rows = self.log.get("samples")
        rows = rows if isinstance(rows, list) else []
        return [(int(r[0]), r[1]) for r in rows if isinstance(r, list) and len(r) == 2 and isinstance(r[1], str)]


def files(model: GPT, tokenizer, meta: dict | None = None, log: dict | None = None) -> dict[str, bytes]:
    """The checkpoint's three files as bytes (what `save` writes and `zipped` packs)."""
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != TIED}
    config = {"format": FORMAT, "version": 1, "gpt": model.config.to_dict(), "tokenizer": tokenizer.to_dict(), **(meta or {})}
    return {"model.safetensors": save_safetensors(state, metadata={"format": FORMAT}),
            "config.json": json.dumps(config, indent=1, ensure_ascii=False).encode(),
            "training_log.json": json.dumps(log or {}, ensure_ascii=False, allow_nan=True).encode()}


def save(model: GPT, tokenizer, folder: str | Path, meta: dict | None = None, log: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files(model, tokenizer, meta, log).items():
        (folder / name).write_bytes(data)
    return folder


def zipped(model: GPT, tokenizer, meta: dict | None = None, log: dict | None = None) -> bytes:
    """A zip of the checkpoint, for a download button; `load_upload` reads it back."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files(model, tokenizer, meta, log).items():
            z.writestr(name, data)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- loading


def load_folder(folder: str | Path) -> Checkpoint:
    folder = Path(folder)
    found = {name: (folder / name).read_bytes() for name in FILES if (folder / name).is_file()}
    return load_files(found, where=str(folder))


def load_upload(uploads: dict[str, bytes]) -> Checkpoint:
    """What a learner uploaded: one zip, or the files themselves (by name). Refuses anything else clearly."""
    if len(uploads) == 1 and next(iter(uploads)).lower().endswith(".zip"):
        name, data = next(iter(uploads.items()))
        return load_files(unzip(data, name), where=name)
    return load_files({Path(n).name: d for n, d in uploads.items()}, where="the uploaded files")


def unzip(data: bytes, name: str = "the zip") -> dict[str, bytes]:
    """The checkpoint files inside a zip (in any folder of it), each checked for size before it is read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out = {}
            for info in z.infolist():
                base = Path(info.filename).name
                if base not in FILES or info.is_dir():
                    continue
                if info.file_size > MAX_BYTES:
                    raise LabError(f"{name}: {base} would unpack to {info.file_size / 1e6:,.0f} MB, more than the "
                                   f"{MAX_BYTES / 1e6:,.0f} MB a checkpoint of the lab's GPT may have")
                out[base] = z.read(info)
            return out
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError) as e:
        raise LabError(f"{name} is not a readable zip file (damaged, or cut short while downloading: {e})") from e


def load_files(found: dict[str, bytes], where: str = "the checkpoint") -> Checkpoint:
    """Build the GPT a checkpoint describes and fill in its weights, refusing anything that does not fit."""
    missing = [n for n in FILES[:2] if n not in found]
    if missing:
        raise LabError(f"{where} is not a checkpoint of the lab's GPT: {' and '.join(missing)} missing "
                       f"(a checkpoint has {', '.join(FILES)})")
    config, tokenizer, meta = read_config(found["config.json"], where)
    try:
        state = load_safetensors(found["model.safetensors"])
    except (SafetensorError, ValueError, OverflowError) as e:
        raise LabError(f"{where}: model.safetensors is damaged or cut short ({e})") from e
    check_size(config, where)
    model = GPT(config)  # bounded by check_size; built on the CPU (the meta device would cost seconds of imports)
    check_weights(state, model, where)
    model.load_state_dict({**state, TIED: state["transformer.wte.weight"]})
    try:
        log = json.loads(found["training_log.json"]) if "training_log.json" in found else {}
    except ValueError:
        log = {}  # the log only draws curves: a damaged one loses the curves, not the model
    return Checkpoint(model.eval(), tokenizer, meta, log if isinstance(log, dict) else {})


def read_config(data: bytes, where: str) -> tuple[GPTConfig, object, dict]:
    try:
        config = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise LabError(f"{where}: config.json is not valid JSON ({e})") from e
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise LabError(f"{where} is not a checkpoint of the lab's GPT (its config.json lacks \"format\": \"{FORMAT}\")")
    gpt = config.get("gpt")
    fields = GPTConfig.__dataclass_fields__
    if not isinstance(gpt, dict) or set(gpt) - set(fields):
        raise LabError(f"{where}: config.json's \"gpt\" entry has settings this lab's GPT does not know: "
                       f"{sorted(set(gpt or {}) - set(fields)) if isinstance(gpt, dict) else gpt!r}")
    for name, value in gpt.items():
        expected = (int,) if fields[name].type is int else (float, int) if fields[name].type is float else (bool,)
        if not isinstance(value, expected) or (fields[name].type is int and isinstance(value, bool)):
            raise LabError(f"{where}: config.json gives {name} = {value!r}, not a {fields[name].type.__name__}")
    gpt_config = GPTConfig(**gpt)
    tokenizer = tokenizer_from_dict(config.get("tokenizer"))
    if tokenizer.vocab_size != gpt_config.vocab_size:
        raise LabError(f"{where}: the tokenizer has {tokenizer.vocab_size} tokens but the model {gpt_config.vocab_size}")
    meta = {k: v for k, v in config.items() if k not in ("format", "version", "gpt", "tokenizer")}
    return gpt_config, tokenizer, meta


def check_size(config: GPTConfig, where: str) -> None:
    """Refuse a config too large to build, before building anything."""
    c = config
    roughly = c.n_layer * 12 * c.n_embd**2 + (c.vocab_size + c.context) * c.n_embd
    if roughly * 4 > MAX_BYTES:
        raise LabError(f"{where}: its config describes about {roughly:,} parameters, more than this lab loads")


def check_weights(state: dict[str, torch.Tensor], model: GPT, where: str) -> None:
    """Every tensor `model` has, with its shape, and nothing else."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if k != TIED}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got.keys() != expected.keys():
        lost, extra = sorted(expected.keys() - got.keys()), sorted(got.keys() - expected.keys())
        raise LabError(f"{where}: the weights do not match its config (missing {lost[:3]}, unexpected {extra[:3]}): "
                       "not a checkpoint of this GPT, or an incomplete one")
    wrong = [f"{k} is {got[k]}, expected {expected[k]}" for k in expected if got[k] != expected[k]]
    if wrong:
        raise LabError(f"{where}: weights of the wrong shape ({'; '.join(wrong[:3])})")
    if any(not v.is_floating_point() for v in state.values()):
        raise LabError(f"{where}: some weights are not floating-point numbers")
    if any(not torch.isfinite(v).all() for v in state.values()):
        raise LabError(f"{where}: some weights are NaN or infinite (saved from a run that diverged?)")
