"""A generated toy world whose words are built to make analogies hold: word vectors can be checked against it.

Real analogies need millions of words of text. Here each word's company is written by rule, so a
small corpus is enough: a king and a queen share their royal contexts (throne, crown, kingdom) and
differ only in the gender words around them (he, his versus she, her), exactly as a man and a woman
share theirs (street, job, town). So king − man + woman should land on queen. Countries, their
capitals and their languages are linked the same way (paris − france + italy = rome).

>>> text = analogy_world_text(n_sentences=3, seed=1)
>>> len(text.splitlines())
3
>>> ANALOGIES[0], len(ANALOGIES)                 # king − prince + princess = queen
(('king', 'prince', 'princess', 'queen'), 50)
"""


import numpy as np

# (male, female, the contexts this pair shares): each pair's own company
PAIRS = [
    ("king", "queen", "throne crown kingdom reign palace royal"),
    ("prince", "princess", "heir castle royal young knight ball"),
    ("man", "woman", "street job town adult neighbour office"),
    ("boy", "girl", "school homework playground young toy friend"),
    ("father", "mother", "children parent home family dinner garden"),
    ("son", "daughter", "parents child family grown room birthday"),
    ("brother", "sister", "sibling twin family older younger cousin"),
    ("uncle", "aunt", "nephew niece relative visit holiday gift"),
    ("husband", "wife", "married wedding spouse ring anniversary couple"),
    ("actor", "actress", "stage film role theatre audience scene"),
]
GENDER = {"male": "he his him himself mr sir", "female": "she her hers herself mrs madam"}
# (country, capital, language)
COUNTRIES = [
    ("france", "paris", "french"), ("italy", "rome", "italian"), ("germany", "berlin", "german"), ("spain", "madrid", "spanish"),
    ("japan", "tokyo", "japanese"), ("china", "beijing", "chinese"), ("russia", "moscow", "russian"), ("greece", "athens", "greek"),
    ("portugal", "lisbon", "portuguese"), ("poland", "warsaw", "polish"),
]
FILLER = "the was with and then today very often there also".split()
PEOPLE_TEMPLATES = ["the {w} {r1} and {g1} {r2} the {r3}", "{g1} said the {w} {r1} {r2}", "the {r1} of the {w} {g1} {r2}",
                    "the {w} {g1} {r1} {f} {r2} {g2}"]
PLACE_TEMPLATES = [
    "{capital} is the capital of {country}", "{capital} is a big city in {country}", "people in {country} speak {language}",
    "in {capital} people speak {language}", "{country} is a country and {capital} its capital city",
    "the {language} language is spoken in {country}", "{capital} city streets and {language} words",
    "visit {country} and its capital {capital}", "{language} is the language of {country}",
]



def _analogies() -> list[tuple[str, str, str, str]]:
    """(a, b, c, d) meaning a − b + c = d, each pair matched with a later one: 10 of each kind, 50 in all."""
    n, m = len(PAIRS), len(COUNTRIES)
    out = []
    for i in range(n):
        j, k = (i + 1) % n, (i + 3) % n
        out.append((PAIRS[i][0], PAIRS[j][0], PAIRS[j][1], PAIRS[i][1]))  # king − prince + princess = queen
        out.append((PAIRS[i][1], PAIRS[i][0], PAIRS[k][0], PAIRS[k][1]))  # queen − king + boy = girl
    for i in range(m):
        j, k, h = (i + 1) % m, (i + 2) % m, (i + 3) % m
        out.append((COUNTRIES[i][1], COUNTRIES[i][0], COUNTRIES[j][0], COUNTRIES[j][1]))  # paris − france + italy = rome
        out.append((COUNTRIES[i][2], COUNTRIES[i][0], COUNTRIES[k][0], COUNTRIES[k][2]))  # french − france + germany = german
        out.append((COUNTRIES[i][2], COUNTRIES[i][1], COUNTRIES[h][1], COUNTRIES[h][2]))  # french − paris + madrid = spanish
    return out


ANALOGIES = _analogies()


def analogy_world_text(n_sentences: int = 8_000, seed: int = 0) -> str:
    """`n_sentences` generated sentences, one per line, about the toy world's people and places."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n_sentences):
        if rng.random() < 0.6:
            male, female, roles = PAIRS[rng.integers(len(PAIRS))]
            gender = "male" if rng.random() < 0.5 else "female"
            r = rng.choice(roles.split(), 3, replace=False)
            g = rng.choice(GENDER[gender].split(), 2, replace=False)
            template = PEOPLE_TEMPLATES[rng.integers(len(PEOPLE_TEMPLATES))]
            lines.append(template.format(w=male if gender == "male" else female, r1=r[0], r2=r[1], r3=r[2], g1=g[0], g2=g[1],
                                         f=FILLER[rng.integers(len(FILLER))]))
        else:
            country, capital, language = COUNTRIES[rng.integers(len(COUNTRIES))]
            template = PLACE_TEMPLATES[rng.integers(len(PLACE_TEMPLATES))]
            lines.append(template.format(country=country, capital=capital, language=language))
    return "\n".join(line + "." for line in lines)
