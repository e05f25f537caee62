"""jianfu's orchestration layer: Prefect flows, deployments and the CLI commands that run them.

The engine (:mod:`jianfu`) never imports Prefect. Each flow here runs the engine's own pipeline
(:mod:`jianfu.workflow`) with an executor that makes every step a Prefect task
(:class:`jianfu_flows.steps.PrefectSteps`); the top-level ``flows/`` folder holds the entry points
that deployments reference.
"""
