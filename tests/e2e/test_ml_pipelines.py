"""The sports and ML reference pipelines on the kind cluster, driven through Airflow's REST API.

A fake ESPN-style API (tests/fakes/sports_api.py in a toolbox pod) is the only thing faked. The
DAGs run their steps in pods of airyard/ml-tasks against the platform's PostgreSQL, MLflow and
object store, and the model-serving API (charts/model-serving) must answer with the champion's
version before and after every deployment and rollback.

Needs: images ml-tasks, model-serving and airflow (with these DAGs) loaded, and the umbrella
installed with model-serving enabled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from devkit import airflow, kube
from tests.fakes import sports_api

pytestmark = pytest.mark.shared_platform

NS = airflow.NAMESPACE
REL = airflow.RELEASE
FAKE_NS = "ml-e2e"
REPO = Path(__file__).resolve().parents[2]
START, END = date(2026, 1, 1), date(2026, 1, 28)
LEAGUES = ("nfl", "nba", "mlb")
MODEL = "ml_pipeline_model"
SUFFIX = time.strftime("%H%M%S")
CLIENTS = {
    "airyard.io/postgresql-client": "true",
    "airyard.io/mlflow-client": "true",
    "airyard.io/model-serving-client": "true",
}


def _env() -> list[dict[str, Any]]:
    def ref(name: str, secret: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    return [
        ref("MLSP_DATABASE_URI", f"{REL}-postgresql-mlsp", "uri"),
        ref("MLFLOW_TRACKING_URI", f"{REL}-mlflow-connection", "tracking-uri"),
        ref("MLFLOW_TRACKING_USERNAME", f"{REL}-mlflow-connection", "username"),
        ref("MLFLOW_TRACKING_PASSWORD", f"{REL}-mlflow-connection", "password"),
        {"name": "SERVING_URL", "value": f"http://{REL}-model-serving:8000"},
    ]


def in_cluster(name: str, script: str) -> Any:
    """Run a script in a toolbox pod of the platform's namespace; its last line is JSON."""
    out = kube.run_script(NS, f"ml-e2e-{name}-{SUFFIX}", script, labels=CLIENTS, env=_env(), timeout=300)
    return json.loads(out.strip().splitlines()[-1])


# In-cluster HTTP for the scripts below: JSON in and out, MLflow's basic auth when `auth`, an
# error status as {"error": code}.
HTTP = r"""
import base64, json, os, urllib.error, urllib.request
def call(url, auth=False, method="GET", body=None):
    req = urllib.request.Request(url, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if auth:
        user, password = os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
        token = base64.b64encode(f"{user}:{password}".encode())
        req.add_header("Authorization", "Basic " + token.decode())
    try:
        return json.load(urllib.request.urlopen(req, timeout=60))
    except urllib.error.HTTPError as err:
        return {"error": err.code}
mlflow = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow"
"""

# Reads the champion of each model from MLflow's REST API and what the serving API serves.
CHAMPIONS = r"""
out = {}
for name in NAMES:
    alias = call(f"{mlflow}/registered-models/alias?name={name}&alias=champion", auth=True)
    versions = call(f"{mlflow}/model-versions/search?filter=name%3D%27{name}%27&max_results=1000", auth=True)
    served = call(os.environ["SERVING_URL"] + f"/models/{name}")
    out[name] = {
        "champion": alias.get("model_version", {}).get("version"),
        "versions": len(versions.get("model_versions", [])),
        "served": served.get("version"),
    }
print(json.dumps(out))
"""


def champions(*names: str) -> dict[str, dict[str, Any]]:
    return in_cluster("champions", f"{HTTP}\nNAMES = {list(names)!r}\n{CHAMPIONS}")


# Deletes a registered model and its versions; a model that is not there is already gone.
DELETE_MODEL = r"""
result = call(f"{mlflow}/registered-models/delete", auth=True, method="DELETE", body={"name": NAME})
assert result.get("error") in (None, 404), result
print(json.dumps({"deleted": "error" not in result}))
"""


def served_champion(name: str, timeout: float = 180) -> dict[str, Any]:
    """The champion, once the serving API serves it (it follows the alias within its poll period)."""
    deadline = time.monotonic() + timeout
    while True:
        state = champions(name)[name]
        if state["served"] == state["champion"] or time.monotonic() > deadline:
            return state
        time.sleep(10)


