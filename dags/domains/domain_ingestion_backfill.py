"""domain_ingestion_backfill: the 15-minute ingestion's daily twin, for backfills over date ranges.

`airflow backfill create --dag-id domain_ingestion_backfill --from-date … --to-date …` (or the REST
API's /backfills) runs one ingestion per day with the day as its data interval, then one lake
build, instead of 96 ingestions and 96 lake builds. Event ids derive from (source,
interval, domain) and the lake merges on them, and silver keeps first/last seen from the
intervals, so re-running a range changes nothing and silver/gold match what the regular runs build.
Backfills are explicit: a backfill needs the DAG unpaused, and the daily runs the scheduler then
starts by itself end at their first task (skip_scheduled_run) without ingesting anything.
"""

from __future__ import annotations

# Tasks here declare their services (airyard.services) as a pod_override of their worker pod:
# naming the provider's Spark operator module (the lake build subclasses it) makes the DAG
# processor import it and the Kubernetes models once, in its manager (parsing_pre_import_modules),
# instead of in every parse of this file.
import airflow.providers.cncf.kubernetes.operators.spark_kubernetes  # noqa: F401
from airyard.domains.dags import ingestion_dag

dag = ingestion_dag("domain_ingestion_backfill", "@daily", __doc__, backfill_only=True)
