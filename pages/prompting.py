import altair as alt
import pandas as pd
import streamlit as st

from core.infra import data
from core.llm import prompting
from core.llm.prompting import FewShotTask
from ui import model_picker, state
from ui.page import friendly_errors, header, show_code
from ui.tokens import heat_chips, visible

MAX_TEXT_TOKENS = 512  # perplexity: score at most this many tokens, so the page stays interactive
SHOT_COUNTS = {"zero-shot": 0, "one-shot": 1, "few-shot (4)": 4}

header(
    "💬 Prompting, the logit lens, perplexity",
    "The same model answers differently depending on how you ask. Put worked examples in the prompt "
    "(**few-shot**) or wrap the question in the chat format an instruct model was tuned on, and watch "
    "the probability of each answer move, with no training at all. Then look **inside**: the "
    "**logit lens** reads every layer's hidden state through the final norm and the output layer, "
    "showing where the prediction forms. Last, score any text: the model's **surprise** at each token, "
    "and its perplexity.",
)

lm = model_picker.pick("causal-lm", key="prompting.model")


def _answers(model_key: str, prompt: str, answers: tuple[str, ...]) -> pd.DataFrame:
    loaded = model_picker.load(model_key)
    return prompting.answer_probabilities(loaded.model, loaded.tokenizer, prompt, list(answers))


def _lens(model_key: str, ids: tuple[int, ...], top_n: int, positions: int) -> pd.DataFrame:
    loaded = model_picker.load(model_key)
    return prompting.logit_lens(loaded.model, loaded.tokenizer, list(ids), top_n, positions)


def _surprisal(model_key: str, text: str) -> prompting.Surprisal:
    loaded = model_picker.load(model_key)
    return prompting.surprisal(loaded.model, loaded.tokenizer, text, MAX_TEXT_TOKENS)


answers_of, lens_of, surprisal_of = state.cached(_answers), state.cached(_lens, 16), state.cached(_surprisal, 16)

# ---------------------------------------------------------------------- few-shot
st.subheader("1 · Zero-, one-, few-shot, and the chat template")
train = data.sentiment("train")
task = FewShotTask(examples=tuple(zip(train.text[:4], train.label[:4])))
query = st.text_input("A review to classify", "The plot dragged, but the acting was superb and I'd watch it again.",
                      max_chars=1000)
