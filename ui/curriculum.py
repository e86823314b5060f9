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
    blurb: str = ""  # one short line for Home: what the learner does on the page


@dataclass(frozen=True)
class Topic:
    title: str
    section: str
    page: str | None = None  # path of the page that teaches it; None while it is planned


HOME = Page("pages/home.py", "Home", "🏠", "")

PAGES: list[Page] = [
    Page("pages/bayes.py", "Bayes' rule", "🩺", "Foundations",
         "Move a test's prior, sensitivity and specificity and count who is really ill among 1,000 people."),
    Page("pages/joint_distributions.py", "Joint distributions", "🔲", "Foundations",
         "Edit a table of counts and read off marginals, conditionals and whether X and Y are independent."),
    Page("pages/naive_bayes.py", "Naive Bayes", "🧮", "Foundations",
         "Train a word-count classifier, then see which words push a sentence towards each class."),
    Page("pages/coin_flips.py", "MLE vs Bayesian", "🪙", "Foundations",
         "Flip a coin one flip at a time and watch maximum likelihood and a Bayesian posterior disagree, then agree."),
    Page("pages/information_theory.py", "Entropy, cross-entropy, KL", "📏", "Foundations",
         "Shape distributions and watch entropy, cross-entropy and KL move; count them as bits of a Huffman code."),
    Page("pages/cross_entropy_loss.py", "Cross-entropy as a loss", "🎯", "Foundations",
         "Break the naive softmax, smooth a label, and race cross-entropy against squared error on digits."),
    Page("pages/linear_algebra.py", "Matrices as transformations", "📐", "Foundations",
         "Edit a 2 × 2 matrix and watch what it does to the plane: eigenvectors, determinant, SVD."),
    Page("pages/svd_pca.py", "The SVD of real data: images, PCA, LoRA", "🖼️", "Foundations",
         "Rebuild a photo from its top singular values and project a dataset onto its widest directions."),
    Page("pages/classical_ml.py", "Classical machine learning", "🌳", "Foundations",
         "Fit regression, k-NN, a decision tree and k-means on 2-D points and see what each learns."),
    Page("pages/evaluation.py", "Evaluating a model", "⚖️", "Foundations",
         "Cross-validate, move a classifier's threshold, and watch a model under- and overfit."),
    Page("pages/autograd.py", "Autograd from scratch", "🔗", "Neural networks",
         "Step a backward pass one operation at a time: upstream gradient × local derivative."),
    Page("pages/gradient_descent.py", "Gradient descent", "⛰️", "Neural networks",
         "Drop five optimizers on a surface and watch them roll downhill, zig-zag or fly off."),
    Page("pages/playground.py", "Neural-network playground", "🧠", "Neural networks",
         "Press Play and watch a network carve up 2-D points, neuron by neuron."),
    Page("pages/mlp_digits.py", "MLP on handwritten digits", "✍️", "Neural networks",
         "Train an MLP on handwritten digits, make it overfit, then stop it early."),
    Page("pages/rnn_memory.py", "RNN, GRU, LSTM: why RNNs forget", "🧵", "Neural networks",
         "Watch a gradient fade through time in RNN, GRU and LSTM cells, then race them on a copy task."),
    Page("pages/attention.py", "Attention, step by step", "🔦", "Transformers",
         "Type a sentence and follow queries, keys and values to every attention weight."),
    Page("pages/positional_encodings.py", "Positional encodings", "📍", "Transformers",
         "Compare sinusoidal, learned, RoPE and ALiBi positions by how alike two positions look."),
    Page("pages/attention_heads.py", "Heads of a pretrained model", "🔬", "Transformers",
         "Look at every head of a pretrained encoder and sort them by what they attend to."),
    Page("pages/gpt.py", "A GPT from scratch", "🤖", "Transformers",
         "Train a small GPT live on a text, watch its loss beat the n-grams, and sample from it."),
    Page("pages/seq2seq.py", "Seq2seq: why attention, the full transformer", "🔁", "Transformers",
         "Train three translators and see why attention beats one fixed context vector."),
    Page("pages/markov_chains.py", "Markov chains", "⛓️", "Language models",
         "Count which token follows which and let the chain write, from nonsense to copying."),
    Page("pages/ngram_perplexity.py", "n-gram models and perplexity", "🔢", "Language models",
         "Train n-gram models and measure their perplexity against a known entropy floor."),
    Page("pages/tokenization.py", "Tokenization: byte-pair encoding", "🧱", "Language models",
         "Learn byte-pair merges on a text and watch words split into tokens."),
    Page("pages/neural_lm_ladder.py", "From counts to networks: the LM ladder", "🪜", "Language models",
         "Climb from n-gram counts to neural language models and compare their held-out loss on one text."),
    Page("pages/word_vectors.py", "From counts to word vectors", "🧭", "Language models",
         "Turn word counts into vectors (TF-IDF, PPMI and SVD, word2vec) and explore neighbours and analogies."),
    Page("pages/semantic_search.py", "Sentence embeddings and search", "🔎", "Language models",
         "Embed sentences with MiniLM and search by meaning, beside TF-IDF's search by shared words."),
    Page("pages/decoding.py", "Prompt a GPT: decoding", "🎲", "LLMs",
         "Prompt a small GPT and compare greedy, beam, temperature, top-k and top-p decoding."),
    Page("pages/prompting.py", "Prompting, logit lens, perplexity", "💬", "LLMs",
         "Change a prompt, read the answer's probability, and look inside with the logit lens."),
    Page("pages/lora_update.py", "LoRA from scratch: the rank-r update", "🧩", "LLMs",
         "Learn a weight change of chosen rank with LoRA's thin product B·A."),
    Page("pages/lora_finetune.py", "Fine-tune BERT with LoRA", "🪡", "LLMs",
         "Fine-tune a BERT-family encoder for sentiment with LoRA and compare it to full fine-tuning."),
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
    Topic("Word embeddings", "Language models", page="pages/word_vectors.py"),
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


def planned_topics() -> list[Topic]:
    """Topics of the curriculum with no page yet, in curriculum order."""
    return [t for t in TOPICS if t.page is None]


def all_pages() -> list[Page]:
    """Every page the navigation shows, Home first: what the app and browser tests visit."""
    return [HOME, *PAGES]
