"""Steps of airyard's ML pipelines that need the model stack; run as `python -m airyard_ml <step>`."""
