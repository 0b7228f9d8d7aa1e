"""Harmful-domain ingestion: feed parsers, Kafka producer, bronze/silver/gold lake and its monitoring."""

#: The pipeline's name in the platform's metrics (airyard.metrics).
PIPELINE = "domains"
