"""Stage 2: raw IAM-format data -> one LMDB per split (`python -m pipeline.build_lmdb`)."""

from pipeline.common.stage import run_stage
from pipeline.data import build_lmdb

main = run_stage(build_lmdb)

if __name__ == "__main__":
    main()
