"""The curriculum map: every page of the app and every topic of the curriculum, in one table.

`streamlit_app.py` builds the navigation from PAGES, the tests visit every entry of PAGES, and
the Home page draws TOPICS, linking each topic to its page or marking it as planned.
To add a page: write pages/<name>.py, add a Page below, and point its topics at it.
"""

from dataclasses import dataclass

SECTIONS = ("Foundations", "Neural networks", "Language models", "Transformers", "LLMs")


@dataclass(frozen=True)
class Page:
    path: str  # file under pages/
    title: str
    icon: str
    section: str  # one of SECTIONS


@dataclass(frozen=True)
class Topic:
    title: str
    section: str
    page: str | None = None  # path of the page that teaches it; None while it is planned


HOME = Page("pages/home.py", "Home", "🏠", "")

PAGES: list[Page] = [
    Page("pages/bayes.py", "Bayes' rule", "🩺", "Foundations"),
    Page("pages/joint_distributions.py", "Joint distributions", "🔲", "Foundations"),
    Page("pages/naive_bayes.py", "Naive Bayes", "🧮", "Foundations"),
    Page("pages/coin_flips.py", "MLE vs Bayesian", "🪙", "Foundations"),
    Page("pages/information_theory.py", "Entropy, cross-entropy, KL", "📏", "Foundations"),
    Page("pages/cross_entropy_loss.py", "Cross-entropy as a loss", "🎯", "Foundations"),
    Page("pages/linear_algebra.py", "Matrices as transformations", "📐", "Foundations"),
    Page("pages/svd_pca.py", "The SVD of real data: images, PCA, LoRA", "🖼️", "Foundations"),
    Page("pages/classical_ml.py", "Classical machine learning", "🌳", "Foundations"),
    Page("pages/evaluation.py", "Evaluating a model", "⚖️", "Foundations"),
    Page("pages/autograd.py", "Autograd from scratch", "🔗", "Neural networks"),
    Page("pages/gradient_descent.py", "Gradient descent", "⛰️", "Neural networks"),
    Page("pages/playground.py", "Neural-network playground", "🧠", "Neural networks"),
    Page("pages/mlp_digits.py", "MLP on handwritten digits", "✍️", "Neural networks"),
    Page("pages/rnn_memory.py", "RNN, GRU, LSTM: why RNNs forget", "🧵", "Neural networks"),
    Page("pages/attention.py", "Attention, step by step", "🔦", "Transformers"),
    Page("pages/positional_encodings.py", "Positional encodings", "📍", "Transformers"),
    Page("pages/attention_heads.py", "Heads of a pretrained model", "🔬", "Transformers"),
    Page("pages/gpt.py", "A GPT from scratch", "🤖", "Transformers"),
    Page("pages/seq2seq.py", "Seq2seq: why attention, the full transformer", "🔁", "Transformers"),
    Page("pages/markov_chains.py", "Markov chains", "⛓️", "Language models"),
    Page("pages/ngram_perplexity.py", "n-gram models and perplexity", "🔢", "Language models"),
    Page("pages/tokenization.py", "Tokenization: byte-pair encoding", "🧱", "Language models"),
    Page("pages/neural_lm_ladder.py", "From counts to networks: the LM ladder", "🪜", "Language models"),
    Page("pages/decoding.py", "Prompt a GPT: decoding", "🎲", "LLMs"),
    Page("pages/prompting.py", "Prompting, logit lens, perplexity", "💬", "LLMs"),
    Page("pages/lora_update.py", "LoRA from scratch: the rank-r update", "🧩", "LLMs"),
    Page("pages/lora_finetune.py", "Fine-tune BERT with LoRA", "🪡", "LLMs"),
]

TOPICS: list[Topic] = [
    Topic("Probability, Bayes' rule and conditional probability", "Foundations", page="pages/bayes.py"),
    Topic("Joint, marginal and conditional distributions", "Foundations", page="pages/joint_distributions.py"),
    Topic("Naive Bayes (multinomial and Gaussian)", "Foundations", page="pages/naive_bayes.py"),
    Topic("Maximum likelihood vs Bayesian inference", "Foundations", page="pages/coin_flips.py"),
    Topic("Entropy, cross-entropy and KL divergence", "Foundations", page="pages/information_theory.py"),
    Topic("Linear algebra and SVD", "Foundations", page="pages/linear_algebra.py"),
    Topic("Classical ML: regression, k-NN, decision trees, k-means", "Foundations", page="pages/classical_ml.py"),
    Topic("Model evaluation: splits, cross-validation, metrics, bias and variance", "Foundations", page="pages/evaluation.py"),
    Topic("Gradient descent and optimizers", "Neural networks", page="pages/gradient_descent.py"),
    Topic("Perceptrons, MLPs and backpropagation", "Neural networks", page="pages/playground.py"),
    Topic("Overfitting and regularisation", "Neural networks", page="pages/mlp_digits.py"),
    Topic("RNN, LSTM and GRU", "Neural networks", page="pages/rnn_memory.py"),
    Topic("Markov chains", "Language models", page="pages/markov_chains.py"),
    Topic("n-gram language models and perplexity", "Language models", page="pages/ngram_perplexity.py"),
    Topic("Tokenization (BPE)", "Language models", page="pages/tokenization.py"),
    Topic("Neural language models: n-gram → MLP → RNN on one corpus", "Language models", page="pages/neural_lm_ladder.py"),
    Topic("Word embeddings", "Language models"),
    Topic("Attention: queries, keys and values", "Transformers", page="pages/attention.py"),
    Topic("Multi-head attention and what heads learn", "Transformers", page="pages/attention_heads.py"),
    Topic("Positional encodings", "Transformers", page="pages/positional_encodings.py"),
    Topic("The transformer block and a small GPT from scratch", "Transformers", page="pages/gpt.py"),
    Topic("Encoder-decoder translation: attention vs a fixed context, warmup, label smoothing", "Transformers", page="pages/seq2seq.py"),
    Topic("BERT vs GPT", "Transformers"),
    Topic("Prompting and decoding strategies", "LLMs", page="pages/decoding.py"),
    Topic("Fine-tuning and LoRA", "LLMs", page="pages/lora_finetune.py"),
    Topic("Quantization and other efficiency tricks", "LLMs"),
]


def pages_by_section() -> dict[str, list[Page]]:
    """Registered pages grouped by section, in curriculum order (sections with no page left out)."""
    return {s: [p for p in PAGES if p.section == s] for s in SECTIONS if any(p.section == s for p in PAGES)}


def all_pages() -> list[Page]:
    """Every page the navigation shows, Home first: what the app and browser tests visit."""
    return [HOME, *PAGES]
