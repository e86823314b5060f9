import pandas as pd
import streamlit as st

from core.foundations import cross_entropy_loss, loss_race
from ui import live, state
from ui.page import friendly_errors, header, show_code, text_box
from ui.vega import bars, draw, field, lines

RACE_COLOURS = {"domain": list(loss_race.LOSSES), "range": ["#1f77b4", "#ff7f0e"]}  # one colour per loss in every chart on the page

header(
    "🎯 Cross-entropy as a loss, from scratch",
    "A classifier, or a language model choosing the next token, outputs **logits** z; softmax turns them into "
    "probabilities q; the loss is the cross-entropy between the true answer and q, which for a one-hot answer is "
    "just −log q(right class). Averaged over the tokens of a text, that is the per-token cross-entropy whose "
    "power of 2 is the **perplexity** (see the n-gram page). Here you build that loss yourself: computed safely, "
    "softened by label smoothing, and raced against squared error.",
)
st.page_link("pages/ngram_perplexity.py", label="n-gram models: the same loss on text, down to the entropy rate", icon="🔢")


# ----------------------------------------------------------------------------- 1. log-softmax

st.header("1 · Log-softmax, naive and stable")
st.latex(r"\log \operatorname{softmax}(z)_i = z_i - \log\sum_j e^{z_j} = (z_i - m) - \log\sum_j e^{z_j - m}, \qquad m = \max_j z_j")
c1, c2 = st.columns([2, 1])
text = text_box("Logits z (comma separated)", "2, 1, 0.1, -1", container=c1)
scale = c2.select_slider("Multiply the logits by", [1, 3, 10, 30, 44, 45, 100, 300, 1000], value=100,
                         help="float32 overflows exp(x) above x ≈ 88.7: watch the naive column break")
z = None
with friendly_errors():
    z = cross_entropy_loss.parse_logits(text, scale)
if z is not None:
    race = cross_entropy_loss.log_softmax_race(z)
    # as text: inf and nan show as they are
    st.dataframe(pd.DataFrame({name: [f"{v:.6g}" for v in col.tolist()] for name, col in race.columns.items()}),
                 hide_index=True, width="stretch")
    if race.naive_broke:
        st.info(f"**The naive formula broke.** exp({z.max().item():.4g}) is larger than float32's maximum (≈3.4·10³⁸), so it "
                "became inf, and inf / inf = NaN. Subtracting the largest logit first makes every exponent ≤ 0: "
                "the same answer, no overflow. Every real implementation (torch, JAX, numpy's logsumexp) does this.", icon="💥")
    else:
        st.caption("Both agree here. Raise the multiplier until exp(z) overflows.")

# ----------------------------------------------------------------------------- 2. one example

st.header("2 · The loss of one prediction, with label smoothing")
st.latex(r"y^{\text{smooth}} = (1-\varepsilon)\,\text{onehot}(y) + \tfrac{\varepsilon}{C} \qquad "
         r"L = -\sum_i y^{\text{smooth}}_i \log q_i \qquad \frac{\partial L}{\partial z_i} = q_i - y^{\text{smooth}}_i")
c1, c2, c3 = st.columns(3)
one_text = text_box("This prediction's logits", "3, 1, 0.2, -1, -2", container=c1)
eps = c3.slider("Label smoothing ε", 0.0, 1.0, 0.1, step=0.05,
                help="Spread ε of the target's mass evenly over all classes: the model is never asked for 100% certainty")
logits = None
with friendly_errors():
    logits = cross_entropy_loss.parse_logits(one_text)
if logits is not None:
    target = c2.selectbox("Right answer (class)", range(len(logits)), index=0)
    loss = cross_entropy_loss.loss_breakdown(logits, target, label_smoothing=eps)
    m1, m2, m3 = st.columns(3)
    m1.metric("Our loss (nats)", f"{loss.loss:.6f}")
    m2.metric("torch.nn.functional.cross_entropy", f"{loss.reference:.6f}")
    m3.metric("… in bits", f"{loss.bits:.4f}", help="Training code uses natural logs (nats); divide by ln 2 for bits")
    frame = pd.DataFrame({"class": [str(i) for i in range(len(logits))], "model q": loss.q,
                          "target": loss.target, "gradient ∂L/∂z": loss.gradient})
    long = frame.melt("class", ["model q", "target"], var_name="what", value_name="probability")
    left, right = st.columns(2)
    draw(bars(long, field("class:N", title="class"), "probability:Q", field("what:N", title=None), "Model vs (smoothed) target", 220,
              xOffset="what:N", tooltip=["class:N", "what:N", field("probability:Q", format=".4f")]), left)
    sign = {"condition": {"test": "datum['gradient ∂L/∂z'] > 0", "value": "#d62728"}, "value": "#2ca02c"}  # red pushes down, green up
    draw(bars(frame, "class:N", "gradient ∂L/∂z:Q", sign,
              "Gradient of the loss: q − target", 220, tooltip=["class:N", field("gradient ∂L/∂z:Q", format=".4f")]), right)
    st.caption("Gradient descent moves each logit against its bar: the right class up, the others down, each by how "
               "wrong its probability is. With ε > 0 the target itself is never one-hot, so the loss can't reach 0 and "
               "the logits stop growing once q matches the smoothed target: a cure for over-confidence.")

