"""The scripts that made the French evaluation sample and Pattern's lexicon file, on small
inputs written here, and the committed sample against the digest its README gives."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

from tests.conftest import data_file

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csv(path: Path, rows: list[tuple[str, int]]) -> None:
    lines = ["text,label"] + [f'"{text}",{label}' for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_sample_keeps_short_reviews_balanced_and_apart(tmp_path: Path) -> None:
    sample = _script("allocine_sample").sample
    long_review = "Très long avis. " * 30  # over 300 characters: left out
    _csv(
        tmp_path / "train_data_allocine.csv",
        [("Super film", 1), ("Navet", 0), ("Bof", 0), ("Déjà vu", 1), (long_review, 1)],
    )
    _csv(tmp_path / "test_data_allocine_full.csv", [("Déjà vu", 1), ("Génial", 1), ("Nul", 0)])
    _csv(tmp_path / "test_data_allocine.csv", [("Génial", 1), ("Ennuyeux", 0)])
    rows = sample(tmp_path)
    train = [row for row in rows if row["split"] == "train"]
    test = [row for row in rows if row["split"] == "test"]
    # "Déjà vu" is in both splits: it stays in test only; train has one positive left, so one
    # negative (of smallest SHA-256) is kept beside it.
    assert {row["text"] for row in train} <= {"Super film", "Navet", "Bof"}
    assert sorted(row["class"] for row in train) == [0, 1]
    assert sorted(row["class"] for row in test) == [0, 0, 1, 1]
    assert {row["text"] for row in test} == {"Déjà vu", "Génial", "Nul", "Ennuyeux"}
    assert all(len(str(row["text"])) <= 300 for row in rows)
    assert rows == sample(tmp_path)  # the same files make the same sample


def test_pattern_polarities_become_valences(tmp_path: Path) -> None:
    valences = _script("fr_pattern_lexicon").valences
    xml = tmp_path / "fr-sentiment.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<sentiment language="fr" license="PDDL">\n'
        '<word form="beau" pos="JJ" polarity="0.80" subjectivity="0.80" />\n'
        '<word form="fort" pos="JJ" polarity="0.60" subjectivity="0.5" />\n'
        '<word form="fort" pos="JJ" polarity="0.20" subjectivity="0.5" />\n'
        '<word form="arrivé" pos="JJ" polarity="0.10" subjectivity="0.10" />\n'
        '<word form="Raté" pos="JJ" polarity="-0.40" subjectivity="0.4" />\n'
        "</sentiment>\n",
        encoding="utf-8",
    )
    # × 4, the senses averaged, nearly neutral forms (±0.1) left out, lower case.
    assert valences(xml) == {"beau": 3.2, "fort": 1.6, "raté": -1.6}


def test_the_committed_sample_is_the_one_its_readme_describes() -> None:
    readme = data_file("sentiment/README.md").read_text(encoding="utf-8")
    digest = re.search(r"^\| `allocine\.json` \| `([0-9a-f]{64})` \|$", readme, re.MULTILINE)
    assert digest is not None
    sample = data_file("sentiment/allocine.json")
    assert hashlib.sha256(sample.read_bytes()).hexdigest() == digest.group(1)
    rows = json.loads(sample.read_text(encoding="utf-8"))
    counts: dict[tuple[str, int], int] = {}
    for row in rows:
        assert len(row["text"]) <= 300
        counts[row["split"], row["class"]] = counts.get((row["split"], row["class"]), 0) + 1
    assert counts == {("train", 0): 377, ("train", 1): 377, ("test", 0): 237, ("test", 1): 237}
    train = {row["text"] for row in rows if row["split"] == "train"}
    assert not train & {row["text"] for row in rows if row["split"] == "test"}
