"""Score decoders on the test split: one batched inference, then each decoder reads every
sample's probabilities. A sample's latency is its share of its batch's preprocessing and
inference time plus its own decoding time. On the sample data set digits (ids with the
digit prefix) are scored apart from words, by each text decoder and by the digit decoder.

Test images are read as the app and the predict CLI read an image (`PROTOCOL`: paper found
at the border, cropped to the ink by `prepare_foreign`), so the number the registry ranks
models by is what users get, whatever a model's own normalisation. An image in which that
path finds no ink reads as "" (the app answers "blank") and is counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from pipeline.common import metrics as text_scores
from pipeline.common.errors import HTRError
from pipeline.data import DIGIT_PREFIX, SAMPLE_SOURCE, split_store
from pipeline.decoding import DECODERS, DIGIT_DECODER, DIGITS, check_decoders
from pipeline.inference import Recognizer
from pipeline.models import BlankImageError

log = logging.getLogger(__name__)

# How the test split is read (see the module docstring). Registered versions carry it, so a
# champion scored another way is not compared on its number; change it when the reading
# changes. Versions registered before it existed read the stored images as they are.
PROTOCOL = "as-drawn"


@dataclass(frozen=True)
class SplitSamples:
    """The test split in store order; `is_digit` marks the sample data set's MNIST digits."""

    ids: list[str]
    texts: list[str]
    is_digit: list[bool]
    images: list[np.ndarray]


@dataclass(frozen=True)
class DecoderRun:
    """One decoder's best reading and latency (ms) per sample it read."""

    decoder: str
    indices: list[int]
    predictions: list[str]
    latency_ms: list[float]


def load_test_set(cfg: DictConfig) -> SplitSamples:
    """Every sample of the test split (HTRError when it is missing or empty)."""
    store = split_store(cfg, "test")
    if len(store) == 0:
        raise HTRError(f"the test split of {cfg.data.name!r} at {store.path} is empty")
    samples = list(tqdm(store, total=len(store), desc="load test split", unit="img"))
    digits = cfg.data.source == SAMPLE_SOURCE
    return SplitSamples(
        ids=[s.id for s in samples],
        texts=[s.text for s in samples],
        is_digit=[digits and s.id.startswith(DIGIT_PREFIX) for s in samples],
        images=[s.image for s in samples],
    )


