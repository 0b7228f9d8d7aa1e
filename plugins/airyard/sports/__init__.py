"""Sports statistics: scraping ESPN-style scoreboards, validating games, loading them into PostgreSQL.

Standard library only (plus a DB-API connection), so Airflow workers run it without the model stack.
"""

#: The pipeline's name in the platform's metrics (airyard.metrics).
PIPELINE = "sports"
