"""The movie data reference pipeline (TMDB -> Kafka -> Spark -> MongoDB).

Modules without Airflow imports (tmdb, records, sentiment, extract, store, quality) also run
in the pipeline's task pods (images/movies, images/movies-spark); hooks, operators and the
dashboard need Airflow.
"""

#: The pipeline's name in the platform's metrics (airyard.metrics).
PIPELINE = "movies"
#: Kafka topics of the pipeline (declared in charts/airyard/values.yaml under kafka.topics).
TOPIC_MOVIES = "movies.raw.movies"
TOPIC_PEOPLE = "movies.raw.people"
TOPIC_REVIEWS = "movies.raw.reviews"
TOPIC_DEADLETTER = "movies.deadletter"
TOPIC_METRICS = "movies.metrics"
RAW_TOPICS = (TOPIC_MOVIES, TOPIC_PEOPLE, TOPIC_REVIEWS)
ALL_TOPICS = (*RAW_TOPICS, TOPIC_DEADLETTER, TOPIC_METRICS)
#: The pipeline's Kafka identity (service "kafka:movies"): ACLs allow it the topics above and
#: the consumer groups starting "airyard-movies" (charts/airyard/values.yaml, kafka.auth.users).
KAFKA_CONN = "kafka_movies"
#: The pipeline's identity at each service it uses (airyard.services).
KAFKA, MONGODB = "kafka:movies", "mongodb:movies"
#: The Spark job reads the raw topics and writes the collections.
SPARK_SERVICES = (KAFKA, MONGODB)
#: Consumer group whose committed offsets mark what processing has read (Kafka lag is measured on it).
PROCESSING_GROUP = "airyard-movies-processing"
#: Prefix of the consumer groups Spark's Kafka source makes up for its reads.
SPARK_GROUP_PREFIX = "airyard-movies-spark"
#: MongoDB database and collections (indexes declared in charts/airyard/values.yaml).
DATABASE = "movies"
MOVIES = "movies"
PEOPLE = "people"
REVIEWS = "reviews"
GENRE_STATS = "genre_stats"
YEARLY_STATS = "yearly_stats"
PIPELINE_METRICS = "pipeline_metrics"
QUALITY_REPORTS = "quality_reports"
