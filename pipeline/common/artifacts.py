"""Every file name that one stage writes and another reads, spelled once.

Stages hand work to each other through files only; naming them here keeps a writer and
its readers from drifting apart.
"""

# models/pretrained/ (the frozen pretrain stage): DVC never runs a frozen stage, not even
# `dvc repro -f`, so the stage's own command remakes the base and `dvc commit` records it
PRETRAIN_COMMAND = (
    "python -m pipeline.pretrain -cn pretrain hydra.run.dir=logs/hydra/pretrain"
    " && dvc commit -f pretrain"
)

# models/ (train stage)
MODEL_FILE = "recognizer.keras"
CHARSET_FILE = "charset.json"
CORPUS_FILE = "corpus.txt"
PREPROCESS_FILE = "preprocess.json"
RUN_FILE = "run.json"
TRAIN_METRICS_FILE = "train_metrics.json"
HISTORY_FILE = "train_history.csv"
CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_STATE_FILE = "state.json"
CHECKPOINT_WEIGHTS_FILE = "last.weights.h5"
CHECKPOINT_BEST_FILE = "best.weights.h5"

# models/ (evaluate stage)
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
REGISTRATION_FILE = "registration.json"
PLOTS_DIR = "plots"
CER_BY_LENGTH_FILE = "cer_by_length.csv"
CONFUSIONS_FILE = "confusions.csv"

# data/raw/<name>/ (download stage) and data/lmdb/<name>/ (build_lmdb stage)
DOWNLOAD_REPORT_FILE = "download_report.json"
LMDB_REPORT_FILE = "report.json"
LMDB_DATA_FILE = "data.mdb"
