"""Make tests/data/sentiment/allocine.json from copies of the Allociné review set.

The Allociné set (Théophile Blard, 2020, MIT; reviews written by Allociné.fr users, labelled
by the author from their own rating: ≤ 2 of 5 negative, ≥ 4 positive) is read here from the
three CSV files (``text,label``, 1 positive, 0 negative) of the public repository
rachigh/french-sentiment-analysis-allocine, commit bec756f830e3a54fadcee6b154bb5d8f9fa2be41,
``data/``, which sampled them with ``random_state=42`` from the published splits:

- ``train_data_allocine.csv``: 2,000 reviews of the *train* split (1,000 per class);
- ``test_data_allocine.csv``: 400 reviews of the *test* split (200 per class);
- ``test_data_allocine_full.csv``: 1,000 reviews of the *test* split.

The sample keeps, from each split, the reviews of at most 300 characters (a Bluesky post's
length), once each (a text found in both splits is left out of *train*), and as many of the
two classes: the larger class is cut to the smaller one's count, keeping the texts whose
SHA-256 is smallest. Rows are written in SHA-256 order, *train* rows (to design the rules on)
then *test* rows (held out, the figures reported).

    python scripts/allocine_sample.py DIR   # DIR holds the three CSV files
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

MAX_CHARS = 300
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "sentiment" / "allocine.json"
SOURCES = {
    "train": ("train_data_allocine.csv",),
    "test": ("test_data_allocine_full.csv", "test_data_allocine.csv"),
}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(path: Path) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], int(row["label"])) for row in csv.DictReader(handle)]


def sample(directory: Path) -> list[dict[str, object]]:
    """The rows of allocine.json: ``text``, ``class`` (1 positive, 0 negative), ``split``."""
    splits: dict[str, dict[str, int]] = {}
    for split, names in SOURCES.items():
        texts: dict[str, int] = {}
        for name in names:
            for text, label in _read(directory / name):
                texts.setdefault(text, label)
        splits[split] = texts
    for text in set(splits["train"]) & set(splits["test"]):
        del splits["train"][text]
    rows: list[dict[str, object]] = []
    for split in ("train", "test"):
        short = {text: label for text, label in splits[split].items() if len(text) <= MAX_CHARS}
        by_class = {
            label: sorted((t for t, lab in short.items() if lab == label), key=_digest)
            for label in (0, 1)
        }
        count = min(len(texts) for texts in by_class.values())
        kept = [(text, label) for label, texts in by_class.items() for text in texts[:count]]
        kept.sort(key=lambda pair: _digest(pair[0]))
        rows.extend({"text": text, "class": label, "split": split} for text, label in kept)
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    rows = sample(Path(argv[1]))
    lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    OUT.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"{OUT}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
