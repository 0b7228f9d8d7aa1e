"""Fakes of external APIs the platform cannot reach in tests, in their real formats (stdlib only)."""
