"""Cross-check against red-dwarf (a Python implementation of Pol.is's method, a test-only dependency):
on random matrices with blocs, our groups and its groups are the same up to relabelling."""

import random
import warnings

import pytest

from sessions_app.opinion import analysis

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # red-dwarf's pydantic models warn on import
    polis = pytest.importorskip("reddwarf.implementations.polis")


def bloc_votes(seed: int, *, people: int = 40, statements: int = 20, blocs: int = 3) -> dict[int, dict[int, int]]:
    rng = random.Random(seed)
    stances = [[rng.choice([analysis.AGREE, analysis.DISAGREE]) for _s in range(statements)] for _b in range(blocs)]
    votes = {}
    for person in range(1, people + 1):
        stance = stances[person % blocs]
        row = {}
        for s in range(statements):
            if rng.random() < 0.1:
                continue  # unseen
            row[s + 1] = stance[s] if rng.random() > 0.1 else rng.choice([analysis.AGREE, analysis.DISAGREE, analysis.PASS])
        votes[person] = row
    return votes


def partition(members_by_group) -> set[frozenset]:
    return {frozenset(members) for members in members_by_group}


@pytest.mark.parametrize("seed", range(1, 7))
@pytest.mark.parametrize("blocs", [2, 3])
def test_same_groups_as_red_dwarf(seed, blocs):
    votes = bloc_votes(seed, blocs=blocs)
    ours = analysis.analyse(votes, list(range(1, 21)))
    rows = [{"participant_id": p, "statement_id": s, "vote": -v, "modified": 0} for p, row in votes.items() for s, v in row.items()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = polis.run_pipeline(votes=rows, random_state=0)
    frame = theirs.participants_df
    clustered = frame[frame["to_cluster"]]
    their_groups = [list(clustered.index[clustered["cluster_id"] == g]) for g in sorted(clustered["cluster_id"].dropna().unique())]
    if partition(g["members"] for g in ours["groups"]) == partition(their_groups):
        return
    # red-dwarf's k-means starts from Pol.is's own centres and can stop in a local optimum (seed 5 with
    # three blocs: it splits one bloc, k=4). Then both sets of positions must agree, and our grouping
    # must be the better one by the method's own measure, the mean silhouette.
    from sklearn.metrics import silhouette_score

    points = clustered[["x", "y"]].to_numpy()
    mine = {p["delegation"]: (p["x"], p["y"]) for p in ours["points"]}
    for axis in (0, 1):  # the same PCA up to the sign of each component
        a = [mine[p][axis] for p in clustered.index]
        b = points[:, axis]
        assert all(abs(x - y) < 1e-3 for x, y in zip(a, b)) or all(abs(x + y) < 1e-3 for x, y in zip(a, b))
    ours_by_person = {m: i for i, g in enumerate(ours["groups"]) for m in g["members"]}
    our_labels = [ours_by_person[p] for p in clustered.index]
    assert silhouette_score(points, our_labels) > silhouette_score(points, clustered["cluster_id"].to_numpy(dtype=int))
