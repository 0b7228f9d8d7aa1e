"""movie_data_ingestion: TMDB -> Kafka every hour (trending and popular movies, people, details).

Extraction runs in pods of airyard/movies (pool tmdb_api); records are keyed by TMDB id, invalid
ones go to movies.deadletter with the reason. Variable: max_popular_pages (default 3).
"""

from __future__ import annotations

# airyard.movies.operators defines KubernetesPodOperators and SparkKubernetesOperators: naming the
# provider's Spark module here (it imports the pod operator's) makes the DAG processor import them
# once, in its manager (parsing_pre_import_modules), instead of in every parse of this file
# (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.spark_kubernetes  # noqa: F401
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airyard.kafka.operators import KafkaHealthCheckOperator
from airyard.movies import ALL_TOPICS
from airyard.movies.operators import DEFAULT_ARGS, KAFKA, ExtractionMetricsOperator, TMDBExtractOperator

EXTRACTS = ("extract_trending_movies", "extract_popular_movies", "extract_trending_people", "extract_movie_details")

with DAG(
    dag_id="movie_data_ingestion",
    description="Extract TMDB data and stream it to Kafka",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["movies", "ingestion"],
):
    start = EmptyOperator(task_id="start_ingestion")
    kafka = KafkaHealthCheckOperator(task_id="check_kafka_health", service=KAFKA, topics=ALL_TOPICS)
    trending = TMDBExtractOperator(task_id="extract_trending_movies", extraction_type="trending_movies", pages=1)
    popular = TMDBExtractOperator(
        task_id="extract_popular_movies",
        extraction_type="popular_movies",
        pages="{{ var.value.get('max_popular_pages', 3) }}",
    )
    people = TMDBExtractOperator(task_id="extract_trending_people", extraction_type="trending_people", pages=1)
    details = TMDBExtractOperator(
        task_id="extract_movie_details",
        extraction_type="movie_details",
        movie_ids="{{ ti.xcom_pull(task_ids=['extract_trending_movies', 'extract_popular_movies']) | tojson }}",
    )
    metrics = ExtractionMetricsOperator(task_id="publish_extraction_metrics", extract_task_ids=EXTRACTS)
    end = EmptyOperator(task_id="end_ingestion")

    start >> kafka >> [trending, popular, people]
    [trending, popular] >> details
    [details, people] >> metrics >> end