def infer(
    recognizer: Recognizer, images: Sequence[np.ndarray], batch_size: int
) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Probabilities [T_i, C] of test images read as drawn images are (None where no ink is
    found), and each one's share (ms) of its batch's time."""
    probs: list[np.ndarray | None] = []
    share = []
    bar = tqdm(total=len(images), desc="inference", unit="img")
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        started = time.perf_counter()
        inputs: dict[int, np.ndarray] = {}
        for offset, image in enumerate(chunk):
            try:
                inputs[offset] = recognizer.model_input(image, foreign=True)
            except BlankImageError:
                continue
        read = dict(zip(inputs, recognizer.probabilities_of(list(inputs.values())), strict=True))
        probs += [read.get(offset) for offset in range(len(chunk))]
        share += [(time.perf_counter() - started) * 1000.0 / len(chunk)] * len(chunk)
        bar.update(len(chunk))
    bar.close()
    return probs, np.array(share)


def run_decoder(
    recognizer: Recognizer,
    probs: Sequence[np.ndarray | None],
    decoder: str,
    indices: Sequence[int],
    inference_ms: np.ndarray,
) -> DecoderRun:
    """Decode the given samples with one decoder, timing each decoding; a sample without
    probabilities (no ink found) reads as ""."""
    mode = "digit" if decoder == DIGIT_DECODER else "text"
    predictions, latency = [], []
    for i in tqdm(indices, desc=f"decode {decoder}", unit="img"):
        started = time.perf_counter()
        if probs[i] is None:
            latency.append(inference_ms[i])
            predictions.append("")
            continue
        best = recognizer.decode(probs[i], decoder, mode, top_k=1)
        latency.append(inference_ms[i] + (time.perf_counter() - started) * 1000.0)
        predictions.append(best[0].text if best else "")
    return DecoderRun(decoder, list(indices), predictions, latency)


def round6(value: float) -> float:
    """Metrics are stored with 6 decimals so re-rendered reports are byte-identical."""
    return round(float(value), 6)


def _latency(run: DecoderRun) -> dict[str, float]:
    values = np.asarray(run.latency_ms)
    return {
        "latency_ms_mean": round6(values.mean()),
        "latency_ms_p95": round6(np.percentile(values, 95)),
    }


def score_text(run: DecoderRun, test: SplitSamples) -> dict[str, Any]:
    """CER, WER, word accuracy and latency of a text decoder; words and digits apart if any."""
    truths = [test.texts[i] for i in run.indices]
    scores = {k: round6(v) for k, v in text_scores.text_metrics(truths, run.predictions).items()}
    scores.update(_latency(run))
    digit = [test.is_digit[i] for i in run.indices]
    if any(digit):
        words = [(t, p) for t, p, d in zip(truths, run.predictions, digit, strict=True) if not d]
        if words:
            w_truths, w_preds = zip(*words, strict=True)
            scores["words"] = {
                k: round6(v) for k, v in text_scores.text_metrics(w_truths, w_preds).items()
            }
        digits = [(t, p) for t, p, d in zip(truths, run.predictions, digit, strict=True) if d]
        d_truths, d_preds = zip(*digits, strict=True)
        scores["digits"] = {
            "accuracy": round6(text_scores.word_accuracy(d_truths, d_preds)),
            "cer": round6(text_scores.cer(d_truths, d_preds)),
        }
    return scores


def score_digits(run: DecoderRun, test: SplitSamples) -> dict[str, Any]:
    """Accuracy and latency of the digit-constrained decoder on the digit samples."""
    truths = [test.texts[i] for i in run.indices]
    accuracy = text_scores.word_accuracy(truths, run.predictions)
    return {"digits": {"accuracy": round6(accuracy)}, **_latency(run)}


def _decoders(
    cfg: DictConfig, recognizer: Recognizer, test: SplitSamples
) -> tuple[list[str], bool]:
    """The text decoders to report, and whether the digit decoder runs too."""
    names = check_decoders(list(cfg.decode.decoders))
    text = [d for d in dict.fromkeys(names) if DECODERS[d].text]
    missing = [d for d in DIGITS if d not in recognizer.charset.chars]
    if missing and any(test.is_digit):
        log.warning("digit decoder skipped: the charset lacks digits %s", "".join(missing))
    elif DIGIT_DECODER in names and not any(test.is_digit):
        log.warning("digit decoder skipped: the test split has no digit samples")
    return text, bool(any(test.is_digit) and not missing)


def score(
    cfg: DictConfig, recognizer: Recognizer
) -> tuple[dict[str, Any], SplitSamples, list[DecoderRun]]:
    """Read the test split once and score every decoder; returns (metrics, test set, runs)."""
    test = load_test_set(cfg)
    text_decoders, with_digits = _decoders(cfg, recognizer, test)
    probs, inference_ms = infer(recognizer, test.images, cfg.decode.batch_size)
    blank = [test.ids[i] for i, p in enumerate(probs) if p is None]
    if blank:
        log.warning(
            "%d test images have no ink the app would find; read as '': %s",
            len(blank),
            ", ".join(blank[:10]),
        )
    every = list(range(len(test.ids)))
    runs = [run_decoder(recognizer, probs, d, every, inference_ms) for d in text_decoders]
    decoders = {run.decoder: score_text(run, test) for run in runs}
    best = min(text_decoders, key=lambda d: decoders[d]["cer"])
    if with_digits:
        digit_indices = [i for i in every if test.is_digit[i]]
        runs.append(run_decoder(recognizer, probs, DIGIT_DECODER, digit_indices, inference_ms))
        decoders[DIGIT_DECODER] = score_digits(runs[-1], test)
    n_digits = sum(test.is_digit)
    metrics = {
        "samples": {
            "all": len(every),
            "words": len(every) - n_digits,
            "digits": n_digits,
            "no_ink_found": len(blank),
        },
        "protocol": PROTOCOL,
        "best_decoder": best,
        "test_cer": decoders[best]["cer"],
        "inference_ms_per_image": round6(inference_ms.mean()),
        "decoders": decoders,
    }
    return metrics, test, runs
