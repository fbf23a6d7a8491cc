"""Themes across the delegations' answers to one question, computed on this machine.

TF-IDF over English and French words (accents folded for matching, shown as written), k-means on
the answers' vectors with k chosen by the mean cosine silhouette, never a theme of one answer, a
fixed seed (the same answers give the same themes). Each theme is labelled by the terms that set it
apart from the other answers and quoted by its most central answer; an answer that shares almost no
vocabulary with any other is an outlier. The chair's edits (merges, names) are re-applied to every
recomputation. Pure functions: the result is a plain, JSON-ready dict.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .stopwords import ALL as STOP_WORDS

SEED = 0
MAX_THEMES = 8
TERMS = 4  # distinctive terms shown per theme
# An answer whose closest other answer has a cosine similarity under this is unlike all others.
OUTLIER_SIMILARITY = 0.1
# Under this mean silhouette no split is better than one theme.
MIN_SILHOUETTE = 0.05

# Why there are no themes (the templates say it in the reader's language).
FEW_ANSWERS = "few_answers"

WORD = re.compile(r"[^\W\d_]+")  # letters only: apostrophes split French elisions (l'eau -> l, eau)


def fold(word: str) -> str:
    """The form two spellings of a word share: lower case, no accents, no plural s or x."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if not unicodedata.combining(c))
    if len(word) > 4 and word[-1] in "sx" and not word.endswith("ss"):
        word = word[:-1]
    return word


def words(text: str) -> list[tuple[str, str]]:
    """(folded, as written in lower case) for each word of the text that can carry a theme."""
    found = []
    for match in WORD.finditer(text):
        written = match.group(0).casefold()
        folded = fold(written)
        if len(folded) >= 3 and folded not in STOP_WORDS and fold(folded) not in STOP_WORDS:
            found.append((folded, written))
    return found


@dataclass(frozen=True)
class Text:
    """One answer to synthesise: its id, its delegation's id and its text."""

    answer: int
    delegation: int
    text: str
    # A key that survives a restore into another database (the delegation's ISO code): the answers are
    # taken in its order, so that a restored question, whose answers have other ids, gets the same themes.
    key: str = ""


def synthesise(texts: list[Text], edits: dict | None = None) -> dict:
    """Themes and outliers of a question's answers, with the chair's edits applied (see apply_merges)."""
    texts = sorted(texts, key=lambda t: (t.key, t.answer))
    edits = edits or {}
    result = {"answers": len(texts), "themes": [], "outliers": [], "reason": "", "silhouette": None}
    analysed = [(t, words(t.text)) for t in texts]
    empty = [t for t, w in analysed if not w]
    kept = [(t, w) for t, w in analysed if w]
    if len(kept) < 2:
        result["reason"] = FEW_ANSWERS
        result["outliers"] = [t.answer for t in texts]
        return result

    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda pairs: [folded for folded, _w in pairs], sublinear_tf=True, norm="l2")
    matrix = vectorizer.fit_transform([w for _t, w in kept]).toarray()
    vocabulary = vectorizer.get_feature_names_out()
    shown = _shown_forms(w for _t, w in kept)

    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, 0.0)
    alike = similarity.max(axis=1) >= OUTLIER_SIMILARITY
    result["outliers"] = sorted([t.answer for t in empty] + [t.answer for (t, _w), keep in zip(kept, alike) if not keep])
    members = [t for (t, _w), keep in zip(kept, alike) if keep]
    vectors = matrix[alike]
    if len(members) < 2:
        result["reason"] = FEW_ANSWERS
        return result

    labels, score = cluster(vectors)
    result["silhouette"] = None if score is None else round(score, 4)
    labels = apply_merges(labels, [t.answer for t in members], edits.get("merges", []))
    themes = _themes(labels, vectors, members, vocabulary, shown)
    apply_names(themes, edits.get("names", []))
    result["themes"] = themes
    return result


