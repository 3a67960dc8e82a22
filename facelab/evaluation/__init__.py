"""Bottom layer: what several stages measure with (results files, timing, verification metrics, split protocols).

Nothing here imports a stage, the pipeline, bench, report or the CLI.
"""
from .results import ResultsProblem, ResultsWriter, environment, load_results, read_results, read_run_history
from .timing import Timer, throughput

__all__ = ["ResultsProblem", "ResultsWriter", "Timer", "environment", "load_results", "read_results",
           "read_run_history", "throughput"]
