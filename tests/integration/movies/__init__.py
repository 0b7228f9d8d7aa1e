"""Integration tests of the movie pipeline against real Kafka, MongoDB and Redis."""