def load_batch(batch: str, rows: int, seed: int, drift: float, bad_rows: int = 0) -> None:
    gen = (REPO / "tests/fakes/ml_dataset.py").read_text()
    ddl = json.dumps((REPO / "images/ml-tasks/src/airyard_ml/schema.py").read_text())
    script = f"""
{gen.replace('if __name__ == "__main__":', "if False:")}
import json, os, psycopg
ns = {{}}
exec({ddl}, ns)
rows = generate({rows}, {seed}, {drift})
rows += [{{**rows[i], "label": 5}} for i in range({bad_rows})]
with psycopg.connect(os.environ["MLSP_DATABASE_URI"]) as conn, conn.cursor() as cur:
    cur.execute(ns["ML_DDL"])
    cur.executemany(
        "INSERT INTO ml.observations (batch, home_form, away_form, rest_diff, travel_km, label)"
        " VALUES (%s,%s,%s,%s,%s,%s)",
        [({batch!r}, r["home_form"], r["away_form"], r["rest_diff"], r["travel_km"], r["label"]) for r in rows])
print(json.dumps({{"rows": len(rows)}}))
"""
    assert in_cluster(f"load-{batch[-12:].replace('_', '-')}", script)["rows"] == rows + bad_rows


@pytest.fixture(scope="module")
def fake_sports_api() -> Iterator[str]:
    """The sports API fake in its own namespace, removed with it after the module."""
    kube.kubectl("create", "namespace", FAKE_NS, check=False)
    code = (REPO / "tests/fakes/sports_api.py").read_text()
    kube.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sports-api"}, "data": {"sports_api.py": code}},
        namespace=FAKE_NS,
    )
    kube.kubectl("delete", "pod", "sports-api", "-n", FAKE_NS, "--ignore-not-found", "--wait=true")
    pod = kube.pod(
        "sports-api",
        ["python3", "/fake/sports_api.py", "--port", "8080"],
        restart="Always",
        volumes=[{"name": "fake", "configMap": {"name": "sports-api"}}],
        mounts=[{"name": "fake", "mountPath": "/fake"}],
        ports=[8080],
        labels={"app": "sports-api", **kube.FAKE},
    )
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "sports-api"},
        "spec": {"selector": {"app": "sports-api"}, "ports": [{"port": 8080, "targetPort": 8080}]},
    }
    kube.apply(pod, service, namespace=FAKE_NS)
    kube.wait_pod_phase("sports-api", FAKE_NS, {"Running"})
    yield f"http://sports-api.{FAKE_NS}.svc:8080"
    kube.kubectl("delete", "namespace", FAKE_NS, "--wait=false", check=False)


@pytest.fixture(scope="module")
def connections(fake_sports_api: str) -> Iterator[None]:
    """External connections, the way users add them: keys of airyard-airflow-external-connections."""
    values = {
        "AIRFLOW_CONN_SPORTS_API": json.dumps({"conn_type": "http", "host": fake_sports_api}),
        "AIRFLOW_CONN_BACKEND_API": json.dumps(
            {"conn_type": "http", "host": f"http://{REL}-model-serving.{NS}.svc:8000"}
        ),
    }
    with kube.secret_keys(f"{REL}-airflow-external-connections", airflow.TASKS_NAMESPACE, values):
        yield


@pytest.fixture(scope="module")
def af(connections: None) -> Any:
    with airflow.connect() as client:
        yield client


def run_dag(af: airflow.Airflow, dag_id: str, conf: dict[str, Any]) -> tuple[str, dict]:
    run_id, run = af.run_dag(dag_id, conf)
    states = af.task_states(dag_id, run_id)
    assert run["state"] == "success", f"{dag_id} {run_id}: {states}"
    return run_id, states


