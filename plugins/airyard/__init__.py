"""airyard's Airflow plugins: operators, hooks and pages the reference pipelines are built from."""
