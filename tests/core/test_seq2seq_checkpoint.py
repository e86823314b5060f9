"""The seq2seq checkpoint: the bundled one was made with the page's defaults and its models score as trained;
save → load gives back the same weights, curves and translations; damage is refused with a message."""

from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from core.errors import LabError
from core.transformers import seq2seq_checkpoint as ckpt
from core.transformers import seq2seq_train as s2s
from core.transformers.translation_task import TaskConfig, make_task

TINY_TASK = TaskConfig(max_digits=2, train_max_chars=13)
TINY = s2s.TrainConfig(steps=4, batch_size=4, n_embd=8, n_layer=1, n_head=2, hidden=4, eval_every=2, eval_pairs=8)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests (and the command) train: float sums, so the weights, depend on the thread count
    task = make_task(TINY_TASK)
    runs = {name: s2s.fit(replace(TINY, model=name), task) for name in s2s.MODELS}
    torch.set_num_threads(threads)
    return task, runs, ckpt.save(runs, TINY_TASK, tmp_path_factory.mktemp("s2s"))


def test_the_bundled_checkpoint_holds_the_pages_defaults_and_models_that_translate():
    assert ckpt.made_with(ckpt.FOLDER) == (TaskConfig(), s2s.TrainConfig())  # else the page would train on a first visit
    task, runs = ckpt.load_folder(ckpt.FOLDER)
    watched = task.test[:s2s.TrainConfig().eval_pairs]  # the pairs training checked now and then
    exact = {name: float(s2s.score(run.model, watched, task.vocab)["exact"].mean()) for name, run in runs.items()}
    logged = {name: run.history.metrics["test_exact"][-1] for name, run in runs.items()}  # their last check, in training
    assert exact == pytest.approx(logged, abs=1e-9)  # the loaded weights are the trained ones
    assert exact["additive attention"] > 0.9 and exact["transformer"] > 0.9 and exact["fixed context"] < exact["additive attention"]


def test_save_then_load_gives_the_same_weights_curves_and_translations(saved):
    task, runs, folder = saved
    loaded_task, loaded = ckpt.load_folder(folder)
    assert loaded_task.train == task.train and loaded_task.test == task.test
    for name, run in runs.items():
        got = loaded[name]
        assert got.config == run.config and got.history.steps == run.history.steps
        for metric, values in run.history.metrics.items():
            assert got.history.metrics[metric] == pytest.approx(values, nan_ok=True), (name, metric)
        for k, v in run.model.state_dict().items():
            assert torch.equal(got.model.state_dict()[k], v), (name, k)
        assert not got.model.training
        assert s2s.translate(got.model, task.vocab, "forty two").output == s2s.translate(run.model, task.vocab, "forty two").output


def test_the_command_retrains_the_same_weights(saved, tmp_path):
    _, _, folder = saved
    again = ckpt.train(TINY_TASK, TINY, tmp_path)
    first, second = load_file(folder / "model.safetensors"), load_file(again / "model.safetensors")
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "config.json").write_text("{not json"), "not a readable seq2seq checkpoint"),
    (lambda f: (f / "config.json").write_text('{"format": "llm-lab-gpt"}'), "not a readable seq2seq checkpoint"),
    (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:100]), "damaged"),
    (lambda f: (f / "model.safetensors").unlink(), "damaged"),
])
def test_a_damaged_checkpoint_is_refused_with_a_message(saved, tmp_path, damage, message):
    _, _, folder = saved
    for name in ckpt.FILES:
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    damage(tmp_path)
    with pytest.raises(LabError, match=message):
        ckpt.load_folder(tmp_path)


def test_weights_of_another_size_are_refused(saved, tmp_path):
    task, runs, _ = saved
    bigger = {name: replace(run, model=s2s.build_model(replace(run.config, hidden=8), task, torch.Generator()))
              for name, run in runs.items()}
    ckpt.save(bigger, TINY_TASK, tmp_path)
    (tmp_path / "config.json").write_text((tmp_path / "config.json").read_text().replace('"hidden": 8', '"hidden": 4'))
    with pytest.raises(LabError, match="do not fit its config"):
        ckpt.load_folder(tmp_path)
