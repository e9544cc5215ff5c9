"""python -m dagster_project.lib.sample_org --accounts N --detections M [--seed S] [--day YYYY-MM-DD] --out DIR"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from dagster_project.lib.sample_org.export import write_export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.lib.sample_org",
                                     description="Write a deterministic sample organization as an AWS CLI export.")
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--detections", type=int, required=True, help="approximate detections per account")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--day", type=date.fromisoformat, default=None, help="add that day's churn (YYYY-MM-DD)")
    parser.add_argument("--out", type=Path, required=True, help="export directory (a previous sample is replaced)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = write_export(args.out, args.accounts, args.detections, seed=args.seed, day=args.day)
    print(json.dumps({**counts, "seconds": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
