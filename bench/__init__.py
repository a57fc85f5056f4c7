"""Benchmarks: each figure is measured next to its raw baseline in the same run."""
