"""The pipeline stages; `run.py` alone knows their order."""