with friendly_errors():
    if not query.strip():
        st.info("Type a review to see how each prompt classifies it.")
    else:
        makers = {name: (lambda text, k=k: prompting.few_shot_prompt(task, text, k)) for name, k in SHOT_COUNTS.items()}
        chat_note = ""
        if getattr(lm.tokenizer, "chat_template", None):
            makers["chat template"] = lambda text: prompting.chat_prompt(lm.tokenizer, task, text)
        else:
            chat_note = " (this model has no chat template: it was not instruction-tuned)"
        templates = {name: make(query) for name, make in makers.items()}
        frames = []
        for name, prompt in templates.items():
            answers = prompting.label_answers(task, chat=name == "chat template")
            frames.append(answers_of(lm.key, prompt, tuple(answers)).assign(prompt=name, label=list(task.labels)))
        probs = pd.concat(frames)
        chart = alt.Chart(probs).mark_bar().encode(
            y=alt.Y("prompt:N", sort=list(templates), title=None), x=alt.X("share:Q", title="share of the answers' probability",
                                                                            axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("label:N", scale=alt.Scale(domain=list(task.labels), range=["#54a24b", "#e45756"])),
            tooltip=["prompt", "label", alt.Tooltip("probability:Q", format=".3%", title="p(answer | prompt)"),
                     alt.Tooltip("share:Q", format=".1%", title="share of the two")])
        st.altair_chart(chart.properties(height=40 * len(templates)), width="stretch")
        table = probs.pivot(index="prompt", columns="label", values="probability").loc[list(templates)]
        st.caption("Bars: each label's probability, renormalised over the two labels. The model's own probability of "
                   "the answer word (what's left goes to every other continuation): "
                   + "; ".join(f"{name}: " + ", ".join(f"{lab} {table.loc[name, lab]:.1%}" for lab in task.labels)
                               for name in table.index) + chat_note + ".")
        tabs = st.tabs(list(templates))
        for tab, (name, prompt) in zip(tabs, templates.items()):
            tab.code(prompt, language=None)

        with st.form("accuracy"):
            n_rows = st.slider("Reviews from the lab's held-out sentiment set", 10, 128, 24, step=2)
            run = st.form_submit_button("Measure the accuracy of each prompt")
        if run:
            test = data.sentiment("test").sample(n_rows, random_state=0)
            rows = list(zip(test.text, test.label))
            scores = {}
            bar = st.progress(0.0, text="Scoring…")
            for i, (name, make) in enumerate(makers.items()):
                scores[name] = prompting.accuracy(
                    lm.model, lm.tokenizer, task, rows, make, chat=name == "chat template",
                    on_step=lambda j, m, i=i, name=name: bar.progress((i + j / len(rows)) / len(makers), text=f"{name}: {j}/{len(rows)}"))
            bar.empty()
            state.remember("prompting.accuracy", (lm.key, n_rows, scores))
        measured = state.recall("prompting.accuracy")
        if measured and measured[0] == lm.key:
            acc = pd.DataFrame({"prompt": list(measured[2]), "accuracy": list(measured[2].values())})
            st.altair_chart(alt.Chart(acc).mark_bar().encode(
                y=alt.Y("prompt:N", sort=list(templates), title=None),
                x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
                tooltip=["prompt", alt.Tooltip("accuracy:Q", format=".1%")]).properties(
                    height=40 * len(acc), title=f"Accuracy on {measured[1]} held-out reviews (guessing scores about 50%)"), width="stretch")

# ---------------------------------------------------------------------- logit lens
st.subheader("2 · The logit lens: what each layer would say next")
st.latex(r"\text{lens}_\ell = \operatorname{softmax}\big(W_U \,\operatorname{norm}(h_\ell)\big),\quad \ell = 0 \ldots L")
lens_prompt = st.text_input("Prompt for the lens", "The Eiffel Tower is in the city of", max_chars=2000)
with friendly_errors():
    ids = prompting.tokenize(lm.tokenizer, lens_prompt)
    if not ids:
        st.info("Type a prompt to look inside the model.")
    else:
        positions = min(8, len(ids))
        lens = lens_of(lm.key, tuple(ids[-MAX_TEXT_TOKENS:]), 5, positions)
        top1 = lens[lens["rank"] == 1].copy()
        top1["column"] = [f"{p} {visible(t)}" for p, t in zip(top1.position, top1.input)]
        top1["shown"] = top1.token.map(visible)
        columns = list(dict.fromkeys(top1.column))
        layers = sorted(top1.layer.unique(), reverse=True)
        base = alt.Chart(top1).encode(
            x=alt.X("column:N", sort=columns, title="input position (the lens predicts the token after it)", axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("layer:O", sort=layers, title="layer (0 = embeddings)"),
            tooltip=["layer", "input", alt.Tooltip("shown:N", title="top prediction"), alt.Tooltip("probability:Q", format=".1%")])
        heat = base.mark_rect().encode(color=alt.Color("probability:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="p(top)"))
        text = base.mark_text(fontSize=10).encode(text="shown:N", color=alt.condition("datum.probability > 0.5", alt.value("white"), alt.value("black")))
        st.altair_chart((heat + text).properties(height=max(240, 17 * len(layers))), width="stretch")
        st.caption("Each cell: the token that layer's hidden state would predict next, coloured by its probability. "
                   "Low layers echo the input (SmolLM2 and GPT-2 share the input and output embedding, so layer 0 "
                   "mostly predicts the input token itself); the answer usually settles only in the last few layers.")
        last = lens[lens.position == lens.position.max()]
        wide = last.assign(cell=[f"{visible(t)} ({p:.0%})" for t, p in zip(last.token, last.probability)]) \
            .pivot(index="layer", columns="rank", values="cell").sort_index(ascending=False)
        wide.columns = [f"#{c}" for c in wide.columns]
        st.caption(f"Top 5 next tokens each layer would predict after the last token “{visible(top1.input.iloc[-1])}”:")
        st.dataframe(wide, width="stretch", height=min(400, 36 + 35 * len(wide)))

# ---------------------------------------------------------------------- perplexity
st.subheader("3 · How surprised is the model? Perplexity of any text")
st.latex(r"\text{surprisal}(t_i) = -\log_2 p(t_i \mid t_{<i})\ \text{bits},\qquad "
         r"\mathrm{PPL} = 2^{\frac{1}{n-1}\sum_{i=2}^{n} \text{surprisal}(t_i)}")
text = st.text_area("Text to score", "Water boils at 100 degrees Celsius at sea level. Water boils at 100 degrees "
                    "Celsius at sea level. The purple elephant negotiated a mortgage with the moon.", max_chars=20_000, height=100)
with friendly_errors():
    result = surprisal_of(lm.key, text)
    if result.truncated:
        st.info(f"Scored the first {len(result.table):,} tokens; {result.truncated:,} more were left out to keep the page fast.", icon="✂️")
    bits = result.table.surprisal_bits
    a, b, c = st.columns(3)
    a.metric("Perplexity", f"{result.perplexity:,.1f}")
    b.metric("Mean surprisal (bits/token)", f"{bits.mean():.2f}")
    c.metric("Tokens scored", f"{bits.notna().sum():,}")
    st.markdown(heat_chips(result.table.token.tolist(), bits.tolist(), max_value=16), unsafe_allow_html=True)
    st.caption("Redder = more surprising (hover for the bits; 16+ bits is the darkest). The first token is grey: "
               "nothing comes before it to predict it. A repeated sentence costs almost nothing the second time: "
               "the model copies from its context (induction heads).")

show_code(prompting.logit_lens, prompting.layer_logits, prompting.answer_logprobs, prompting.surprisal,
          label="The code: logit lens, answer probabilities, surprisal")
