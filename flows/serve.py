"""Schedules and deployments, kept importable as ``flows.serve``; they live in :mod:`jianfu_flows.serve`."""

from jianfu_flows.serve import SCHEDULES, Schedules, deploy_to_pool, deployments, load_schedules

__all__ = ["SCHEDULES", "Schedules", "deploy_to_pool", "deployments", "load_schedules"]
