"""charts/mlflow on the kind cluster, on the postgresql and objectstore charts of the same release.

The clients are real: the MLflow client of the airyard/mlflow image, in a pod that carries the
client label and holds only the tracking connection Secret (no database or S3 credentials), logs a
run, registers two model versions and moves the `champion` alias forward and back; boto3 in a
toolbox pod checks that the artifacts landed in the object store.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devkit import kube

RELEASE = "ml"
FULLNAME = f"{RELEASE}-mlflow"
# An MLflow client: MLflow answers artifacts with presigned URLs of the object store, which the
# client then uses itself, so it is the store's client too (as the platform's model-serving is).
CLIENT_LABEL = {"airyard.io/mlflow-client": "true", "airyard.io/objectstore-client": "true"}
MODEL = "e2e-model"
POSTGRESQL = {"databases": [{"name": "mlflow", "user": "mlflow"}], "persistence": {"size": "1Gi"}}
OBJECTSTORE = {"buckets": ["mlflow"], "users": [{"name": "mlflow", "bucket": "mlflow"}], "persistence": {"size": "1Gi"}}

# Runs in a pod of the mlflow image. It records what the server answered (it does not assert), so
# the test asserts on every observation with a readable failure.
TRACK_AND_PROMOTE = r"""
import base64, json, os, tempfile, urllib.error, urllib.request
import mlflow
from mlflow import MlflowClient

MODEL = os.environ["MODEL"]
seen = {}

def status(user, password):
    url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/experiments/search?max_results=1"
    request = urllib.request.Request(url)
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    try:
        return urllib.request.urlopen(request, timeout=30).status
    except urllib.error.HTTPError as err:
        return err.code

seen["anonymous"] = status(None, None)
seen["wrong_password"] = status(os.environ["MLFLOW_TRACKING_USERNAME"], "not-the-password")
seen["admin"] = status(os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"])

class Constant(mlflow.pyfunc.PythonModel):
    def __init__(self, value):
        self.value = value
    def predict(self, context, model_input, params=None):
        return [self.value] * len(model_input)

def log_version(value):
    with mlflow.start_run(run_name=f"train-{value}") as run:
        mlflow.log_param("value", value)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Constant(value), registered_model_name=MODEL,
            pip_requirements=["mlflow==3.17.2"],
        )
    return info.registered_model_version, run.info.run_id

def champion():
    version = client.get_model_version_by_alias(MODEL, "champion").version
    prediction = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion").predict([[0]])[0]
    return {"version": str(version), "prediction": int(prediction)}

mlflow.set_experiment("e2e")
with mlflow.start_run(run_name="tracking") as run:
    mlflow.log_params({"learning_rate": 0.01, "epochs": 3})
    for step, loss in enumerate([0.9, 0.5, 0.25]):
        mlflow.log_metric("loss", loss, step=step)
    mlflow.log_text("hello from the cluster\n", "notes/hello.txt")
client = MlflowClient()
logged = client.get_run(run.info.run_id)
seen["run_id"] = run.info.run_id
seen["artifact_uri"] = logged.info.artifact_uri
seen["params"] = logged.data.params
seen["loss_history"] = [m.value for m in client.get_metric_history(run.info.run_id, "loss")]
seen["artifacts"] = [f.path for f in client.list_artifacts(run.info.run_id, "notes")]
with tempfile.TemporaryDirectory() as tmp:
    path = client.download_artifacts(run.info.run_id, "notes/hello.txt", tmp)
    seen["artifact_text"] = open(path).read()

# Champion/challenger: v1 is champion; v2 comes in as challenger and is promoted, keeping the old
# champion as previous-champion; then the promotion is rolled back.
v1, _ = log_version(1)
client.set_registered_model_alias(MODEL, "champion", v1)
seen["first_champion"] = champion()
v2, _ = log_version(2)
client.set_registered_model_alias(MODEL, "challenger", v2)
seen["challenger"] = str(client.get_model_version_by_alias(MODEL, "challenger").version)
old_champion = client.get_model_version_by_alias(MODEL, "champion").version
client.set_registered_model_alias(MODEL, "previous-champion", old_champion)
client.set_registered_model_alias(MODEL, "champion", v2)
client.delete_registered_model_alias(MODEL, "challenger")
seen["promoted_champion"] = champion()
previous = client.get_model_version_by_alias(MODEL, "previous-champion").version
client.set_registered_model_alias(MODEL, "champion", previous)
client.delete_registered_model_alias(MODEL, "previous-champion")
seen["rolled_back_champion"] = champion()
seen["aliases"] = client.get_registered_model(MODEL).aliases
seen["versions"] = sorted(str(v.version) for v in client.search_model_versions(f"name='{MODEL}'"))
print(json.dumps(seen))
"""

# After the server restarts: everything must come back from PostgreSQL and the object store.
READ_BACK = r"""
import json, os, tempfile
import mlflow
from mlflow import MlflowClient

