"""Observations for the ML pipeline with controllable drift (standard library only).

Four numeric features and a binary label. `drift` in [0, 1] moves the feature distribution (data
drift: three of four means shift by 2-2.5 standard deviations at 1.0) and the relation between features and label
(concept drift: the weights rotate), so a model trained before the drift scores worse after it and
a model retrained on drifted data scores better. drift=0 with another seed is the same distribution.

Run: python3 ml_dataset.py --rows 600 --seed 1 --drift 0 > batch.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from typing import Any

FEATURES = ("home_form", "away_form", "rest_diff", "travel_km")
BEFORE = (1.6, -1.4, 0.8, 0.0)
AFTER = (-0.4, -1.4, 0.0, 1.6)
#: Mean shift per feature at drift=1.0, in standard deviations (three of four features move).
SHIFT = (2.5, 0.0, 2.0, 2.5)


def generate(rows: int, seed: int, drift: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    weights = [(1 - drift) * b + drift * a for b, a in zip(BEFORE, AFTER, strict=True)]
    out = []
    for _ in range(rows):
        x = [rng.gauss(SHIFT[i] * drift, 1.0) for i in range(len(FEATURES))]
        centred = [v - SHIFT[i] * drift for i, v in enumerate(x)]
        score = sum(w * v for w, v in zip(weights, centred, strict=True)) + rng.gauss(0, 0.5)
        out.append({**{f: round(v, 4) for f, v in zip(FEATURES, x, strict=True)}, "label": int(score > 0)})
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drift", type=float, default=0.0)
    args = parser.parse_args()
    writer = csv.DictWriter(sys.stdout, fieldnames=[*FEATURES, "label"])
    writer.writeheader()
    writer.writerows(generate(args.rows, args.seed, args.drift))
