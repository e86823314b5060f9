"""The seq2seq page's three translators, trained once with the page's defaults and kept, so a first visit
shows trained models at once (training all three live takes 20–30 s of a CPU; the page's button still does).

A checkpoint is three files in a folder:

    model.safetensors   every model's weights, named "<model>/<parameter>" ("transformer/encoder.tok.weight")
    config.json         {"format": "llm-lab-seq2seq", "task": TaskConfig, "train": TrainConfig, "runs": {...}}
    training_log.json   each model's curves (the History its run recorded)

The task is not stored: `make_task(TaskConfig)` draws the same pairs from the same seed, so the
checkpoint holds only what training made. Loading never unpickles anything, and a model whose
weights do not fit its config is refused with a message (the page then trains live).

Regenerate with `./lab train seq2seq`, i.e. `python -m core.transformers.seq2seq_checkpoint --out
checkpoints/seq2seq-numbers` (one thread, so the weights do not depend on the machine's core count).

>>> import tempfile
>>> task_config = TaskConfig(max_digits=2, train_max_chars=13)
>>> tc = TrainConfig(steps=2, batch_size=4, n_embd=8, n_layer=1, n_head=2, hidden=4)
>>> folder = train(task_config, tc, tempfile.mkdtemp())
>>> task, runs = load_folder(folder)
>>> list(runs) == list(MODELS), runs["transformer"].steps, task.config == task_config
(True, 2, True)
"""

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.errors import LabError
from core.training import History, generators
from core.transformers.seq2seq_train import MODELS, Run, TrainConfig, build_model, fit
from core.transformers.translation_task import Task, TaskConfig, make_task

FORMAT = "llm-lab-seq2seq"
FILES = ("model.safetensors", "config.json", "training_log.json")
COMMAND = "python -m core.transformers.seq2seq_checkpoint --out checkpoints/seq2seq-numbers"
FOLDER = Path(__file__).parents[2] / "checkpoints" / "seq2seq-numbers"  # the one the page shows on a first visit


def save(runs: dict[str, Run], task_config: TaskConfig, folder: str | Path) -> Path:
    """Write the runs (one per model, all trained with one TrainConfig but for its `model`) to `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {f"{name}/{k}": v.detach().contiguous() for name, run in runs.items() for k, v in run.model.state_dict().items()}
    save_file(weights, folder / "model.safetensors", metadata={"format": FORMAT})
    train_config = replace(next(iter(runs.values())).config, model=MODELS[-1])  # the shared settings; `model` varies
    config = {"format": FORMAT, "version": 1, "command": COMMAND, "task": asdict(task_config), "train": asdict(train_config),
              "runs": {name: {"seconds": run.seconds, "stop_reason": run.stop_reason} for name, run in runs.items()}}
    (folder / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
    log = {name: {"steps": run.history.steps, "metrics": run.history.metrics, "total_steps": run.history.total_steps}
           for name, run in runs.items()}
    (folder / "training_log.json").write_text(json.dumps(log, ensure_ascii=False, allow_nan=True))
    return folder


def read_configs(folder: str | Path) -> tuple[TaskConfig, TrainConfig, dict]:
    """The task and training settings a checkpoint was made with (and its runs' notes), refusing a foreign folder."""
    where = Path(folder)
    try:
        config = json.loads((where / "config.json").read_text())
        if config.get("format") != FORMAT:
            raise ValueError(f'no "format": "{FORMAT}"')
        return TaskConfig(**config["task"]), TrainConfig(**config["train"]), config["runs"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise LabError(f"{where} is not a readable seq2seq checkpoint ({e}); make it again with `./lab train seq2seq`") from e


def made_with(folder: str | Path) -> tuple[TaskConfig, TrainConfig] | None:
    """The settings a checkpoint was trained with, or None if there is no readable checkpoint there."""
    try:
        return read_configs(folder)[:2]
    except LabError:
        return None


def load_folder(folder: str | Path) -> tuple[Task, dict[str, Run]]:
    """The task and one trained Run per model (in eval mode), as `fit` would have returned them."""
    where = Path(folder)
    task_config, train_config, notes = read_configs(where)
    try:
        weights = load_file(where / "model.safetensors")
        log = json.loads((where / "training_log.json").read_text())
    except (OSError, ValueError, SafetensorError) as e:
        raise LabError(f"{where}: its weights or training log are damaged ({e}); make it again with `./lab train seq2seq`") from e
    task = make_task(task_config)
    runs = {}
    for name in MODELS:
        tc = replace(train_config, model=name)
        model = build_model(tc, task, generators(tc.seed)[1])
        prefix = f"{name}/"
        try:
            model.load_state_dict({k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)})
        except RuntimeError as e:  # missing, unexpected or misshapen weights
            raise LabError(f"{where}: the {name} weights do not fit its config; make it again with `./lab train seq2seq`") from e
        curves = log.get(name, {})
        history = History(steps=curves.get("steps", []), metrics=curves.get("metrics", {}), total_steps=curves.get("total_steps", 0))
        runs[name] = Run(tc, model.eval(), history, notes[name]["seconds"], notes[name]["stop_reason"])
    return task, runs


def train(task_config: TaskConfig, tc: TrainConfig, folder: str | Path) -> Path:
    """Train the three models with the same settings, as the page's button does, and save them."""
    task = make_task(task_config)
    runs = {name: fit(replace(tc, model=name), task, report(name)) for name in MODELS}
    return save(runs, task_config, folder)


def report(name: str, every: int = 50):
    """An on_step that prints the loss now and then (the command's progress) and never stops the run."""
    def on_step(step: int, metrics: dict[str, float]) -> bool:
        if step % every == 0:
            print(f"{name}: step {step}, loss {metrics['loss']:.4f}, {metrics.get('pairs_per_s', 0):,.0f} pairs/s", flush=True)
        return True
    return on_step


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(prog="python -m core.transformers.seq2seq_checkpoint",
                                description="Train the seq2seq page's three translators with its defaults and save them.")
    p.add_argument("--out", required=True, help="the checkpoint folder (the page reads checkpoints/seq2seq-numbers)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: the same weights on every machine)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    return train(TaskConfig(), TrainConfig(), args.out)


if __name__ == "__main__":
    main()
