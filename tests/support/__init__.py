"""Helpers that the tests, the benchmark and the scripts share."""
