"""monitoring_dag (Airflow): every 15 minutes, infrastructure (Kafka, the lake's Spark job) and data quality
(bronze < 30, silver < 60, gold < 120 minutes since their last commit) checks; collect_metrics
gathers the results and alert_on_failure alerts (airyard.alerts) and fails the run when any failed.
"""

from __future__ import annotations

from airyard.domains.dags import monitoring_dag

dag = monitoring_dag("monitoring_dag")
