"""jianfu (减负): survey analytics for the wellbeing of grassroots cadres.

The engine is a set of pure functions over DataFrames; Prefect flows in ``flows/`` wire
them together. Nothing in this package imports Prefect.
"""

__version__ = "0.1.0"
