"""Set-up and check tasks the airyard charts run in-cluster (secrets, topics, buckets, users)."""
