"""The domain and weather pipelines' outside world on the cluster, shared by their e2e tests and
`make soak`: the fake threat feeds, weather API and alert webhook (tests/fakes, stdlib) in a toolbox
pod behind a Service in the release namespace, their URLs and the API key as external
connections (keys added to, then removed from, airyard-airflow-external-connections), and a
reader of the Delta lake (local Spark in a pod of airyard/domains-spark with the domains user).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from devkit import kube

NS, REL = "airyard", "airyard"
FAKES = "domains-fakes"
EXTERNAL = f"{REL}-airflow-external-connections"
WEATHER_KEY = "e2e-weather-key"
CONNECTIONS = {
    "AIRFLOW_CONN_THREAT_FEEDS": f"http://{FAKES}.{NS}.svc:8080",
    "AIRFLOW_CONN_WEATHER_API": json.dumps(
        {"conn_type": "http", "host": f"http://{FAKES}.{NS}.svc:8081", "password": WEATHER_KEY}
    ),
    "AIRFLOW_CONN_DOMAINS_ALERTS": json.dumps(
        {"conn_type": "slackwebhook", "host": f"http://{FAKES}.{NS}.svc:8080/hooks", "password": "domains"}
    ),
}
CLIENT = {f"airyard.io/{s}-client": "true" for s in ("kafka", "objectstore", "mongodb")}


def user_env(user: str) -> list[dict]:
    secret = f"{REL}-objectstore-user-{user}"
    keys = {
        "OBJECTSTORE_ENDPOINT": "endpoint",
        "AWS_ACCESS_KEY_ID": "access-key",
        "AWS_SECRET_ACCESS_KEY": "secret-key",
    }
    return [{"name": n, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}} for n, k in keys.items()]


@contextmanager
def outside_services() -> Iterator[None]:
    """The fake threat feeds, weather API and alert webhook, and the external connections to them."""
    files = {name: (kube.REPO / "tests" / "fakes" / name).read_text() for name in ("threat_feeds.py", "weather_api.py")}
    pod = kube.pod(
        FAKES,
        ["sh", "-c", f"python3 /fakes/threat_feeds.py 8080 & exec python3 /fakes/weather_api.py 8081 {WEATHER_KEY}"],
        restart="Always",
        volumes=[{"name": "fakes", "configMap": {"name": FAKES}}],
        mounts=[{"name": "fakes", "mountPath": "/fakes"}],
        ports=[8080, 8081],
        labels={"app": FAKES, **kube.FAKE},
    )
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": FAKES},
        "spec": {
            "selector": {"app": FAKES},
            "ports": [{"name": n, "port": p} for n, p in (("feeds", 8080), ("weather", 8081))],
        },
    }
    kube.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": FAKES}, "data": files},
        pod,
        service,
        namespace=NS,
    )
    kube.wait_pod_phase(FAKES, NS, {"Running"})
    with kube.secret_keys(EXTERNAL, f"{NS}-tasks", CONNECTIONS):
        yield
    kube.kubectl("delete", "pod,service,configmap", FAKES, "-n", NS, "--wait=false", check=False)


def received_alerts() -> list[dict]:
    """What the fake webhook received: {"path", "body"} per post."""
    out = kube.run_script(
        NS,
        "e2e-read-hooks",
        f"import urllib.request; print(urllib.request.urlopen('http://{FAKES}.{NS}.svc:8080/hooks/_received').read().decode())",
    )
    return json.loads(out.strip().splitlines()[-1])


LAKE_READER = """
import json, os
from pyspark.sql import SparkSession, functions as F
e = os.environ
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
    .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
    .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    .config("spark.hadoop.fs.s3a.endpoint", e["OBJECTSTORE_ENDPOINT"])
    .config("spark.hadoop.fs.s3a.path.style.access", "true")
    .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
    .config("spark.hadoop.fs.s3a.aws.credentials.provider",
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider").getOrCreate())
out = {}
for name in ("bronze", "silver", "gold/blocklist", "gold/stats"):
    df = spark.read.format("delta").load("s3a://domains/lake/" + name)
    if name == "bronze":
        out[name] = {"rows": df.count(), "events": df.select("event_id").distinct().count(),
                     "domains": sorted(r[0] for r in df.select("domain").distinct().collect())}
    else:
        out[name] = sorted(json.dumps(r.asDict(), default=str, sort_keys=True) for r in df.collect())
print("LAKE_JSON " + json.dumps(out))
"""


def read_lake(tag: str) -> dict:
    out = kube.run_script(
        NS,
        f"e2e-lake-{tag}",
        LAKE_READER,
        labels=CLIENT,
        env=user_env("domains"),
        image_name="domains-spark",
        timeout=600,
    )
    return json.loads(next(line for line in out.splitlines() if line.startswith("LAKE_JSON "))[len("LAKE_JSON ") :])