# ----------------------------------------------------------------------------- 3. squared error

st.header("3 · Why not squared error?")
st.markdown("Squared error between the probabilities and the one-hot answer also goes to zero when the model is right. "
            "But look at its gradient when the model is **confidently wrong**:")
g = pd.DataFrame(loss_race.saturation_gradients())
g_long = g.melt("margin", var_name="loss", value_name="gradient")
draw(lines(g_long, field("margin:Q", title="margin = right logit − wrong logit (negative: confidently wrong)"),
           field("gradient:Q", title="gradient"),
           field("loss:N", title=None, scale=RACE_COLOURS), "∂loss/∂(right-class logit) for a two-class output", 260,
           tooltip=[field("margin:Q", format=".2f"), "loss:N", field("gradient:Q", format=".5f")]))
st.caption("Cross-entropy's gradient is q − 1 → −1 when the model is sure and wrong: the strongest push exactly when it "
           "is needed. Squared error multiplies by softmax's slope q(1 − q), which vanishes when q → 0: the model "
           "is stuck being wrong. (Computed with torch.autograd through the same loss functions used below.)")

# ----------------------------------------------------------------------------- 4. the race

st.header("4 · The race: the same classifier trained with each loss")
st.markdown("Handwritten digits (scikit-learn's 8×8 images, 10 classes). Both models start from the **same** weights and "
            "take the same full-batch gradient steps; only the loss differs. Scale up the initial output weights and "
            "both start out confidently wrong: that is where the losses part ways.")
with st.form("race"):
    c1, c2, c3 = st.columns(3)
    init_scale = c1.select_slider("Initial output-weight scale", [0.1, 1.0, 3.0, 10.0, 30.0], value=10.0,
                                  help="Large: huge logits at the start, a saturated softmax, confident and random answers")
    hidden = c1.select_slider("Hidden units (0 = linear softmax classifier)", [0, 16, 32, 64], value=32)
    lr = c2.select_slider("Learning rate", [0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0], value=0.5)
    steps = c2.slider("Steps", 20, 1000, 200, step=20)
    seed = c3.number_input("Seed", 0, 10_000, 0)
    go = st.form_submit_button("Train both", type="primary")

config = loss_race.LossRaceConfig(hidden=hidden, steps=steps, lr=lr, init_scale=init_scale, seed=int(seed))
data = state.cached(loss_race.digits_split)()
watch = ("cross-entropy: train accuracy", "squared error: train accuracy")
with friendly_errors():
    if go:
        live.train("loss_race", lambda on_step: loss_race.fit(config, data, on_step), total_steps=steps, metrics=watch)
result = live.last("loss_race")
if result is None:
    st.caption("Press **Train both** to race them; the progress bar shows the steps per second as it goes.")
else:
    h = result.history
    last = {k: v[-1] for k, v in h.metrics.items()}
    a, b = st.columns(2)
    for col, name in ((a, "cross-entropy"), (b, "squared error")):
        col.metric(f"{name}: test accuracy", f"{last[f'{name}: test accuracy']:.1%}")
        col.caption(f"train accuracy {last[f'{name}: train accuracy']:.1%} · final loss {last[f'{name}: loss']:.4f} · "
                    f"gradient norm at step 1: {h.metrics[f'{name}: gradient norm'][0]:.3g}")
    if h.diverged:
        st.warning("The loss became infinite or NaN: the learning rate is too large. Lower it and train again.", icon="📈")
    frame = h.frame()
    parts = frame.metric.str.partition(": ")  # "squared error: loss" -> which loss, which metric
    frame = frame.assign(loss=parts[0], metric=parts[2])
    charts = [("loss", "its own training loss", "linear"), ("train accuracy", "training accuracy", "linear"),
              ("gradient norm", "gradient norm (log scale)", "log")]
    for col, (metric, title, scale_type) in zip(st.columns(3), charts):
        sub = frame[frame.metric == metric]
        sub = sub[sub.value > 0] if scale_type == "log" else sub
        draw(lines(sub, "step:Q", field("value:Q", title=None, scale={"type": scale_type}),
                   field("loss:N", title=None, scale=RACE_COLOURS, legend={"orient": "top", "direction": "vertical", "labelLimit": 300}),
                   title, 220, tooltip=["step:Q", "loss:N", field("value:Q", format=".4g")]), col)
    st.caption("The two losses have different units, so each curve is the model's own loss; accuracy and gradient norm "
               "compare directly. " + loss_race.describe(h))
    ms = {name: result.median_ms(name) for name in loss_race.LOSSES}
    st.caption(f"This race took {result.seconds:.1f} s for {h.steps[-1]:,} steps ({last.get('steps_per_s', 0):.0f} steps/s, "
               f"{last.get('examples_per_s', 0):,.0f} examples/s per model pair). One training step, median over the steps: "
               + ", ".join(f"{name} {v:.1f} ms" for name, v in ms.items())
               + " (the two timed in turn within every step, so a busy machine slows both alike).")

show_code(cross_entropy_loss.log_softmax, cross_entropy_loss.smoothed_target, cross_entropy_loss.cross_entropy_from_logits,
          loss_race.squared_error_loss, loss_race.fit)
