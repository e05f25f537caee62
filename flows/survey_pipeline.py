"""Entry point that Prefect deployments reference (``flows/survey_pipeline.py:survey_pipeline``).

The flow itself lives in :mod:`jianfu_flows.survey_pipeline`.
"""

from jianfu_flows.survey_pipeline import survey_pipeline

__all__ = ["survey_pipeline"]
