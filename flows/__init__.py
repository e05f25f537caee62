"""Entry points of the Prefect flows (deployments reference ``flows/<name>.py:<flow>``)."""
