"""ml_model_training: features from the scraped games, one model per league, evaluation against the
champion, registration, deployment of the better ones."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import mlflow
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from airyard_ml import common, registry
from airyard_ml.schema import SPORTS_DDL, SPORTS_FEATURES

LEAGUES = ("nfl", "nba", "mlb")
#: Games a team must have played before one of its games is a training example (form needs history).
MIN_HISTORY = 1


def model_name(league: str) -> str:
    return f"sports-{league}"


def prepare(leagues: tuple[str, ...] = LEAGUES) -> dict[str, Any]:
    """Pre-game features of every game: each team's win rate and point difference in its earlier games.

    Only games before the one described count (no leakage of the result into its own features).
    """
    counts: dict[str, int] = {}
    with common.connect() as conn:
        conn.execute(SPORTS_DDL)
        for league in leagues:
            games = conn.execute(
                "SELECT game_id, game_date, home_team, away_team, home_score, away_score FROM sports.games"
                " WHERE league = %s ORDER BY game_date, game_id",
                (league,),
            ).fetchall()
            history: dict[str, list[tuple[int, int]]] = defaultdict(list)  # team -> [(won, point diff)]
            rows = []
            for game_id, game_date, home, away, hs, as_ in games:
                h, a = history[home], history[away]
                if len(h) >= MIN_HISTORY and len(a) >= MIN_HISTORY:
                    rows.append(
                        (
                            league,
                            game_id,
                            game_date,
                            sum(w for w, _ in h) / len(h),
                            sum(w for w, _ in a) / len(a),
                            sum(d for _, d in h) / len(h),
                            sum(d for _, d in a) / len(a),
                            len(h),
                            len(a),
                            int(hs > as_),
                        )
                    )
                history[home].append((int(hs > as_), hs - as_))
                history[away].append((int(as_ > hs), as_ - hs))
            with conn.cursor() as cur:
                cur.execute("DELETE FROM sports.features WHERE league = %s", (league,))
                cur.executemany(
                    "INSERT INTO sports.features (league, game_id, game_date, home_win_pct, away_win_pct,"
                    " home_point_diff, away_point_diff, home_games, away_games, label)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            counts[league] = len(rows)
    return {"examples": counts}


def dataset(league: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): the latest 25 % of games is the test set, as the model will meet future games."""
    with common.connect() as conn:
        cur = conn.execute(
            f"SELECT {', '.join(SPORTS_FEATURES)}, label FROM sports.features WHERE league = %s"
            " ORDER BY game_date, game_id",
            (league,),
        )
        frame = pd.DataFrame(cur.fetchall(), columns=[*SPORTS_FEATURES, "label"])
    if len(frame) < 20 or frame["label"].nunique() < 2:
        raise ValueError(f"{league}: {len(frame)} prepared games, too few to train on (run sports_data_scraper)")
    cut = int(len(frame) * 0.75)
    return frame.iloc[:cut], frame.iloc[cut:]


def train(league: str) -> dict[str, Any]:
    """Fit and log one league's model to MLflow (registration comes after evaluation)."""
    train_set, test_set = dataset(league)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(train_set[list(SPORTS_FEATURES)], train_set["label"])
    metrics = registry.scores(model, test_set[list(SPORTS_FEATURES)], test_set["label"])
    mlflow.set_experiment(f"sports-{league}")
    with mlflow.start_run(run_name=f"train-{league}") as run:
        mlflow.log_params({"league": league, "model": "logistic_regression", "train_rows": len(train_set)})
        mlflow.log_metrics({**metrics, "test_rows": len(test_set)})
        mlflow.sklearn.log_model(model, name="model", input_example=test_set[list(SPORTS_FEATURES)].head(2))
    return {"league": league, "run_id": run.info.run_id, **metrics}


def evaluate(runs: list[dict[str, Any]], min_improvement: float = 0.0) -> dict[str, Any]:
    """Score each candidate and its league's champion on the same, current test set."""
    decisions: dict[str, Any] = {}
    for run in runs:
        league = run["league"]
        _, test_set = dataset(league)
        x, y = test_set[list(SPORTS_FEATURES)], test_set["label"]
        candidate = registry.scores(mlflow.sklearn.load_model(f"runs:/{run['run_id']}/model"), x, y)
        champion_version = registry.alias_version(model_name(league), registry.CHAMPION)
        champion = (
            registry.scores(registry.load(model_name(league), champion_version), x, y) if champion_version else None
        )
        better = champion is None or candidate["accuracy"] >= champion["accuracy"] + min_improvement
        decisions[league] = {
            "run_id": run["run_id"],
            "candidate_accuracy": candidate["accuracy"],
            "champion_version": champion_version,
            "champion_accuracy": champion["accuracy"] if champion else None,
            "deploy": better,
        }
    return {"decisions": decisions}


def register(decisions: dict[str, Any]) -> dict[str, Any]:
    """Register every candidate as a version (the record of what was trained); challenger alias on it."""
    out = {}
    for league, d in decisions.items():
        name = model_name(league)
        version = registry.register(name, d["run_id"], tags={"candidate_accuracy": str(d["candidate_accuracy"])})
        registry.client().set_registered_model_alias(name, registry.CHALLENGER, version)
        out[league] = {**d, "model": name, "version": version}
    return {"registered": out}


def deploy(registered: dict[str, Any]) -> dict[str, Any]:
    """Promote the candidates that beat their champion; the serving API must then serve them."""
    out = {}
    for league, d in registered.items():
        name = d["model"]
        if d["deploy"]:
            registry.promote(name, d["version"])
        else:
            registry.client().delete_registered_model_alias(name, registry.CHALLENGER)
        champion = registry.alias_version(name, registry.CHAMPION)
        served = common.wait_until_served(name, champion)
        out[league] = {"deployed": bool(d["deploy"]), "champion": champion, "served_version": served.get("version")}
    return {"deployments": out}
