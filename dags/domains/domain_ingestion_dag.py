"""domain_ingestion_dag: harmful-domain ingestion into Kafka and the bronze/silver/gold lake, every 15 minutes.

check_kafka_health → ensure_bronze_stream (the long-running SparkApplication that streams Kafka
into bronze) and run_full_ingestion (IngestionOperator: feeds of sources.yaml → Kafka, in a pod
of the airflow image) → build_lake (a SparkApplication: silver and gold Delta tables, once bronze
holds what was produced) → send_success_notification. Shapes in airyard.domains.dags.

Every 15 minutes rather than the seed's hourly: monitoring_dag wants bronze younger than 30
minutes, which only feeds polled more often than that can keep true.
"""

from __future__ import annotations

# Tasks here declare their services (airyard.services) as a pod_override of their worker pod:
# naming the provider's Spark operator module (the lake build subclasses it) makes the DAG
# processor import it and the Kubernetes models once, in its manager (parsing_pre_import_modules),
# instead of in every parse of this file.
import airflow.providers.cncf.kubernetes.operators.spark_kubernetes  # noqa: F401
from airyard.domains.dags import ingestion_dag

dag = ingestion_dag("domain_ingestion_dag", "*/15 * * * *", __doc__)
