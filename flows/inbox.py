"""Entry point that Prefect deployments reference (``flows/inbox.py:inbox``).

The flow itself lives in :mod:`jianfu_flows.inbox`.
"""

from jianfu_flows.inbox import inbox

__all__ = ["inbox"]
