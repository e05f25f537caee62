"""Exports for researchers who take the results further: labelled datasets and Word tables."""
