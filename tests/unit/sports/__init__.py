"""Unit tests of the sports scraper's parsing and validation."""
