"""walkaway benchmarks: `make bench` runs :mod:`benchmarks.run`."""
