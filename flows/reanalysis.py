"""Entry point that Prefect deployments reference (``flows/reanalysis.py:reanalysis``).

The flow itself lives in :mod:`jianfu_flows.reanalysis`.
"""

from jianfu_flows.reanalysis import reanalysis

__all__ = ["reanalysis"]
