import pandas as pd
import streamlit as st

from core.nn import forgetting, recurrent
from ui import live, state
from ui.page import friendly_errors, header, show_code
from ui.vega import draw, field, values

header(
    "🧵 RNN, GRU, LSTM: why recurrent networks forget",
    "A recurrent network reads a sequence one token at a time, carrying a hidden state. In principle it can remember "
    "anything; in practice a vanilla RNN forgets within a few steps, because the gradient that would teach it to "
    "remember has to pass back through every step in between, and shrinks (or blows up) geometrically on the way. "
    "The GRU and the LSTM add gates that let it pass; attention skips the chain altogether and looks straight back. "
    "Below: the gradient reaching each earlier step, then a task whose distance you set, where the RNN fails first "
    "and attention (one block of the lab's GPT) does not fail.",
)
st.latex(r"\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial h_T} \prod_{s=t+1}^{T} \frac{\partial h_s}{\partial h_{s-1}},"
         r"\qquad \text{RNN: } \frac{\partial h_s}{\partial h_{s-1}} = \operatorname{diag}(1 - h_s^2)\, W_{hh},"
         r"\qquad \text{LSTM: } \frac{\partial c_s}{\partial c_{s-1}} = \operatorname{diag}(\sigma(f_s))")

COLOURS = {"domain": ["RNN", "GRU", "LSTM", "attention"], "range": ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]}

# ----------------------------------------------------------------------------- 1. the gradient reaching each step
st.header("1 · The gradient reaching each earlier step")
st.caption("Untrained cells (torch's default initialisation, then your changes) read random inputs; a loss sits at the last "
           "step. Each line is the size of ∂L/∂xₜ, how strongly that loss can change what the cell does with the input t "
           "steps back. Log scale: a straight falling line is geometric decay.")
c = st.columns(5)
seq_len = c[0].slider("Steps T", 2, forgetting.MAX_SEQ_LEN, 60, key="mem.T")
hidden = c[1].select_slider("State size", [2, 8, 16, 32, 64, 128, 256], 32, key="mem.H")
scale = c[2].select_slider("W_hh scale", [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0], 1.0, key="mem.scale",
                           help="Multiplies the recurrent weights after initialisation. Large: the RNN's gradient explodes.")
keep_bias = c[3].slider("Keep-gate bias", -2.0, 5.0, 0.0, 0.5, key="mem.keep",
                        help="Added to the LSTM's forget-gate bias and the GRU's update-gate bias: σ(3) ≈ 0.95 keeps 95% per step.")
clip = c[4].select_slider("Clip the gradient norm at", ["off", 0.01, 0.1, 1.0, 10.0], 0.1, key="mem.clip")
nonlinearity = st.radio("Vanilla RNN's nonlinearity", ["tanh", "relu"], horizontal=True, key="mem.nl")
with friendly_errors():
    flow_config = forgetting.FlowConfig(seq_len=seq_len, hidden=hidden, scale=scale, keep_bias=keep_bias, nonlinearity=nonlinearity,
                                        clip=None if clip == "off" else clip)
    flow = pd.DataFrame(state.cached(forgetting.gradient_flow)(flow_config))
    long = flow.melt(["kind", "distance", "weight_norm"], ["grad_norm", "clipped_norm"], var_name="gradient", value_name="norm")
    long["gradient"] = long.gradient.map({"grad_norm": "as computed", "clipped_norm": "after clipping"})
    long = long[(long.norm > 0) & (long.norm < float("inf"))]
    draw({"title": "‖∂L/∂xₜ‖ against how many steps back t is", "data": long, "height": 320, "mark": {"type": "line"},
          "encoding": {"x": field("distance:Q", title="steps back from the loss (T − 1 − t)"),
                       "y": field("norm:Q", title="gradient norm (log scale)", scale={"type": "log"}, axis={"format": ".0e"}),
                       "color": field("kind:N", title="cell", scale={"domain": COLOURS["domain"][:3], "range": COLOURS["range"][:3]}),
                       "strokeDash": field("gradient:N", title="gradient", sort=["as computed", "after clipping"]),
                       "tooltip": [field("kind:N"), field("distance:Q"), field("norm:Q", format=".3e"), field("gradient:N")]}})
    m = st.columns(3)
    for col, kind in zip(m, ["RNN", "GRU", "LSTM"]):
        factor = forgetting.decay_per_step(flow.to_dict("records"), kind)
        far = flow[(flow.kind == kind)].sort_values("distance")
        ratio = far.grad_norm.iloc[-1] / far.grad_norm.iloc[0] if far.grad_norm.iloc[0] > 0 else float("inf")
        col.metric(f"{kind}: factor per step back", f"{factor:.3f}",
                   help=f"Geometric fit. From {seq_len - 1} steps back the gradient is {ratio:.2e} times the one at the last step.")
    whole = flow.groupby("kind").weight_norm.first()
    if clip != "off":
        clipped = {k: v for k, v in whole.items() if v > clip}
        larger = ", ".join(f"{k} (norm {v:.3g})" for k, v in clipped.items())
        which = (f"Here the whole gradient is larger than {clip} for {larger}: clipping scales it down" if clipped
                 else f"Here no cell's whole gradient is larger than {clip}: clipping changes nothing")
        st.caption(f"{which}. Clipping multiplies every step by the same factor, so a dashed line runs parallel to its solid one: "
                   "it tames an exploding gradient, but a vanishing one stays exactly as steep.")