def cluster(vectors: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Labels by k-means for k = 2 .. min(8, n/2) with the best mean cosine silhouette, refusing a k
    that leaves a theme of one answer; all in one theme when no split reaches MIN_SILHOUETTE."""
    from sklearn import config_context
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    n = len(vectors)
    distinct = len(np.unique(np.round(vectors, 9), axis=0))
    best, best_score = None, None
    # A few dozen answers: threads, and scikit-learn's checks of arguments we made, cost more than the work.
    with threadpool_limits(1), config_context(assume_finite=True, skip_parameter_validation=True):
        for k in range(2, min(MAX_THEMES, n // 2) + 1):
            if distinct < k:
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning on identical answers
                labels = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit_predict(vectors)
            if np.bincount(labels, minlength=k).min() < 2:
                continue
            score = float(silhouette_score(vectors, labels, metric="cosine"))
            if best_score is None or score > best_score + 1e-9:
                best, best_score = labels, score
    if best is None or best_score < MIN_SILHOUETTE:
        return np.zeros(n, dtype=int), best_score
    return best, best_score


def apply_merges(labels: np.ndarray, answers: list[int], merges: list[list[int]]) -> np.ndarray:
    """The chair's merges, kept as lists of anchor answers (each merged theme's central answer): the
    themes that now hold anchors of one merge become one theme."""
    parent = list(range(int(labels.max()) + 1 if len(labels) else 0))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    where = {answer: int(label) for answer, label in zip(answers, labels)}
    for anchors in merges:
        found = sorted({root(where[a]) for a in anchors if a in where})
        for other in found[1:]:
            parent[other] = found[0]
    return np.array([root(int(label)) for label in labels], dtype=int)


def apply_names(themes: list[dict], names: list[dict]) -> None:
    """The chair's names, kept with the members the theme had then: a theme takes the latest name
    whose members it holds at least half of (a name follows its theme through recomputations)."""
    for record in names:
        old = set(record.get("members", []))
        if not old:
            continue
        overlap = [(len(old & set(theme["members"])), -i) for i, theme in enumerate(themes)]
        best, minus_index = max(overlap) if overlap else (0, 0)
        if best * 2 >= len(old):
            themes[-minus_index]["name"] = record.get("name", "")


def _shown_forms(documents) -> dict[str, str]:
    """For each folded word, its most frequent written form (so a label says "énergie", not "energie")."""
    seen: dict[str, Counter] = {}
    for pairs in documents:
        for folded, written in pairs:
            seen.setdefault(folded, Counter())[written] += 1
    # On a tie: the accented spelling (an answer typed without accents lost them), then the shorter (singular).
    def preference(item: tuple[str, int]):
        written, count = item
        return (-count, -sum(not ch.isascii() for ch in written), len(written), written)

    return {folded: min(counts.items(), key=preference)[0] for folded, counts in seen.items()}


def _themes(labels: np.ndarray, vectors: np.ndarray, members: list[Text], vocabulary, shown: dict[str, str]) -> list[dict]:
    groups = sorted(set(labels.tolist()), key=lambda g: (-(labels == g).sum(), int(np.argmax(labels == g))))
    themes = []
    for g in groups:
        inside = labels == g
        mean_in = vectors[inside].mean(axis=0)
        # Distinctive: weight inside the theme minus weight outside it (only inside when one theme).
        distinct = mean_in - (vectors[~inside].mean(axis=0) if (~inside).any() else 0.0)
        order = sorted(range(len(vocabulary)), key=lambda j: (-distinct[j], vocabulary[j]))
        terms = [shown[vocabulary[j]] for j in order[:TERMS] if distinct[j] > 0]
        indices = np.flatnonzero(inside)
        closeness = vectors[indices] @ mean_in
        central = members[int(indices[int(np.argmax(closeness))])]  # argmax keeps the first (in key order) on ties
        themes.append({"terms": terms, "name": "", "central": central.answer,
                       "members": [members[i].answer for i in indices],
                       "delegations": [members[i].delegation for i in indices],
                       "cohesion": round(float(closeness.mean()), 4)})
    return themes