def test_scraper_loads_valid_games_and_quarantines_the_rest(af: airflow.Airflow) -> None:
    run_id, _ = run_dag(af, "sports_data_scraper", {"start": START.isoformat(), "end": END.isoformat()})
    counts = in_cluster(
        "games",
        f"""
import json, os, psycopg
with psycopg.connect(os.environ["MLSP_DATABASE_URI"]) as conn:
    games = dict(conn.execute("SELECT league, count(*) FROM sports.games"
                              " WHERE game_date >= %s AND game_date < %s::date + 1 GROUP BY league",
                              ("{START}", "{END}")).fetchall())
    quarantined = dict(conn.execute("SELECT league, count(*) FROM sports.quarantine WHERE run_id = %s GROUP BY league",
                                    ({run_id!r},)).fetchall())
print(json.dumps({{"games": games, "quarantined": quarantined}}))
""",
    )
    for league in LEAGUES:
        want = sports_api.expected(league, START, END)
        assert counts["games"][league] == want["valid"], (league, counts)
        assert counts["quarantined"][league] == want["quarantined"], (league, counts)


def test_training_registers_one_version_per_league_and_serves_champions(af: airflow.Airflow) -> None:
    names = [f"sports-{league}" for league in LEAGUES]
    before = champions(*names)
    run_dag(af, "ml_model_training", {})
    after = champions(*names)
    for name in names:
        assert after[name]["versions"] == before[name]["versions"] + 1, (name, before, after)
        assert after[name]["champion"] is not None
        assert after[name]["served"] == after[name]["champion"], (name, after)


def test_ml_pipeline_guards_the_champion_and_retrains_on_drift(af: airflow.Airflow) -> None:
    # 0. Start as a fresh install does, without a model: drift is measured against the champion's
    # training data, and an earlier session's champion was trained on its drifted batch. A retraining
    # run it triggered while the DAG was paused would also run at the unpause below.
    in_cluster("delete-model", f"{HTTP}\nNAME = {MODEL!r}\n{DELETE_MODEL}")
    af.drop_runs("model_retraining_dag", run_type=None, watch=0)

    # 1. First batch: no champion to drift from, so this one is deployed and served.
    load_batch(f"e2e-{SUFFIX}-a", 600, seed=11, drift=0.0, bad_rows=3)
    _, states = run_dag(af, "ml_pipeline_dag", {"batches": [f"e2e-{SUFFIX}-a"]})
    assert states["trigger_retraining"] == "skipped"
    first = served_champion(MODEL)
    assert first["champion"] is not None
    assert first["served"] == first["champion"], first

    # 2. Undrifted data, a model that learnt nothing: not deployed, champion and serving unchanged.
    load_batch(f"e2e-{SUFFIX}-b", 600, seed=12, drift=0.0)
    _, states = run_dag(af, "ml_pipeline_dag", {"batches": [f"e2e-{SUFFIX}-b"], "shuffle_labels": True})
    assert states["keep_champion"] == "success", states
    assert states["deploy"] == "skipped"
    assert states["trigger_retraining"] == "skipped"
    assert served_champion(MODEL) == {**first, "versions": first["versions"] + 1}

    # 3. Drifted data: retraining is triggered, and its better model is deployed and served.
    # The triggered DAG must be unpaused to run, as a user enables the pair (new DAGs start paused).
    load_batch(f"e2e-{SUFFIX}-c", 600, seed=13, drift=1.0)
    af.set_paused("model_retraining_dag", False)
    try:
        _, states = run_dag(af, "ml_pipeline_dag", {"batches": [f"e2e-{SUFFIX}-c"]})
        assert states["trigger_retraining"] == "success", states
        runs = af.request("GET", "/dags/model_retraining_dag/dagRuns", params={"order_by": "-start_date", "limit": 1})
        retraining = runs["dag_runs"][0]
        run = af.wait_for_run("model_retraining_dag", retraining["dag_run_id"], timeout=1500)
    finally:
        af.set_paused("model_retraining_dag", True)
    states = af.task_states("model_retraining_dag", retraining["dag_run_id"])
    assert run["state"] == "success", states
    assert states["deploy_new_model"] == "success", states
    assert states["rollback_model"] == "skipped"
    second = served_champion(MODEL)
    assert second["champion"] != first["champion"]
    assert second["served"] == second["champion"], second

    # 4. Rollback drill: a worse retrained model is not deployed; the backed-up champion keeps serving.
    _, states = run_dag(af, "model_retraining_dag", {"batches": [f"e2e-{SUFFIX}-c"], "shuffle_labels": True})
    assert states["rollback_model"] == "success", states
    assert states["deploy_new_model"] == "skipped"
    third = served_champion(MODEL)
    assert third["champion"] == second["champion"]
    assert third["served"] == second["champion"], third
