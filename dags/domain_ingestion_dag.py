"""domain_ingestion_dag: hourly harmful-domain ingestion into Kafka and the bronze/silver/gold lake.

check_kafka_health → run_full_ingestion (IngestionOperator: feeds of sources.yaml → Kafka, in a
pod of the airflow image) → build_lake (SparkApplication: bronze, silver, gold Delta tables) →
send_success_notification. Shapes in airyard.domains.dags.
"""

from __future__ import annotations

# Tasks here declare their services (airyard.services) as a pod_override of their worker pod:
# naming the provider's pod_generator makes the DAG processor import the Kubernetes models once,
# in its manager (parsing_pre_import_modules), instead of in every parse of this file.
import airflow.providers.cncf.kubernetes.pod_generator  # noqa: F401
from airyard.domains.dags import ingestion_dag

dag = ingestion_dag("domain_ingestion_dag", "0 * * * *", __doc__)
