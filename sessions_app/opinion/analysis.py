"""Pol.is's published method, written from its formulas: where the room stands on a round's statements.

Input is a vote matrix (delegations x statements, agree -1, disagree +1, pass 0, unseen missing);
output is a plain dict (JSON-ready, stored on the round) that the console, the screen and the records
read. Pure functions of the votes, with a fixed seed: the same votes always give the same groups.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

AGREE, PASS, DISAGREE = -1, 0, 1
Z_90 = 1.2816  # one-sided 90 %
MIN_VOTERS = 7
MAX_REPRESENTATIVE = 5
SEED = 0
DIVISIVE_GAP = 0.25  # at least this gap between groups' shares of agreement

# Why the map is not drawn (the templates say it in the reader's language).
FEW_VOTERS = "few_voters"
NO_GROUPS = "no_groups"


def load_libraries() -> None:
    """Import scikit-learn's parts the analysis uses (about 1 s of CPU, holding the interpreter lock):
    at the server's start, in the process that computes the analyses, not in the first analysis of a
    meeting (whose cost would also set the spacing of the next ones: opinion/services.py)."""
    from sklearn.cluster import KMeans  # noqa: F401
    from sklearn.decomposition import PCA  # noqa: F401
    from sklearn.metrics import silhouette_score  # noqa: F401
    from threadpoolctl import threadpool_limits  # noqa: F401


@dataclass(frozen=True)
class Matrix:
    """Votes of delegations (rows) on statements (columns); NaN where a delegation has not voted."""

    rows: list[int]
    columns: list[int]
    values: np.ndarray

    @classmethod
    def of(cls, votes: dict[int, dict[int, int]], statements: list[int], keys: dict[int, str] | None = None) -> Matrix:
        # Rows in the order of the delegations' stable keys (their ISO codes), not of their database ids:
        # k-means' start depends on the order of the points, and groups are lettered by their first row,
        # so a round restored into another database (other ids) gets the same groups with the same letters.
        rows = sorted(votes, key=lambda row: (keys.get(row, ""), row)) if keys else sorted(votes)
        values = np.full((len(rows), len(statements)), np.nan)
        index = {s: j for j, s in enumerate(statements)}
        for i, row in enumerate(rows):
            for statement, choice in votes[row].items():
                if statement in index:
                    values[i, index[statement]] = choice
        return cls(rows=rows, columns=list(statements), values=values)


def counts(column: np.ndarray) -> tuple[int, int, int]:
    """(agrees, disagrees, votes) in one column of votes."""
    return int((column == AGREE).sum()), int((column == DISAGREE).sum()), int((~np.isnan(column)).sum())


def column_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """counts() of every column at once: (agrees, disagrees, votes) as integer arrays."""
    return ((values == AGREE).sum(axis=0).astype(int), (values == DISAGREE).sum(axis=0).astype(int),
            (~np.isnan(values)).sum(axis=0).astype(int))


def pa_pat(n_a: int, n_s: int) -> tuple[float, float]:
    """Share of agreement with a prior of one each way, and its test against one half."""
    return (n_a + 1) / (n_s + 2), 2 * math.sqrt(n_s + 1) * ((n_a + 1) / (n_s + 1) - 0.5)


def two_proportion_z(succ_in: int, pop_in: int, succ_out: int, pop_out: int) -> float:
    """Two-proportion z-test of a group against the rest, with one added to each count."""
    succ_in, pop_in, succ_out, pop_out = succ_in + 1, pop_in + 1, succ_out + 1, pop_out + 1
    p1, p2 = succ_in / pop_in, succ_out / pop_out
    pooled = (succ_in + succ_out) / (pop_in + pop_out)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / pop_in + 1 / pop_out))
    return 0.0 if spread == 0 else (p1 - p2) / spread


def positions(matrix: np.ndarray) -> np.ndarray:
    """Two-component PCA of the votes, missing votes imputed by their statement's mean; each row
    scaled by sqrt(statements / its votes) so that a delegation that voted little is not pulled to the centre."""
    from sklearn.decomposition import PCA

    n, m = matrix.shape
    means = np.nan_to_num(np.nanmean(np.where(np.isnan(matrix).all(axis=0), 0, matrix), axis=0)) if n else np.zeros(m)
    filled = np.where(np.isnan(matrix), means, matrix)
    components = min(2, n, m)
    if components == 0 or np.allclose(filled, filled[0]):
        return np.zeros((n, 2))
    projected = PCA(n_components=components, random_state=SEED).fit_transform(filled)
    if components < 2:
        projected = np.hstack([projected, np.zeros((n, 2 - components))])
    voted = (~np.isnan(matrix)).sum(axis=1)
    return projected * np.sqrt(m / np.maximum(voted, 1))[:, None]


def groups_of(points: np.ndarray) -> np.ndarray | None:
    """k-means for k = 2 .. min(5, 2 + n/12) with the best mean silhouette, refusing a k that leaves a
    group of one; None when no k passes (too few distinct positions, or every grouping has a singleton)."""
    from sklearn import config_context
    from threadpoolctl import threadpool_limits

    # One thread: on a few hundred 2-D points OpenMP's start-up costs more than the work (2 s against 0.15 s here).
    # The points are ours and finite: scikit-learn's checks of its arguments are a third of the time at 38 points.
    with threadpool_limits(1), config_context(assume_finite=True, skip_parameter_validation=True):
        return _groups_of(points)


def _groups_of(points: np.ndarray) -> np.ndarray | None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(points)
    distinct = len(np.unique(np.round(points, 9), axis=0))
    best, best_score = None, -2.0
    for k in range(2, min(5, 2 + n // 12) + 1):
        if distinct < k or n < 2 * k:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning on near-duplicate points
            labels = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit_predict(points)
        sizes = np.bincount(labels, minlength=k)
        if sizes.min() < 2:
            continue
        score = silhouette_score(points, labels)
        if score > best_score:
            best, best_score = labels, score
    if best is None:
        return None
    # Groups named by size then first member, so relabelling by k-means never renames them.
    order = sorted(set(best), key=lambda g: (-(best == g).sum(), int(np.argmax(best == g))))
    return np.array([order.index(g) for g in best])


def representative(values: np.ndarray, labels: np.ndarray, group: int, columns: list[int]) -> list[dict]:
    """A group's statements that set it apart: pat and rat above the 90 % threshold, for agreement or
    disagreement, ranked by ra * rat * pa * pat; at most five."""
    inside, outside = column_counts(values[labels == group]), column_counts(values[labels != group])
    chosen = []
    for j, statement in enumerate(columns):
        n_a, n_d, n_s = (int(c[j]) for c in inside)
        N_a, N_d, N_s = (int(c[j]) for c in outside)
        best = None
        for direction, n_x, N_x in (("agree", n_a, N_a), ("disagree", n_d, N_d)):
            p, pt = pa_pat(n_x, n_s)
            r = p / ((N_x + 1) / (N_s + 2))
            rt = two_proportion_z(n_x, n_s, N_x, N_s)
            if pt > Z_90 and rt > Z_90:
                metric = r * rt * p * pt
                if best is None or metric > best["metric"]:
                    best = {"statement": statement, "direction": direction, "p": round(p, 4), "pt": round(pt, 4),
                            "share": round(n_x / n_s, 4) if n_s else 0.0,
                            "r": round(r, 4), "rt": round(rt, 4), "metric": metric}
        if best is not None:
            chosen.append(best)
    chosen.sort(key=lambda row: (-row["metric"], columns.index(row["statement"])))
    for row in chosen:
        row["metric"] = round(row["metric"], 4)
    return chosen[:MAX_REPRESENTATIVE]


def analyse(votes: dict[int, dict[int, int]], statements: list[int], keys: dict[int, str] | None = None) -> dict:
    """Everything the pages show about a round, from its votes (delegation -> statement -> choice).

    `keys`: each delegation's stable key (see Matrix.of); statements are taken in the order given."""
    matrix = Matrix.of(votes, statements, keys)
    values, columns = matrix.values, matrix.columns
    tallies = {}
    for j, statement in enumerate(columns):
        column = values[:, j]
        tallies[statement] = {"agree": int((column == AGREE).sum()), "disagree": int((column == DISAGREE).sum()),
                              "pass": int((column == PASS).sum())}
    result = {"statements": tallies, "voters": len(matrix.rows), "counted": 0, "mapped": False, "reason": "",
              "groups": [], "points": [], "consensus": [], "group_consensus": [], "divisive": []}
    if not columns:
        result["reason"] = FEW_VOTERS
        return result
    # A delegation counts once it has voted on min(7, number of statements).
    needed = min(MIN_VOTERS, len(columns))
    counted = (~np.isnan(values)).sum(axis=1) >= needed if len(matrix.rows) else np.zeros(0, dtype=bool)
    rows = [row for row, keep in zip(matrix.rows, counted) if keep]
    values = values[counted]
    result["counted"] = len(rows)

    # Consensus over everyone counted: agreement (or disagreement) that is a majority and significant.
    everyone = column_counts(values)
    for j, statement in enumerate(columns):
        n_a, n_d, n_s = (int(c[j]) for c in everyone)
        for direction, n_x in (("agree", n_a), ("disagree", n_d)):
            p, pt = pa_pat(n_x, n_s)
            if p > 0.5 and pt > Z_90:
                result["consensus"].append({"statement": statement, "direction": direction, "p": round(p, 4), "pt": round(pt, 4),
                                            "share": round(n_x / n_s, 4) if n_s else 0.0})
    result["consensus"].sort(key=lambda row: (-row["p"], -row["pt"], columns.index(row["statement"])))

    if len(rows) < MIN_VOTERS:
        result["reason"] = FEW_VOTERS
        labels = np.zeros(len(rows), dtype=int)
        points = np.zeros((len(rows), 2))
    else:
        points = positions(values)
        labels = groups_of(points)
        if labels is None:
            result["reason"] = NO_GROUPS
            labels = np.zeros(len(rows), dtype=int)
        else:
            result["mapped"] = True
            result["points"] = [{"delegation": row, "x": round(float(x), 4), "y": round(float(y), 4), "group": int(g)}
                                for row, (x, y), g in zip(rows, points, labels)]
    group_ids = sorted(set(labels.tolist())) if result["mapped"] else []
    for g in group_ids:
        result["groups"].append({"label": chr(ord("A") + g), "members": [row for row, label in zip(rows, labels) if label == g],
                                 "representative": representative(values, labels, g, columns)})

    # Group-aware consensus: the geometric mean over groups (or everyone) of (A_g+1)/(S_g+2).
    blocks = [values[labels == g] for g in group_ids] or [values]
    # Each block's share of agreement per statement, (A_g+1)/(S_g+2): blocks x statements.
    block_shares = []
    for block in blocks:
        agrees, _disagrees, voted = column_counts(block)
        block_shares.append([(int(a) + 1) / (int(v) + 2) for a, v in zip(agrees, voted)])
    aware = []
    for j, statement in enumerate(columns):
        shares = [row[j] for row in block_shares]
        aware.append({"statement": statement, "score": round(float(np.exp(np.mean(np.log(shares)))), 4)})
    aware.sort(key=lambda row: (-row["score"], columns.index(row["statement"])))
    result["group_consensus"] = aware[:MAX_REPRESENTATIVE]

    # Divisive: groups on opposite sides (one agrees more than it disagrees, another disagrees more than it
    # agrees), ranked by the gap between groups in their share of agreement. A consensus is never divisive.
    if len(blocks) > 1:
        agreed = {row["statement"] for row in result["consensus"]}
        sides = [column_counts(block) for block in blocks]
        divisive = []
        for j, statement in enumerate(columns):
            if statement in agreed:
                continue
            shares = [row[j] for row in block_shares]
            gap = max(shares) - min(shares)
            for_it = any(a[j] > d[j] for a, d, _v in sides)
            against = any(d[j] > a[j] for a, d, _v in sides)
            if gap >= DIVISIVE_GAP and for_it and against:
                divisive.append({"statement": statement, "gap": round(gap, 4)})
        divisive.sort(key=lambda row: (-row["gap"], columns.index(row["statement"])))
        result["divisive"] = divisive[:MAX_REPRESENTATIVE]
    return result


def priority(tally: dict) -> float:
    """Pol.is's order for the next statement: fewer votes first, then the more divisive (agree and
    disagree close), passes lowering it."""
    a, d, p = tally["agree"], tally["disagree"], tally["pass"]
    s = a + d + p
    novelty = 1 + 8 * 2 ** (-s / 5)
    divisive = 1 - abs(a - d) / (a + d + 1)
    passing = (p + 1) / (s + 2)
    return (novelty * (1 + divisive) * (1 - passing)) ** 2
