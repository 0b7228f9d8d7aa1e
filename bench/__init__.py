"""`make bench`: benchmarks of the platform on the kind cluster; figures, never pass/fail tests.

Each part measures one thing, prints a table and merges its section into reports/bench.json:

    .venv/bin/python -m bench [latency|throughput|cost|data|spark|report ...]

latency     50 no-op tasks, queued->running->success, ours and the official chart's defaults
throughput  200 mapped no-op tasks: wall time, tasks per minute, the parallelism in use
cost        `make up` time, image sizes, idle CPU and memory per component, DAG parse times
data        records per second, fake TMDB -> Kafka -> Spark -> MongoDB (the movie pipeline's code)
spark       a Spark job on 1 million rows
report      print the tables of reports/bench.json again
"""
