"""Run a `core` training loop on a page: progress bar, live metric chart, Stop button.

    result = live.train("gpt", lambda on_step: gpt.fit(config, text, on_step), total_steps=config.steps)
    result = live.last("gpt")        # on later reruns: the finished result, if any

Every run waits for a slot of the server's heavy-work gate first (ui.state.heavy: the learner sees their
place in the queue), and gives the memory it freed back when it ends.

How Stop works in Streamlit: clicking any widget while the script runs makes Streamlit rerun the
script from the top, which interrupts the loop where it stands. So the Stop button needs no
handler: each report already saved the history so far in the session, and the next run sees
that the loop never finished and says where it stopped.
"""

import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from core.training import History, OnStep
from ui.state import heavy, recall, remember
from ui.vega import draw, field, lines

T = TypeVar("T")
REDRAW_EVERY_S = 0.25  # redrawing costs time in the loop; four times a second looks live enough


def metric_chart(history: History, metrics: tuple[str, ...], height: int = 220) -> dict:
    """One line per metric against the step (log-free, so a diverging loss is plain to see). Each metric keeps
    its colour (the order of `metrics`), even before its first value: the live chart and a page's final one agree.
    Each value is also a dot: a metric measured only now and then (held-out accuracy) shows from its first value."""
    df = history.frame()
    colour = field("metric:N", title="metric", sort=list(metrics), scale={"domain": list(metrics), "scheme": "category10"})
    return lines(df[df.metric.isin(metrics)], "step:Q", field("value:Q", title=None), colour, height=height, point=True,
                 tooltip=["step:Q", "metric:N", field("value:Q", format=".4g")])


def _speed(metrics: dict[str, float]) -> str:
    rates = [f"{v:,.0f} {k.removesuffix('_per_s').replace('_', ' ')}/s" for k, v in metrics.items() if k.endswith("_per_s")]
    return " · ".join(rates)


def train(key: str, run: Callable[[OnStep], T], total_steps: int, metrics: tuple[str, ...] = ("loss",), title: str = "") -> T:
    """Call `run(on_step)` with an on_step that draws progress; keep and return its result.

    `run` must call on_step(step, metrics) as core.training.run_steps does. The result is stored
    in this user's session under `key` (see `last`), the history so far under `key + '.history'`.
    `title` (Markdown) is shown above the progress while the run lasts, and goes with it.
    """
    remember(key, None)  # the result always belongs to the latest run, even a stopped one
    remember(f"{key}.running", True)
    remember(f"{key}.history", History(total_steps=total_steps))
    heading = st.empty()
    if title:
        heading.markdown(title)
    progress = st.progress(0.0, text="Starting…")
    stop = st.empty()  # a placeholder, so the button goes once the run is over
    stop.button("Stop", key=f"{key}.stop", help="Stops training after the current step; the model so far is kept only if the page says so.")
    chart = st.empty()
    history: History = recall(f"{key}.history")
    last_draw = 0.0

    def on_step(step: int, values: dict[str, float]) -> bool:
        nonlocal last_draw
        history.record(step, values)
        now = time.perf_counter()
        if now - last_draw >= REDRAW_EVERY_S or step == total_steps:
            last_draw = now
            progress.progress(min(step / total_steps, 1.0), text=f"step {step:,} / {total_steps:,} · {_speed(values)}")
            draw(metric_chart(history, metrics), chart)
        return True

    with heavy("Training"):
        result = run(on_step)
    for shown in (heading, progress, stop, chart):
        shown.empty()
    remember(key, result)
    remember(f"{key}.running", False)
    return result


def play(key: str, view: Callable, tick_s: float, budget_s: float) -> None:
    """Play / Pause, Step and Reset for the trainer the page keeps under `key + '.trainer'` (one that
    trains a few epochs at a time: core.nn.mlp.Trainer's run, run_for, history), and `view(trainer)`,
    redrawn every `tick_s` seconds while it plays, after about `budget_s` seconds of training.

    Reset forgets the trainer: the page builds a fresh one (same seed) on the rerun. Training that
    diverges stops the playing and reruns the whole page, so it can say why.
    """
    trainer, playing = f"{key}.trainer", f"{key}.playing"
    on = bool(recall(playing))
    c = st.columns([1, 1, 1, 5])
    c[0].button("⏸ Pause" if on else "▶ Play", on_click=remember, args=(playing, not on), key=f"{key}.play", type="primary")
    c[1].button("Step", on_click=_step, args=(key,), key=f"{key}.step", help="One epoch: one pass over the training points.")
    c[2].button("Reset", on_click=remember, args=(trainer, None), key=f"{key}.reset", help="New random weights (same seed), epoch 0.")

    @st.fragment(run_every=tick_s if on else None)
    def ticking():  # a fragment: each tick reruns only this, not the whole page
        t = recall(trainer)
        if t is None:
            return
        if recall(playing) and t.run_for(budget_s).diverged:
            remember(playing, False)
            st.rerun(scope="app")  # stop the ticking, and let the whole page say why
        view(t)

    ticking()


def _step(key: str) -> None:
    remember(f"{key}.playing", False)
    recall(f"{key}.trainer").run(1)


def last(key: str):
    """The result of this user's last finished run under `key`, or None.

    If that run was interrupted (Stop, or any other click while it trained), say where it stopped.
    """
    history: History | None = recall(f"{key}.history")
    if recall(f"{key}.running") and history is not None:
        remember(f"{key}.running", False)
        history.stopped = True
    if history is not None and history.stopped and recall(key) is None:
        done = history.steps[-1] if history.steps else 0
        st.info(f"Training stopped at step {done:,} of {history.total_steps:,}. Press Train to run it again.", icon="⏹️")
        if history.steps:
            draw(metric_chart(history, tuple(m for m in history.metrics if not m.endswith("_per_s"))))
    return recall(key)
