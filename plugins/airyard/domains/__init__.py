"""Harmful-domain ingestion: feed parsers, Kafka producer, bronze/silver/gold lake and its monitoring."""
