"""Handwritten text recognition pipeline: data, LMDB, CRNN+CTC training, decoders, registry."""

import os

# Telemetry off wherever the tools run (stages, tests, app), before they are imported.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
