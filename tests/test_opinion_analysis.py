"""Pol.is's method on small matrices whose answers are worked out by hand here."""

import math
import random

import pytest

from sessions_app.opinion import analysis
from sessions_app.opinion.analysis import AGREE, DISAGREE, PASS

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)

STATEMENTS = list(range(1, 9))


def two_blocs(size: int = 3) -> dict[int, dict[int, int]]:
    """Bloc one agrees with 1-4 and disagrees with 5-8; bloc two the opposite."""
    votes = {}
    for d in range(1, size + 1):
        votes[d] = {s: AGREE if s <= 4 else DISAGREE for s in STATEMENTS}
    for d in range(size + 1, 2 * size + 1):
        votes[d] = {s: DISAGREE if s <= 4 else AGREE for s in STATEMENTS}
    return votes


def test_pa_pat_by_hand():
    # 3 agrees of 3 votes: pa = 4/5, pat = 2*sqrt(4)*(4/4 - 1/2) = 2.
    assert analysis.pa_pat(3, 3) == (0.8, 2.0)
    # 0 of 3: pa = 1/5, pat = 2*2*(1/4 - 1/2) = -1.
    assert analysis.pa_pat(0, 3) == (0.2, -1.0)


def test_two_proportion_z_by_hand():
    # 3/3 in the group against 0/4 outside, one added to each count: 4/4 against 1/5, pooled 5/9.
    pooled = 5 / 9
    expected = (1 - 0.2) / math.sqrt(pooled * (1 - pooled) * (1 / 4 + 1 / 5))
    assert math.isclose(analysis.two_proportion_z(3, 3, 0, 4), expected)


def test_two_blocs_of_three_give_two_groups_with_own_representatives():
    votes = two_blocs()
    votes[7] = {s: AGREE if s <= 4 else DISAGREE for s in STATEMENTS}  # a seventh delegation joins bloc one
    result = analysis.analyse(votes, STATEMENTS)
    assert result["mapped"] is True
    assert result["reason"] == ""
    assert [group["members"] for group in result["groups"]] == [[1, 2, 3, 7], [4, 5, 6]]
    first, second = result["groups"]
    # Bloc one: 4 of 4 agree with statement 1; outside 0 of 3. pa = 5/6, pat = 2*sqrt(5)*(5/5 - 1/2).
    top = first["representative"][0]
    assert (top["statement"], top["direction"]) == (1, "agree")
    assert top["p"] == round(5 / 6, 4)
    assert top["pt"] == round(2 * math.sqrt(5) * 0.5, 4)
    assert top["r"] == round((5 / 6) / (1 / 5), 4)
    assert {row["direction"] for row in first["representative"][:4]} == {"agree"}
    assert [(row["statement"], row["direction"]) for row in second["representative"][:4]] == [
        (1, "disagree"), (2, "disagree"), (3, "disagree"), (4, "disagree")]
    assert len(first["representative"]) == len(second["representative"]) == 5
    assert result["consensus"] == []
    assert [row["statement"] for row in result["divisive"]][:4] == [1, 2, 3, 4]
    assert len(result["points"]) == 7


def test_everyone_agreeing_gives_consensus_and_no_groups():
    votes = {d: {s: AGREE for s in STATEMENTS} for d in range(1, 9)}
    result = analysis.analyse(votes, STATEMENTS)
    assert result["mapped"] is False
    assert result["reason"] == analysis.NO_GROUPS
    assert result["groups"] == [] and result["points"] == []
    # 8 of 8 agree: pa = 9/10, pat = 2*3*(9/9 - 1/2) = 3.
    assert [(row["statement"], row["direction"], row["p"], row["pt"]) for row in result["consensus"]] == [
        (s, "agree", 0.9, 3.0) for s in STATEMENTS]
    assert result["group_consensus"][0]["score"] == 0.9


def test_under_seven_voting_delegations_shows_bars_only():
    result = analysis.analyse(two_blocs(), STATEMENTS)  # six delegations
    assert result["mapped"] is False
    assert result["reason"] == analysis.FEW_VOTERS
    assert result["points"] == [] and result["groups"] == []
    assert result["statements"][1] == {"agree": 3, "disagree": 3, "pass": 0}


def test_a_delegation_counts_once_it_voted_on_seven_statements():
    votes = two_blocs(4)
    votes[9] = {1: AGREE, 2: PASS}  # two votes of eight: in the bars, not on the map
    result = analysis.analyse(votes, STATEMENTS)
    assert result["voters"] == 9 and result["counted"] == 8
    assert 9 not in {point["delegation"] for point in result["points"]}
    assert result["statements"][2] == {"agree": 4, "disagree": 4, "pass": 1}


def test_no_grouping_leaves_a_group_of_one():
    votes = {d: {s: AGREE for s in STATEMENTS} for d in range(1, 8)}
    votes[8] = {s: DISAGREE for s in STATEMENTS}  # a lone dissenter is not a group
    result = analysis.analyse(votes, STATEMENTS)
    assert result["mapped"] is False
    assert result["reason"] == analysis.NO_GROUPS


def test_the_same_votes_give_the_same_groups():
    rng = random.Random(7)
    votes = {d: {s: rng.choice([AGREE, DISAGREE, PASS]) for s in range(1, 21) if rng.random() < 0.8} for d in range(1, 39)}
    first = analysis.analyse(votes, list(range(1, 21)))
    second = analysis.analyse(dict(reversed(list(votes.items()))), list(range(1, 21)))
    assert first == second


def test_the_same_votes_under_other_ids_give_the_same_groups_with_the_same_letters():
    # Two blocs of four, each delegation known by a stable key; a restore gives them other ids in another order.
    keys = ["AT", "BE", "CY", "DK", "EE", "FI", "GR", "HU"]
    bloc_one = {"AT", "CY", "EE", "GR"}
    def votes_with(ids: list[int]) -> tuple[dict, dict]:
        votes = {i: {s: (AGREE if s <= 4 else DISAGREE) if key in bloc_one else (DISAGREE if s <= 4 else AGREE) for s in STATEMENTS}
                 for i, key in zip(ids, keys)}
        return votes, dict(zip(ids, keys))

    def lettered(ids: list[int]) -> dict[str, list[str]]:
        votes, key_of = votes_with(ids)
        result = analysis.analyse(votes, STATEMENTS, keys=key_of)
        return {g["label"]: sorted(key_of[m] for m in g["members"]) for g in result["groups"]}

    # Groups of equal size: the one holding the smallest key (AT) is A, whatever the ids.
    expected = {"A": ["AT", "CY", "EE", "GR"], "B": ["BE", "DK", "FI", "HU"]}
    assert lettered([1, 2, 3, 4, 5, 6, 7, 8]) == lettered([80, 70, 60, 50, 40, 30, 20, 10]) == expected


def test_missing_votes_are_imputed_and_scaled():
    matrix = [[AGREE, AGREE, float("nan")], [DISAGREE, DISAGREE, DISAGREE], [AGREE, DISAGREE, AGREE]]
    import numpy as np

    points = analysis.positions(np.array(matrix))
    assert points.shape == (3, 2)
    assert np.isfinite(points).all()


def test_priority_puts_unvoted_and_divisive_statements_first():
    fresh = analysis.priority({"agree": 0, "disagree": 0, "pass": 0})
    split = analysis.priority({"agree": 5, "disagree": 5, "pass": 0})
    agreed = analysis.priority({"agree": 10, "disagree": 0, "pass": 0})
    assert fresh > split > agreed
