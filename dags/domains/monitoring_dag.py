"""monitoring_dag (Airflow): every 15 minutes, infrastructure (Kafka, the lake's Spark job) and data quality
(bronze < 30, silver < 60, gold < 120 minutes since their last commit) checks; collect_metrics
gathers the results and alert_on_failure alerts (airyard.alerts) and fails the run when any failed.
"""

from __future__ import annotations

# Tasks here declare their services (airyard.services) as a pod_override of their worker pod:
# naming the provider's Spark operator module (the lake build subclasses it) makes the DAG
# processor import it and the Kubernetes models once, in its manager (parsing_pre_import_modules),
# instead of in every parse of this file.
import airflow.providers.cncf.kubernetes.operators.spark_kubernetes  # noqa: F401
from airyard.domains.dags import monitoring_dag

dag = monitoring_dag("monitoring_dag")