client = MlflowClient()
run = client.get_run(os.environ["RUN_ID"])
with tempfile.TemporaryDirectory() as tmp:
    text = open(client.download_artifacts(run.info.run_id, "notes/hello.txt", tmp)).read()
model = os.environ["MODEL"]
print(json.dumps({
    "params": run.data.params,
    "artifact_text": text,
    "aliases": client.get_registered_model(model).aliases,
    "prediction": int(mlflow.pyfunc.load_model(f"models:/{model}@champion").predict([[0]])[0]),
}))
"""

# In a toolbox pod with the object store user of MLflow: what the artifact proxy wrote.
LIST_BUCKET = r"""
import json, os
import boto3
from botocore.config import Config
s3 = boto3.client(
    "s3", endpoint_url=os.environ["ENDPOINT"], region_name=os.environ["REGION"],
    aws_access_key_id=os.environ["ACCESS_KEY"], aws_secret_access_key=os.environ["SECRET_KEY"],
    config=Config(s3={"addressing_style": "path"}),
)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mlflow").get("Contents", [])]
print(json.dumps(keys))
"""


def secret_env(secret: str, keys: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}} for env, key in keys.items()]


def tracking_env() -> list[dict[str, Any]]:
    keys = {
        "MLFLOW_TRACKING_URI": "tracking-uri",
        "MLFLOW_TRACKING_USERNAME": "username",
        "MLFLOW_TRACKING_PASSWORD": "password",
    }
    return [*secret_env(f"{FULLNAME}-connection", keys), {"name": "MODEL", "value": MODEL}]


def last_json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])


def server_pod(namespace: str) -> dict[str, Any]:
    pods = kube.get("pods", namespace=namespace)["items"]
    (pod,) = [
        p
        for p in pods
        if p["metadata"]["labels"].get("app.kubernetes.io/name") == "mlflow"
        and p["metadata"]["labels"].get("app.kubernetes.io/component") != "secrets"
        and p["metadata"].get("deletionTimestamp") is None
    ]
    return pod


def anon_bytes(namespace: str, pod: str) -> int:
    """Process memory without the page cache: `anon` in cgroup v2's memory.stat, `total_rss` in v1's."""
    script = "cat /sys/fs/cgroup/memory.stat 2>/dev/null || cat /sys/fs/cgroup/memory/memory.stat"
    stat = dict(
        line.split()
        for line in kube.kubectl("exec", "-n", namespace, pod, "-c", "mlflow", "--", "sh", "-c", script).splitlines()
    )
    return int(stat.get("anon", stat.get("total_rss", "0")))


def wait_jobs_complete(namespace: str, component: str) -> None:
    kube.kubectl(
        "wait", "-n", namespace, "--for=condition=complete", "job", "-l", f"app.kubernetes.io/component={component}",
        "--timeout=300s",
    )  # fmt: skip


def install_stack(namespace: str) -> None:
    """PostgreSQL and the object store side by side, each set up, then MLflow on its defaults.

    Helm wants one release per chart in a namespace: releases named <release>-<chart> get the same
    object names as the umbrella's subcharts of <release>, which is what MLflow's defaults expect.
    """
    with ThreadPoolExecutor(2) as pool:
        done = [
            pool.submit(kube.helm_install, "postgresql", f"{RELEASE}-postgresql", namespace, POSTGRESQL),
            pool.submit(kube.helm_install, "objectstore", f"{RELEASE}-objectstore", namespace, OBJECTSTORE),
        ]
        for future in done:
            future.result()
    wait_jobs_complete(namespace, "databases")
    wait_jobs_complete(namespace, "setup")
    kube.helm_install("mlflow", RELEASE, namespace)


def test_runs_artifacts_registry_and_champion_rollback(namespace: str) -> None:
    install_stack(namespace)
    pod = server_pod(namespace)
    name = pod["metadata"]["name"]
    time.sleep(20)  # let start-up work (migrations, first imports) settle before calling it idle
    idle = kube.memory_bytes(namespace, name, "mlflow")
    print(
        f"\nmlflow Ready {kube.seconds_to_ready(pod):.0f} s after its pod was created; idle memory "
        f"{idle / 2**20:.0f} MiB ({anon_bytes(namespace, name) / 2**20:.0f} MiB without page cache)"
    )
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    assert idle < 1024 * 2**20, "idle above the memory limit's reach"

    connection = kube.get("secret", f"{FULLNAME}-connection", namespace)["data"]
    assert set(connection) == {"tracking-uri", "username", "password"}
    assert kube.secret_value(f"{FULLNAME}-connection", "tracking-uri", namespace) == (
        f"http://{FULLNAME}.{namespace}.svc:5000"
    )
    password = kube.secret_value(f"{FULLNAME}-connection", "password", namespace)
    assert password == kube.secret_value(f"{FULLNAME}-auth", "admin-password", namespace)

    out = kube.run_script(
        namespace, "mlflow-client", TRACK_AND_PROMOTE, labels=CLIENT_LABEL, env=tracking_env(),
        image_name="mlflow", timeout=600,
    )  # fmt: skip
    seen = last_json(out)
    # basic-auth guards the API.
    assert (seen["anonymous"], seen["wrong_password"], seen["admin"]) == (401, 401, 200)
    # Tracking: params, metric history and an artifact through the proxy (the pod has no S3 keys).
    assert seen["params"] == {"learning_rate": "0.01", "epochs": "3"}
    assert seen["loss_history"] == [0.9, 0.5, 0.25]
    assert seen["artifact_uri"].startswith("mlflow-artifacts:/")
    assert seen["artifacts"] == ["notes/hello.txt"]
    assert seen["artifact_text"] == "hello from the cluster\n"
    # Registry: champion v1, v2 promoted, rolled back to v1; the served model follows the alias.
    assert seen["versions"] == ["1", "2"]
    assert seen["first_champion"] == {"version": "1", "prediction": 1}
    assert seen["challenger"] == "2"
    assert seen["promoted_champion"] == {"version": "2", "prediction": 2}
    assert seen["rolled_back_champion"] == {"version": "1", "prediction": 1}
    assert seen["aliases"] == {"champion": "1"}

    # The proxy wrote to the object store bucket, under the run's id.
    store_env = secret_env(
        f"{RELEASE}-objectstore-user-mlflow",
        {"ENDPOINT": "endpoint", "REGION": "region", "ACCESS_KEY": "access-key", "SECRET_KEY": "secret-key"},
    )
    keys = last_json(
        kube.run_script(
            namespace, "bucket", LIST_BUCKET, labels={"airyard.io/objectstore-client": "true"}, env=store_env
        )
    )
    assert [k for k in keys if k.endswith(f"{seen['run_id']}/artifacts/notes/hello.txt")], keys
    assert [k for k in keys if k.endswith("/MLmodel")], keys

    busy = kube.memory_bytes(namespace, name, "mlflow")
    print(f"mlflow memory after the client's work {busy / 2**20:.0f} MiB")

    # The server holds no state: a new pod serves the same runs, artifacts and aliases.
    kube.kubectl("delete", "pod", name, "-n", namespace)
    kube.kubectl("rollout", "status", f"deployment/{FULLNAME}", "-n", namespace, "--timeout=300s")
    env = [*tracking_env(), {"name": "RUN_ID", "value": seen["run_id"]}]
    after = last_json(
        kube.run_script(
            namespace, "mlflow-reader", READ_BACK, labels=CLIENT_LABEL, env=env, image_name="mlflow", timeout=600
        )
    )
    assert after == {
        "params": {"learning_rate": "0.01", "epochs": "3"},
        "artifact_text": "hello from the cluster\n",
        "aliases": {"champion": "1"},
        "prediction": 1,
    }
    # The generated admin password was not rolled by the restart (it is read from the same Secret).
    assert kube.secret_value(f"{FULLNAME}-connection", "password", namespace) == password
