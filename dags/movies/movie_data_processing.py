"""movie_data_processing: Kafka -> Spark -> MongoDB once a day.

Each stage is a SparkApplication of airyard/movies-spark (pool spark): clean and de-duplicate movies
and people, review sentiment (offline lexicon), analytics; then retention clean-up in a pod.
Variables: enable_sentiment_analysis (default true), data_retention_days (default 30).
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
from airyard.movies.operators import DEFAULT_ARGS, SparkProcessOperator, cleanup_operator
from airyard.spark.operators import SparkClusterCheckOperator

with DAG(
    dag_id="movie_data_processing",
    description="Process raw movie data with Spark and write results to MongoDB",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["movies", "processing", "spark"],
):
    start = EmptyOperator(task_id="start_processing")
    check = SparkClusterCheckOperator(task_id="check_spark_cluster")
    movies = SparkProcessOperator(task_id="process_movie_data", stage="movies")
    sentiment = SparkProcessOperator(
        task_id="analyze_sentiment",
        stage="sentiment",
        enabled="{{ var.value.get('enable_sentiment_analysis', 'true') }}",
    )
    # Analytics also runs when sentiment analysis is switched off (skipped).
    analytics = SparkProcessOperator(task_id="generate_analytics", stage="analytics", trigger_rule="none_failed")
    cleanup = cleanup_operator(task_id="cleanup_old_data", days="{{ var.value.get('data_retention_days', 30) }}")
    end = EmptyOperator(task_id="end_processing")

    start >> check >> movies >> sentiment >> analytics >> cleanup >> end
