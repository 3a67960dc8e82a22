"""Bottom layer: what several stages measure with (results files, timing, verification metrics, split protocols).

Nothing here imports a stage, the pipeline, bench, report or the CLI.
"""
from .results import ResultsWriter, environment, load_results
from .timing import Timer, throughput

__all__ = ["ResultsWriter", "Timer", "environment", "load_results", "throughput"]
