"""Benchmarking: run the notebooks with papermill (:mod:`.runner`). The results schema the notebooks write is
:mod:`facelab.evaluation.results`; timing helpers are :mod:`facelab.evaluation.timing`."""
from .runner import run_bench

__all__ = ["run_bench"]