# ----------------------------------------------------------------------------- 2. copy a token from d steps ago
st.header("2 · Copy a token seen d steps ago")
st.markdown("Each sequence is random distractor tokens with one **signal** (one of 4 symbols) **d** steps before a query "
            "token at the end; the model must name the signal there. Every sequence has the same length, so only the "
            "distance changes. Chance is 25%.")
PRESETS = {
    "Forgetting": dict(kinds=["RNN", "GRU", "LSTM", "attention"], distances="2, 8, 16, 32", optimizer="adam", lr=0.01, clip=1.0,
                       scale=1.0, nl="tanh"),
    "Exploding gradients": dict(kinds=["RNN"], distances="8", optimizer="sgd", lr=0.1, clip="off", scale=3.0, nl="relu"),
}
preset_name = st.radio("Start from", list(PRESETS), horizontal=True, key="mem.preset",
                       help="Exploding gradients: a ReLU RNN, W_hh × 3, plain SGD, no clipping. Turn clipping on to see it train.")
p = PRESETS[preset_name]
contenders = list(forgetting.CONTENDERS)
with st.form("mem.form"):
    f = st.columns([2, 1])
    kinds = f[0].multiselect("Contenders", contenders, [k for k in p["kinds"] if k in contenders], key=f"mem.kinds.{preset_name}")
    distances = f[1].text_input("Distances d (comma-separated)", p["distances"], max_chars=200, key=f"mem.d.{preset_name}")
    f = st.columns(2)
    length = f[0].slider("Sequence length L", 2, 128, 33, key=f"mem.L.{preset_name}")
    steps = f[1].select_slider("Training steps per run", [1, 50, 100, 200, 300, 600, 1000], 300, key=f"mem.steps.{preset_name}")
    f = st.columns(5)
    optimizer = f[0].radio("Optimizer", ["adam", "sgd"], index=["adam", "sgd"].index(p["optimizer"]), key=f"mem.opt.{preset_name}")
    lr = f[1].select_slider("Learning rate", [1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0], p["lr"], key=f"mem.lr.{preset_name}")
    run_clip = f[2].select_slider("Clip at", ["off", 0.1, 1.0, 10.0], p["clip"], key=f"mem.clip.{preset_name}")
    run_scale = f[3].select_slider("W_hh scale", [0.5, 1.0, 2.0, 3.0, 5.0], p["scale"], key=f"mem.scale.{preset_name}")
    run_nl = f[4].radio("RNN nonlinearity", ["tanh", "relu"], index=["tanh", "relu"].index(p["nl"]), key=f"mem.nl.{preset_name}")
    submitted = st.form_submit_button("Train every contender at every distance", type="primary")

runs = None
with friendly_errors():
    parsed = forgetting.parse_distances(distances)
    copy_config = forgetting.CopyConfig(kinds=tuple(kinds), distances=parsed, seq_len=length, steps=steps, optimizer=optimizer, lr=lr,
                                        clip=None if run_clip == "off" else run_clip, scale=run_scale, nonlinearity=run_nl)
    forgetting.check_copy(copy_config)
    if submitted and not kinds:
        st.info("Pick at least one contender.")
    elif submitted:
        runs = live.train("mem.sweep", lambda on_step: forgetting.distance_sweep(copy_config, on_step),
                          total_steps=len(kinds) * len(parsed) * steps, metrics=("loss", "accuracy"))
    else:
        runs = live.last("mem.sweep")
        if runs is None and state.recall("mem.sweep.history") is None:
            st.info(f"Press **Train** to run the sweep: {len(kinds) * len(parsed)} runs of up to {steps} steps each "
                    "(a run stops early once it has solved the task).", icon="🧵")

