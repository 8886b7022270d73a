"""The top layer: command line, reports, benchmarks and the pytest plugin."""
