"""Spark on the cluster: our operator chart runs PySpark jobs from airyard/spark as SparkApplications.

Each test installs the operator (release namespace = job namespace, the chart's default) into its
own namespace; the CRDs, cluster-scoped, are applied once from the chart by the module fixture.
Submissions go through the submitter Role as Airflow's worker would (kubectl --as its account).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from devkit import kube

RELEASE = "airyard"
FULL = f"{RELEASE}-spark-operator"
SUBMITTER = "airflow-worker"
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 185,
    "runAsGroup": 185,
    "fsGroup": 185,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}

WRITE_JOB = """
import sys
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.appName("e2e-squares").getOrCreate()
df = spark.range(0, 1000, numPartitions=4).withColumn("square", F.col("id") * F.col("id"))
df.write.mode("overwrite").parquet(sys.argv[1])
print("wrote", spark.read.parquet(sys.argv[1]).count(), "rows to", sys.argv[1])
spark.stop()
"""

FAIL_JOB = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("e2e-fails").getOrCreate()
spark.range(10).count()
raise RuntimeError("airyard e2e: deliberate failure 4711")
"""

CHECK = """
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
df = spark.read.parquet("/data/squares")
row = df.agg(F.count("*").alias("n"), F.sum("square").alias("s"), F.countDistinct("id").alias("d")).first()
print(f"RESULT {row.n} {row.s} {row.d} {df.rdd.getNumPartitions()}")
"""


@pytest.fixture(scope="module", autouse=True)
def crds() -> Iterator[None]:
    """The chart's CRDs, server-side applied (too large for client-side apply) when absent; removed after if ours."""
    names = [
        f"{plural}.sparkoperator.k8s.io"
        for plural in ("sparkapplications", "scheduledsparkapplications", "sparkconnects")
    ]
    # A CRD still being deleted (a previous run's clean-up) cannot be applied: wait it out.
    for n in names:
        crd = kube.kubectl("get", "crd", n, "--ignore-not-found", "-o", "jsonpath={.metadata.deletionTimestamp}")
        if crd.strip():
            kube.kubectl("wait", "--for=delete", f"crd/{n}", "--timeout=180s")
    existing = {n for n in names if kube.kubectl("get", "crd", n, "--ignore-not-found", "-o", "name").strip()}
    kube.helm("dependency", "build", "--skip-refresh", str(kube.REPO / "charts" / "spark-operator"))
    manifest = kube.helm(
        "template", "crds", str(kube.REPO / "charts" / "spark-operator"), "--show-only", "templates/crds.yaml"
    )
    # CRDs another release already installed are used as they are, never modified.
    if existing != set(names):
        kube.kubectl("apply", "--server-side", "--field-manager=airyard-e2e", "-f", "-", input=manifest)
    for n in names:
        kube.kubectl("wait", "--for=condition=Established", f"crd/{n}", "--timeout=60s")
    yield
    for n in set(names) - existing:
        kube.kubectl("delete", "crd", n, "--timeout=180s", check=False)


@pytest.fixture
def operator(namespace: str) -> Iterator[str]:
    """The operator release in the test namespace, with Airflow's worker account as submitter."""
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SUBMITTER}}, namespace=namespace)
    values = {"crds": {"install": False}, "spark": {"submitters": [{"name": SUBMITTER}]}}
    kube.helm_install("spark-operator", RELEASE, namespace, values, timeout="5m")
    yield namespace
    # The operator holds a finalizer on each application: delete them while it still runs, or the
    # namespace (and the CRDs) could never finish deleting.
    kube.kubectl("delete", "sparkapplications", "--all", "-n", namespace, "--timeout=120s", check=False)
    # Webhook configurations and the ClusterRole are cluster-scoped: the namespace's deletion would leave them.
    kube.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "3m")


def job_config_map(name: str, code: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"job.py": code}}


def spark_application(name: str, *, arguments: list[str], data_claim: str | None = None) -> dict:
    volumes = [{"name": "job", "configMap": {"name": name}}]
    mounts = [{"name": "job", "mountPath": "/opt/app"}]
    if data_claim:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": data_claim}})
        mounts.append({"name": "data", "mountPath": "/data"})
    pod = {
        "cores": 1,
        "coreRequest": "100m",
        "memory": "512m",
        "podSecurityContext": POD_SECURITY,
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": name},
        "spec": {
            "type": "Python",
            "mode": "cluster",
            "image": kube.image("spark"),
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": "local:///opt/app/job.py",
            "arguments": arguments,
            "sparkVersion": "4.0.4",
            "restartPolicy": {"type": "Never"},
            "volumes": volumes,
            "driver": {**pod, "serviceAccount": f"{FULL}-spark"},
            "executor": {**pod, "instances": 1},
        },
    }


