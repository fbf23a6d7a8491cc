"""How long the opinion round's analysis and the themes of answers take (pure computation, no server).

    .venv/bin/python bench/bench_opinion.py [--repeats 7] [--quick]

Three steps, each timed as the median of --repeats runs after one warm-up, and each reported with a
baseline measured in the same run on the same input, so that the ratio says what our method adds
to the library call it cannot do without:
- recompute of a round, 38 delegations x 50 statements (target < 100 ms); baseline: the PCA alone;
- recompute of a consultation, 1,000 participants x 200 statements (target < 2 s); baseline: the PCA alone;
- themes of 38 answers (target < 1 s); baseline: the TF-IDF vectorisation alone.
Votes come from latent blocs (three opinion groups with 10 % noise, each participant seeing part of
the statements); answers from four topics in English and French with filler words. Fixed seeds.
Prints a table and writes bench/results/opinion.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sessions_app.opinion import analysis  # noqa: E402
from sessions_app.synthesis import themes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "opinion.json"
TOPICS = [
    "drought irrigation water farmers storage reservoirs rain quotas pricing agriculture",
    "school teachers curricula pupils climate education training universities",
    "santé hôpitaux médecins patients soins prévention campagne infirmières",
    "énergie solaire éolien renouvelables réseau électricité stockage rurales",
]
FILLER = ("we our the and in for of with national strategy plan policy has been is are also will "
          "nous notre les des pour dans avec plan politique est sont aussi").split()


def votes_matrix(participants: int, statements: int, *, seen: float, seed: int = 0) -> tuple[dict, list[int]]:
    """Votes of participants in three latent blocs (agree -1, disagree +1, pass 0), each seeing a share of statements."""
    rng = np.random.default_rng(seed)
    stance = rng.choice([-1, 1], size=(3, statements))
    votes: dict[int, dict[int, int]] = {}
    for p in range(participants):
        bloc = p % 3
        row = {}
        for s in range(statements):
            if rng.random() > seen:
                continue
            choice = int(stance[bloc, s])
            roll = rng.random()
            if roll < 0.1:
                choice = -choice
            elif roll < 0.15:
                choice = 0
            row[s] = choice
        votes[p] = row
    return votes, list(range(statements))


def answers(count: int, *, seed: int = 0) -> list[themes.Text]:
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)].split()
        words = list(rng.choice(topic, size=12)) + list(rng.choice(FILLER, size=30))
        rng.shuffle(words)
        texts.append(themes.Text(answer=i + 1, delegation=1000 + i, text=" ".join(words).capitalize() + "."))
    return texts


def timed(function, repeats: int) -> tuple[float, float]:
    """Median seconds of `repeats` calls after one warm-up call: wall-clock time, and this process's CPU
    time (which other jobs on a shared machine inflate less)."""
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def pca_alone(votes: dict, statements: list[int]):
    matrix = analysis.Matrix.of(votes, statements).values
    return lambda: analysis.positions(matrix)


def tfidf_alone(texts: list[themes.Text]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [t.text for t in texts]
    return lambda: TfidfVectorizer().fit_transform(documents)


def step(name: str, target_s: float, ours, baseline, baseline_name: str, repeats: int) -> dict:
    (ours_s, ours_cpu), (base_s, _base_cpu) = timed(ours, repeats), timed(baseline, repeats)
    return {"step": name, "target_ms": round(target_s * 1000), "ms": round(ours_s * 1000, 1), "cpu_ms": round(ours_cpu * 1000, 1),
            "baseline": baseline_name, "baseline_ms": round(base_s * 1000, 2),
            "ratio": round(ours_s / base_s, 1) if base_s else None, "within_target": ours_s < target_s}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    room = (38, 50) if not options.quick else (12, 10)
    consultation = (1000, 200) if not options.quick else (60, 20)
    delegations = 38 if not options.quick else 12

    steps = []
    votes, statements = votes_matrix(*room, seen=0.9)
    steps.append(step(f"recompute {room[0]} x {room[1]}", 0.1, lambda: analysis.analyse(votes, statements),
                      pca_alone(votes, statements), "PCA alone", options.repeats))
    big_votes, big_statements = votes_matrix(*consultation, seen=0.5, seed=1)
    steps.append(step(f"recompute {consultation[0]} x {consultation[1]}", 2.0, lambda: analysis.analyse(big_votes, big_statements),
                      pca_alone(big_votes, big_statements), "PCA alone", max(3, options.repeats // 2)))
    texts = answers(delegations)
    steps.append(step(f"themes of {delegations} answers", 1.0, lambda: themes.synthesise(texts), tfidf_alone(texts),
                      "TF-IDF alone", options.repeats))
    found = themes.synthesise(texts)

    result = {"machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                          "load_average": [round(load, 2) for load in os.getloadavg()],
                          "at": datetime.now(UTC).isoformat(timespec="seconds")},
              "steps": steps, "themes_found": len(found["themes"]), "outliers_found": len(found["outliers"])}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average {result['machine']['load_average']} on {os.cpu_count()} CPUs")
    print(f"{'step':<28}{'ms':>9}{'cpu ms':>9}{'target':>8}  {'baseline':<14}{'ms':>9}{'ratio':>8}")
    for row in steps:
        print(f"{row['step']:<28}{row['ms']:>9}{row['cpu_ms']:>9}{row['target_ms']:>8}  {row['baseline']:<14}{row['baseline_ms']:>9}"
              f"{row['ratio']:>8}{'' if row['within_target'] else '  OVER TARGET'}")
    print(f"themes of the answers: {result['themes_found']} themes, {result['outliers_found']} outliers; written to {options.out}")
    return result


if __name__ == "__main__":
    main()