if runs:
    table = pd.DataFrame([{"contender": r.kind, "distance": r.distance, "accuracy": r.accuracy, "steps run": r.steps,
                           "seconds": r.seconds, "final loss": r.loss} for r in runs])
    chance = 1 / copy_config.symbols
    draw({"title": "Accuracy at the query against the distance back to the signal", "height": 300, "layer": [
        {"data": values(table), "mark": {"type": "line", "point": {"size": 80, "filled": True}, "strokeWidth": 2.5},
         "encoding": {"x": field("distance:Q", title="distance d (steps between signal and query)"),
                      "y": field("accuracy:Q", title="accuracy on 512 fresh sequences", scale={"domain": [0, 1]}, axis={"format": "%"}),
                      "color": field("contender:N", scale=COLOURS), "shape": field("contender:N", scale={"domain": COLOURS["domain"]}),
                      "strokeDash": field("contender:N", scale={"domain": COLOURS["domain"],
                                                                 "range": [[1, 0], [8, 4], [2, 3], [12, 3, 2, 3]]}),
                      "tooltip": [field("contender:N"), field("distance:Q"), field("accuracy:Q", format=".1%"), field("steps run:Q")]}},
        {"data": values(pd.DataFrame({"chance": [chance]})), "mark": {"type": "rule", "strokeDash": [6, 4], "color": "grey"},
         "encoding": {"y": field("chance:Q")}}]})
    verdicts = forgetting.verdicts(runs, chance)
    st.caption(" · ".join(verdicts) + f". Grey rule: chance ({chance:.0%}). Lines that overlap at 100% are told apart by "
               "their dashes and markers. A run stops early once it answers every training sequence right for 25 steps in a row.")
    for r in runs:
        if r.exploded:
            st.warning(r.exploded, icon="💥")
    grads = pd.DataFrame([{"contender": r.kind, "distance": r.distance, "position back": copy_config.seq_len - 1 - t, "norm": g}
                          for r in runs if not r.exploded for t, g in enumerate(r.gradients) if g > 0])
    if not grads.empty:
        farthest = grads.distance.max()
        shown = grads[grads.distance == farthest]
        draw({"title": f"After training at d = {farthest}: the gradient reaching each position from the loss at the query",
              "height": 260, "layer": [
                  {"data": values(shown), "mark": "line", "encoding": {
                      "x": field("position back:Q", title="steps back from the query"),
                      "y": field("norm:Q", title="‖∂L/∂eₜ‖ (log scale)", scale={"type": "log"}, axis={"format": ".0e"}),
                      "color": field("contender:N", scale=COLOURS), "tooltip": [field("contender:N"), field("position back:Q"),
                                                                                   field("norm:Q", format=".2e")]}},
                  {"data": values(pd.DataFrame({"d": [farthest]})), "mark": {"type": "rule", "color": "black", "strokeDash": [2, 2]},
                   "encoding": {"x": field("d:Q")}}]})
        at_signal = [r for r in forgetting.signal_gradients(runs, copy_config.seq_len) if r["distance"] == farthest]
        st.caption(f"The dotted line marks the signal, {farthest} steps back. There, the gradient is "
                   + ", ".join(f"{r['kind']} {r['at_signal']:.1e} ({r['ratio']:.0e} of its size at the query; accuracy {r['accuracy']:.0%})"
                               for r in at_signal)
                   + ". Where almost nothing arrives, the weights never learn to look that far back.")
    st.dataframe(table, hide_index=True, width="stretch", column_config={"accuracy": st.column_config.NumberColumn(format="%.3f"),
                                                                         "seconds": st.column_config.NumberColumn(format="%.1f")})

show_code(recurrent.LSTMCell, recurrent.GRUCell, recurrent.RNNCell, forgetting.gradient_flow, forgetting.attention, forgetting.train_copy)
