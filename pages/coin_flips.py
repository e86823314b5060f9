import numpy as np
import pandas as pd
import streamlit as st

from core.foundations.bayes import BetaPrior, coin_densities, coin_posterior, coin_trajectory, flip_coins, mle
from ui import state
from ui.page import friendly_errors, header, show_code
from ui.vega import chart, draw, field, layers, lines, rule

MAX_FLIPS = 1000
N_KEY, PLAYING = "coin.flips_seen", "coin.playing"
TICK_S = 0.5  # while playing, one step of flips every half second

header(
    "🪙 Maximum likelihood vs Bayesian inference",
    "A coin of unknown bias is flipped, one flip at a time. **Maximum likelihood** estimates P(heads) as "
    "the share of heads so far: after one head it says 100%. **Bayesian inference** starts from a prior "
    "belief (a Beta distribution worth a few imaginary flips) and updates it with every flip; it gives a "
    "whole distribution, and so an interval of plausible values. With enough flips the two agree.",
)
st.latex(r"\hat p_{\text{MLE}} = \frac{h}{h+t} \qquad "
         r"\text{Beta}(a, b) \xrightarrow{\;h \text{ heads},\ t \text{ tails}\;} \text{Beta}(a+h,\ b+t)")
st.latex(r"\mathbb{E}[p \mid \text{flips}] = \frac{a+h}{a+b+h+t} = "
         r"\underbrace{\tfrac{a+b}{a+b+n}}_{\text{prior weight}} \cdot \tfrac{a}{a+b} + \tfrac{n}{a+b+n} \cdot \hat p_{\text{MLE}}")

state.move(N_KEY, default=3, high=MAX_FLIPS)  # three flips on the first visit
playing = bool(state.recall(PLAYING))

left, right = st.columns(2)
with left:
    true_p = st.slider("The coin's true P(heads) (hidden from both estimators)", 0.0, 1.0, 0.7, step=0.01)
    seed = st.number_input("Seed (which flips)", 0, 10_000, 0)
    st.button("⏸ Pause" if playing else "▶ Play: keep flipping", on_click=state.remember, args=(PLAYING, not playing),
              key="coin.play", type="primary", help="One flip a tick at first, then faster, up to 1,000 flips.")
with right:
    prior_mean = st.slider("Prior guess of P(heads)", 0.0, 1.0, 0.5, step=0.01)
    strength = st.slider("Prior strength a + b (imaginary flips; 0 = no prior)", 0.0, 100.0, 4.0, step=0.5)
    level = st.select_slider("Credible interval", [0.5, 0.8, 0.9, 0.95, 0.99], value=0.95, format_func=lambda v: f"{v:.0%}")
prior = BetaPrior(prior_mean, strength)


@st.fragment(run_every=TICK_S if playing else None)
def flips_so_far() -> None:
    """The flips seen so far and both estimates; while playing, each tick reruns only this part with more flips."""
    if state.recall(PLAYING):
        seen_before = state.recall(N_KEY, 0)
        if seen_before >= MAX_FLIPS:  # the end: stop ticking, and redraw the page with its Play button
            state.remember(PLAYING, False)
            st.rerun(scope="app")
        state.move(N_KEY, by=max(1, seen_before // 10), high=MAX_FLIPS)  # one flip a tick at first, then ~10% more a tick
    seen = st.slider("Flips seen so far", 0, MAX_FLIPS, key=N_KEY)
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    b1.button("Flip once", on_click=state.move, kwargs=dict(key=N_KEY, by=1, high=MAX_FLIPS))
    b2.button("Flip 10", on_click=state.move, kwargs=dict(key=N_KEY, by=10, high=MAX_FLIPS))
    b3.button("Start over", on_click=state.move, kwargs=dict(key=N_KEY, to=0))
    flips = flip_coins(true_p, MAX_FLIPS, int(seed))[:seen]
    heads = int(flips.sum())
    st.markdown(f"**{seen} flips:** {heads} heads, {seen - heads} tails &nbsp; `{''.join('HT'[1 - f] for f in flips[-60:])}`"
                + (" …(last 60)" if seen > 60 else ""))

    a, b, c = st.columns(3)
    estimate = mle(heads, seen)  # needs no prior: shown even when the posterior is not a distribution yet
    a.metric("Maximum likelihood h / n", "undefined (no flips)" if np.isnan(estimate) else f"{estimate:.3f}")
    belief = None
    with friendly_errors():
        belief = coin_posterior(heads, seen - heads, prior, level)
    if belief is None:
        b.metric("Posterior mean", "no distribution yet")
        c.metric(f"{level:.0%} credible interval", "–")
    else:
        b.metric("Posterior mean", f"{belief.mean:.3f}")
        c.metric(f"{level:.0%} credible interval", f"{belief.low:.3f} – {belief.high:.3f}")
        st.caption(f"Posterior Beta({belief.a:.1f}, {belief.b:.1f}). The truth, {true_p:.2f}, is "
                   f"{'inside' if belief.low <= true_p <= belief.high else 'outside'} the interval.")
        densities = coin_densities(belief, prior)
        marks = pd.DataFrame({"p": [true_p] + ([estimate] if seen else []), "what": ["true P(heads)"] + (["MLE"] if seen else [])})
        curve_colours = {"domain": ["prior", "posterior"], "range": ["#9ecae1", "#1f77b4"]}
        mark_colours = {"domain": ["true P(heads)", "MLE"], "range": ["black", "#d62728"]}
        draw(layers(
            chart(densities, {"type": "area", "opacity": 0.45}, x=field("p:Q", title="P(heads)"), y=field("density:Q", stack=None),
                  color=field("curve:N", title=None, scale=curve_colours)),
            chart(marks, {"type": "rule", "strokeWidth": 2, "strokeDash": [5, 3]}, x="p:Q",
                  color=field("what:N", title=None, scale=mark_colours)),
            title="Belief about P(heads)", height=260, resolve={"scale": {"color": "independent"}}))

    if seen:
        path = pd.DataFrame(coin_trajectory(flips, prior, level))
        long = path.melt("flips", ["mle", "mean"], var_name="estimate", value_name="value").dropna()
        long["estimate"] = long.estimate.map({"mle": "maximum likelihood", "mean": "posterior mean"})
        estimate_colours = {"domain": ["maximum likelihood", "posterior mean"], "range": ["#d62728", "#1f77b4"]}
        flips_axis = field("flips:Q", title="flips seen", axis={"tickMinStep": 1, "format": "d"})  # whole flips only
        draw(layers(
            chart(path, {"type": "area", "opacity": 0.2}, x=flips_axis,
                  y=field("low:Q", title="P(heads)", scale={"domain": [0, 1]}), y2="high:Q"),
            lines(long, flips_axis, "value:Q", field("estimate:N", title=None, scale=estimate_colours), height=None),
            rule(y=true_p, color="black", strokeDash=[5, 3]),
            title="Estimates as the flips arrive", height=260))
        st.caption("The shaded band is the credible interval; the dashed line is the truth. Early on the MLE jumps between "
                   "0 and 1 while the prior holds the posterior mean back; a strong prior in the wrong place needs many flips to overcome.")


flips_so_far()
show_code(BetaPrior, coin_posterior)
