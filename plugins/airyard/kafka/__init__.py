"""Kafka for the platform's pipelines: Airflow-free client calls (``client``, also used in task pods
and Spark jobs), the hook over the official provider's (``hooks``) and the health check (``operators``)."""
