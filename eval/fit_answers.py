"""Refit the shipped tuning of a model: `rag calibrate --ship --model mpnet`.

Kept as a script for reproducibility of eval/reports/current/tuning-*.md:

    .venv/bin/python eval/fit_answers.py mpnet
    .venv/bin/python eval/fit_answers.py minilm
"""

import sys

from rag.cli.main import main

if __name__ == "__main__":
    main(["calibrate", "--ship", "--model", sys.argv[1] if len(sys.argv) > 1 else "mpnet"])
