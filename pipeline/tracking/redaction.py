"""Config -> MLflow params with secrets kept out.

Params are the composed config flattened to dotted keys. A key whose name looks secret
(password, token, secret, key, credential) is dropped, and so is any value that contains
the value of a secret-looking environment variable or a URL password: the IAM password
reaches the downloader through the environment and must never land in the tracking store.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 500  # MLflow 3.17 accepts 6000, older tracking servers only 500
_SECRET_WORDS = {"password", "passwd", "pwd", "token", "secret", "key", "apikey", "credential"}
_SECRET_WORDS |= {w + "s" for w in _SECRET_WORDS}
_REDACTED = "***"
_FLAG_WORDS = {"true", "false", "none", "null", "auto"}


def _secret_env_values() -> set[str]:
    """Values of secret-named env vars, minus flags like "1" or "true" that are no secret."""
    return {
        value
        for name, value in os.environ.items()
        if len(value) >= 4 and value.lower() not in _FLAG_WORDS and _looks_secret(name)
    }


def _looks_secret(name: str) -> bool:
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(word in _SECRET_WORDS for word in words)


def strip_url_password(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or parts.password is None:
        return value
    host = parts.hostname or ""
    netloc = f"{parts.username}:{_REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _is_secret_value(value: str, secrets: set[str]) -> bool:
    """Whether `value` holds a secret (short secrets only when equal, to avoid chance hits)."""
    return any(secret in value if len(secret) >= 6 else secret == value for secret in secrets)


def redacted_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain data, with secret-looking keys and values masked."""
    secrets = _secret_env_values()

    def clean(node: Any, name: str) -> Any:
        if isinstance(node, dict):
            return {k: clean(v, str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [clean(v, name) for v in node]
        if _looks_secret(name):
            return _REDACTED
        if isinstance(node, str):
            node = strip_url_password(node)
            return _REDACTED if _is_secret_value(node, secrets) else node
        return node

    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return clean({k: v for k, v in container.items() if k != "hydra"}, "")


def flatten_params(cfg: DictConfig) -> dict[str, str]:
    """The config as dotted-key params; secrets dropped, lists as strings, values truncated."""
    params: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
            return
        text = json.dumps(node, ensure_ascii=False) if isinstance(node, list) else str(node)
        if _REDACTED in text:
            return
        if len(text) > MAX_PARAM_LENGTH:
            text = text[: MAX_PARAM_LENGTH - 3] + "..."
        params[prefix] = text

    walk(redacted_config(cfg), "")
    return params


def redacted_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags without secret-looking names or values that contain a secret."""
    secrets = _secret_env_values()
    return {
        k: v for k, v in tags.items() if not _looks_secret(k) and not _is_secret_value(v, secrets)
    }
