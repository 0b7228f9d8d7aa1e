"""Weather ingestion: current weather for the locations in users' preferences, landed raw by date."""

#: The pipeline's name in the platform's metrics (airyard.metrics).
PIPELINE = "weather"
