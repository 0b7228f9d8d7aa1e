"""domain_ingestion_dag: hourly harmful-domain ingestion into Kafka and the bronze/silver/gold lake.

check_kafka_health → run_full_ingestion (IngestionOperator: feeds of sources.yaml → Kafka, in a
pod of the airflow image) → build_lake (SparkApplication: bronze, silver, gold Delta tables) →
send_success_notification. Shapes in airyard.domains.dags.
"""

from __future__ import annotations

from airyard.domains.dags import ingestion_dag

dag = ingestion_dag("domain_ingestion_dag", "0 * * * *", __doc__)
