"""HTML comparison report rendered from the results files (never from hand-typed numbers)."""
from .render import render_report, results_markdown, update_cards, update_readme

__all__ = ["render_report", "results_markdown", "update_readme", "update_cards"]
