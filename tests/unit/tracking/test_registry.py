"""Model registry against a real SQLite store: versions, champion alias, model listing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from pipeline import tracking
from pipeline.common.config import compose
from pipeline.common.errors import HTRError
from pipeline.tracking import registry
from tests.unit.tracking.test_tracking import build_tiny_model


@pytest.fixture
def cfg(fresh_store: Path):
    return compose(["data=tiny"], root=fresh_store)


@pytest.fixture
def logged(cfg) -> tuple[str, str]:
    """A training run with a logged tiny model: (run_id, model_uri)."""
    run_id = tracking.start_training_run(cfg, "fp-a")
    return run_id, tracking.log_keras_model(run_id, build_tiny_model())


def champion_version(cfg) -> int:
    name = registry.registered_model_name(cfg)
    return int(MlflowClient().get_model_version_by_alias(name, "champion").version)


def test_champion_moves_only_to_a_strictly_better_version(cfg, logged) -> None:
    run_id, uri = logged
    first = registry.register(cfg, run_id, uri, {"test_cer": 0.061, "test_wer": 0.2}, "fp-a")
    assert (first.version, first.is_champion, first.previous_champion) == (1, True, None)
    assert "first version" in first.reason

    worse = registry.register(cfg, run_id, uri, {"test_cer": 0.07}, "fp-a")
    assert (worse.version, worse.is_champion, worse.previous_champion) == (2, False, 1)
    assert worse.reason == (
        "version 2 is not champion: test CER 0.07 is not lower than 0.061 of champion version 1"
    )
    assert champion_version(cfg) == 1

    equal = registry.register(cfg, run_id, uri, {"test_cer": 0.061}, "fp-a")
    assert not equal.is_champion

    better = registry.register(cfg, run_id, uri, {"test_cer": 0.052}, "fp-a")
    assert (better.version, better.is_champion, better.previous_champion) == (4, True, 1)
    assert better.reason == "version 4 is champion: test CER 0.052 < 0.061 of version 1"
    assert champion_version(cfg) == 4

    tags = MlflowClient().get_model_version("htr-tiny", "1").tags
    assert float(tags["test_cer"]) == 0.061
    assert float(tags["test_wer"]) == 0.2
    assert tags["data_fingerprint"] == "fp-a"
    assert tags["data_name"] == "tiny"
    assert tags["primary_metric"] == "test_cer"


def test_a_champion_on_other_data_is_replaced_as_not_comparable(cfg, logged) -> None:
    run_id, uri = logged
    registry.register(cfg, run_id, uri, {"test_cer": 0.01}, "fp-old")
    result = registry.register(cfg, run_id, uri, {"test_cer": 0.5}, "fp-new")
    assert result.is_champion
    assert result.previous_champion == 1
    assert "test set changed" in result.reason
    assert "not comparable" in result.reason
    assert champion_version(cfg) == 2


def test_a_champion_scored_by_another_protocol_is_replaced_as_not_comparable(cfg, logged) -> None:
    run_id, uri = logged
    legacy = registry.register(cfg, run_id, uri, {"test_cer": 0.01}, "fp-a")  # no protocol
    assert MlflowClient().get_model_version("htr-tiny", "1").tags["eval_protocol"] == "stored"
    assert legacy.is_champion
    drawn = registry.register(cfg, run_id, uri, {"test_cer": 0.05}, "fp-a", protocol="as-drawn")
    assert drawn.is_champion and drawn.previous_champion == 1
    assert drawn.reason == (
        "version 2 is champion: evaluation protocol changed ('as-drawn' vs 'stored' of "
        "version 1), so test CER 0.05 is not comparable with the old champion's"
    )
    # the same protocol compares numbers again
    worse = registry.register(cfg, run_id, uri, {"test_cer": 0.06}, "fp-a", protocol="as-drawn")
    assert not worse.is_champion and "not lower than 0.05" in worse.reason
    assert champion_version(cfg) == 2


def test_other_primary_metric_and_missing_metric(cfg, logged) -> None:
    run_id, uri = logged
    registry.register(cfg, run_id, uri, {"test_wer": 0.3}, "fp-a", primary_metric="test_wer")
    result = registry.register(
        cfg, run_id, uri, {"test_wer": 0.2}, "fp-a", primary_metric="test_wer"
    )
    assert result.is_champion
    assert "test WER 0.2 < 0.3" in result.reason
    with pytest.raises(HTRError, match="test_cer"):
        registry.register(cfg, run_id, uri, {"test_wer": 0.1}, "fp-a")


def test_a_non_finite_metric_never_becomes_champion(cfg, logged) -> None:
    run_id, uri = logged
    result = registry.register(cfg, run_id, uri, {"test_cer": float("nan")}, "fp-a")
    assert not result.is_champion
    with pytest.raises(HTRError, match="alias"):
        registry.resolve_model_uri("htr-tiny", "champion")


def test_list_models_shows_versions_aliases_and_metrics(cfg, logged, tmp_path: Path) -> None:
    assert registry.list_models(f"sqlite:///{tmp_path}/absent.db") == []
    run_id, uri = logged
    registry.register(cfg, run_id, uri, {"test_cer": 0.1, "test_word_accuracy": 0.8}, "fp-a")
    registry.register(cfg, run_id, uri, {"test_cer": 0.05, "test_word_accuracy": 0.9}, "fp-a")
    other = compose(["data=tiny", "data.name=other"], root=tmp_path)
    registry.register(other, run_id, uri, {"test_cer": 0.3}, "fp-b")

    models = {m.name: m for m in registry.list_models(tracking.tracking_uri_for(cfg))}
    assert sorted(models) == ["htr-other", "htr-tiny"]
    tiny = models["htr-tiny"]
    assert tiny.aliases == {"champion": 2}
    assert [v.version for v in tiny.versions] == [2, 1]
    assert [v.aliases for v in tiny.versions] == [("champion",), ()]
    assert tiny.versions[0].metrics == {"test_cer": 0.05, "test_word_accuracy": 0.9}
    assert tiny.versions[1].fingerprint == "fp-a"
    assert tiny.versions[1].run_id == run_id
    assert models["htr-other"].versions[0].data_name == "other"


def test_resolved_champion_loads_as_a_keras_model(cfg, logged) -> None:
    run_id, uri = logged
    registry.register(cfg, run_id, uri, {"test_cer": 0.1}, "fp-a")
    resolved = registry.resolve_model_uri("htr-tiny", "champion", tracking.tracking_uri_for(cfg))
    assert resolved == "models:/htr-tiny/1"
    model = tracking.load_keras_model(resolved)
    x = np.zeros((1, 32, 128, 1), np.float32)
    assert model(x).shape == (1, 32, 10)
