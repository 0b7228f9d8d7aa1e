"""The S3-compatible object store for the platform's pipelines: Delta tables' metadata (``delta``,
Airflow-free) and their freshness check (``operators``)."""
