"""Keep a cached Keras model fast across Streamlit reruns.

After every script run Streamlit calls `keras.backend.clear_session()` (in
`script_runner._clean_problem_modules`, for apps that build a model on each run; there is
no option to turn it off). With TensorFlow that also empties the eager kernel cache, so
the next reading re-instantiates the model's compiled functions: measured here at ~135 ms
on an idle machine and 250-450 ms on a busy one, against ~10-20 ms for a warm reading.
The app builds no model per run (it loads each version once with st.cache_resource), so
in the app's process that reset only costs time: `keep_keras_session` makes it a no-op.
"""

from __future__ import annotations

import keras

_MARK = "_htr_kept_session"


def _skip_clear_session(*args: object, **kwargs: object) -> None:
    """Stand-in for keras.backend.clear_session in the app process: keep kernels warm."""


setattr(_skip_clear_session, _MARK, True)


def keep_keras_session() -> None:
    """Turn keras.backend.clear_session into a no-op in this process (idempotent)."""
    if not getattr(keras.backend.clear_session, _MARK, False):
        keras.backend.clear_session = _skip_clear_session


def session_kept() -> bool:
    """Whether keep_keras_session is in effect."""
    return bool(getattr(keras.backend.clear_session, _MARK, False))
