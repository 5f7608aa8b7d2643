"""The pretrained base model's card: what it is, how it was made, how well it reads.

Written beside the committed model (`models/pretrained/`) as `card.json` for programs and
`MODEL_CARD.md` for people, so a user can judge the base before fine-tuning from it.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline.common.atomic import atomic_file

CARD_JSON = "card.json"
CARD_MARKDOWN = "MODEL_CARD.md"


def card_facts(
    cfg: DictConfig,
    command: str,
    fingerprint: str,
    training: dict[str, Any],
    metrics: dict[str, Any],
    n_train: int,
) -> dict[str, Any]:
    """Everything the card says, as one JSON-able dict."""
    return {
        "command": command,
        "architecture": OmegaConf.to_container(cfg.model, resolve=True),
        "data": {
            "name": cfg.data.name,
            "fingerprint": fingerprint,
            "train_samples": n_train,
            "renderer": str(cfg.data.sample.renderer),
            "held_out_fonts": list(cfg.data.sample.held_out_fonts),
        },
        "training": {
            **training,
            "samples_seen": training["epochs"] * n_train,
            "machine": f"{platform.machine()}, {platform.system()}",
        },
        "test": {name: _decoder_row(result) for name, result in metrics["decoders"].items()},
        "test_samples": metrics["samples"],
    }


def _decoder_row(result: dict[str, Any]) -> dict[str, Any]:
    """One decoder's test scores: all samples, words alone, digits alone (where scored)."""
    row = {k: result[k] for k in ("cer", "wer", "word_accuracy") if k in result}
    if "words" in result:
        row["words_cer"] = result["words"]["cer"]
    if "digits" in result:
        row["digit_accuracy"] = result["digits"]["accuracy"]
    return row


def write_card(out_dir: Path, facts: dict[str, Any]) -> None:
    """Write card.json and MODEL_CARD.md into `out_dir`."""
    with atomic_file(Path(out_dir) / CARD_JSON, "w") as handle:
        json.dump(facts, handle, indent=2)
        handle.write("\n")
    with atomic_file(Path(out_dir) / CARD_MARKDOWN, "w") as handle:
        handle.write(card_markdown(facts))


def card_markdown(facts: dict[str, Any]) -> str:
    """The card as Markdown."""
    train, data = facts["training"], facts["data"]
    arch = facts["architecture"]
    columns = ("cer", "wer", "word_accuracy", "words_cer", "digit_accuracy")
    rows = "\n".join(
        f"| {name} | " + " | ".join(str(r.get(c, "")) for c in columns) + " |"
        for name, r in facts["test"].items()
    )
    return f"""# Pretrained base model

The default recognizer architecture (`model={arch["name"]}`: {len(arch["conv_filters"])} conv
blocks, {arch["rnn_layers"]} x Bi{arch["rnn"].upper()} {arch["rnn_units"]}, CTC) trained from
scratch on synthetic handwriting only. `train.init=pretrained` (the default) starts every
training from it.

- Command: `{facts["command"]}`
- Data: `data={data["name"]}`, fingerprint `{data["fingerprint"]}`, {data["train_samples"]:,}
  training samples (renderer `{data["renderer"]}`; held-out fonts never drawn:
  {", ".join(data["held_out_fonts"])})
- Training: {train["epochs"]} epochs, {train["samples_seen"]:,} samples seen,
  {train["hours"]:.2f} hours on {train["machine"]}; best validation CER
  {train["best_val_cer"]:.4f} (epoch {train["best_epoch"]}); stopped: {train["stop_reason"]}
- Test split of `data={data["name"]}` ({facts["test_samples"]["all"]} samples):

| decoder | CER | WER | word accuracy | CER, words alone | digit accuracy |
| --- | --- | --- | --- | --- | --- |
{rows}

Real handwriting and held-out styles: see README "Reading real handwriting".
"""
