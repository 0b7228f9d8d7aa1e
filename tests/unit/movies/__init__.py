"""Unit tests of the movie pipeline library."""
