"""The Streamlit canvas app's parts: model catalogue, image intake, view helpers, feedback."""

from pipeline.app import catalogue, feedback, intake, runtime, view

__all__ = ["catalogue", "feedback", "intake", "runtime", "view"]