def submit_as_airflow(app: dict, namespace: str) -> float:
    """kubectl create as Airflow's worker account; returns the submission time (monotonic).

    kube-proxy programs a new Service's rules a moment after its pod is ready (longer under load);
    until then the API server cannot reach the webhook, so that one error is retried briefly.
    """
    deadline = time.monotonic() + 90
    while True:
        started = time.monotonic()
        try:
            kube.kubectl(
                "create", "-n", namespace, f"--as=system:serviceaccount:{namespace}:{SUBMITTER}", "-f", "-",
                input=json.dumps(app),
            )  # fmt: skip
            return started
        except RuntimeError as err:
            if "failed calling webhook" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def state(name: str, namespace: str) -> str:
    app = kube.get("sparkapplication", name, namespace)
    return app.get("status", {}).get("applicationState", {}).get("state", "")


def wait_state(name: str, namespace: str, timeout: float = 600) -> str:
    kube.wait_until(
        f"SparkApplication {name} to finish", lambda: state(name, namespace) in {"COMPLETED", "FAILED"}, timeout
    )
    return state(name, namespace)


def seconds_to_driver_running(name: str, namespace: str, submitted: float) -> float:
    kube.wait_until(
        f"driver of {name} running",
        lambda: kube.pod_phase(f"{name}-driver", namespace) in {"Running", "Succeeded", "Failed"},
        timeout=300,
        interval=0.5,
    )
    return time.monotonic() - submitted


def controller_memory_mib(namespace: str) -> float:
    """Resident memory of the controller container's processes (cgroup files differ between v1 and v2)."""
    out = kube.kubectl("exec", "-n", namespace, f"deploy/{FULL}-controller", "--", "ps", "-eo", "rss=")
    return sum(int(kib) for kib in out.split()) / 1024


def test_pyspark_job_writes_parquet_that_a_checker_reads_back(operator: str, record_property) -> None:
    ns = operator
    idle = controller_memory_mib(ns)
    kube.apply(
        job_config_map("squares", WRITE_JOB),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "256Mi"}}},
        },
        namespace=ns,
    )
    submitted = submit_as_airflow(spark_application("squares", arguments=["/data/squares"], data_claim="data"), ns)
    startup = seconds_to_driver_running("squares", ns, submitted)
    assert wait_state("squares", ns) == "COMPLETED", kube.logs("squares-driver", ns)
    total = time.monotonic() - submitted
    # The webhook applied the spec's volumes and security context to the driver (Spark alone cannot).
    driver = kube.get("pod", "squares-driver", ns)
    assert {v["name"] for v in driver["spec"]["volumes"]} >= {"job", "data"}
    assert driver["spec"]["securityContext"]["runAsUser"] == 185

    check = kube.pod(
        "check",
        ["python3", "-c", CHECK],
        image_name="spark",
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        mounts=[{"name": "data", "mountPath": "/data"}],
    )
    kube.apply(check, namespace=ns)
    assert kube.wait_pod_phase("check", ns, {"Succeeded", "Failed"}, timeout=300) == "Succeeded", kube.logs("check", ns)
    (result,) = [line for line in kube.logs("check", ns).splitlines() if line.startswith("RESULT ")]
    rows, sum_squares, distinct, _ = (int(x) for x in result.split()[1:])
    assert (rows, distinct) == (1000, 1000)
    assert sum_squares == sum(i * i for i in range(1000))

    record_property("spark_startup_seconds", round(startup, 1))
    record_property("spark_job_seconds", round(total, 1))
    record_property("operator_controller_idle_mib", round(idle, 1))
    print(
        f"\nsubmit -> driver running {startup:.1f} s; submit -> COMPLETED {total:.1f} s; controller idle {idle:.0f} MiB"
    )


def test_failing_job_ends_failed_with_its_driver_log_kept(operator: str) -> None:
    ns = operator
    kube.apply(job_config_map("fails", FAIL_JOB), namespace=ns)
    submit_as_airflow(spark_application("fails", arguments=[]), ns)
    assert wait_state("fails", ns) == "FAILED"
    app = kube.get("sparkapplication", "fails", ns)
    assert app["status"]["driverInfo"]["podName"] == "fails-driver"
    # Read as Airflow's worker does (pods/log through the submitter Role).
    log = kube.kubectl("logs", "-n", ns, f"--as=system:serviceaccount:{ns}:{SUBMITTER}", "fails-driver")
    assert "RuntimeError: airyard e2e: deliberate failure 4711" in log


def test_submitter_may_manage_sparkapplications_and_nothing_else(operator: str) -> None:
    ns = operator
    who = f"--as=system:serviceaccount:{ns}:{SUBMITTER}"

    def can(verb: str, resource: str) -> bool:
        out = kube.kubectl("auth", "can-i", verb, resource, "-n", ns, who, check=False)
        return out.strip() == "yes"

    assert can("create", "sparkapplications.sparkoperator.k8s.io")
    assert can("watch", "sparkapplications.sparkoperator.k8s.io")
    assert can("delete", "sparkapplications.sparkoperator.k8s.io")
    assert can("get", "pods/log")
    assert can("update", "leases.coordination.k8s.io")  # one builder per job
    assert not can("create", "pods")
    assert not can("get", "secrets")
    assert not can("update", "sparkapplications/status")
