"""The one exception type for user-facing errors (bad config, missing data, bad image)."""


class HTRError(Exception):
    """An error the user can fix; stage entry points print it as one line and exit non-zero."""
