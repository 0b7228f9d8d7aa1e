"""Weather ingestion: current weather for the locations in users' preferences, landed raw by date."""
