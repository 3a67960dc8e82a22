"""Benchmarking: the results schema every notebook writes, timing helpers, and the notebook runner."""
from .results import ResultsWriter, environment, load_results
from .timing import Timer, throughput

__all__ = ["ResultsWriter", "Timer", "environment", "load_results", "throughput"]
