"""Benchmarks of the hot paths, each against a reference from the same run: bench/run."""
