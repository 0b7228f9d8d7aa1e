"""Unit tests of the weather ingestion."""
