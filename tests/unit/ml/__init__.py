"""Unit tests of the ML tasks' standard-library parts (the model stack lives in airyard/ml-tasks only)."""
