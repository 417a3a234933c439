"""Make src/townsquare/listening/lexicons/fr-pattern.tsv from Pattern's French adjectives.

The source is ``fr-sentiment.xml`` (Tom De Smedt, Walter Daelemans, fabelier.org; licence
PDDL, the Open Data Commons Public Domain Dedication and License), as the PyPI package
textblob-fr 0.2.0 ships it (``pip download --no-deps textblob-fr==0.2.0``, the file
``textblob_fr/fr-sentiment.xml`` of the wheel). Each word form's polarity (−1 to +1,
averaged over its senses when it has several) is written × 4, on VADER's −4 to +4 scale;
forms whose mean polarity is within ±0.1 are left out (nearly neutral: ``arrivé`` 0.1,
``le colis est arrivé`` is no praise).

    python scripts/fr_pattern_lexicon.py PATH/fr-sentiment.xml
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

OUT = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "townsquare"
    / "listening"
    / "lexicons"
    / "fr-pattern.tsv"
)
MIN_POLARITY = 0.1
HEADER = (
    "# mot<TAB>valence (-4..4): Pattern's French adjectives, fr-sentiment.xml 1.1 (T. De Smedt,\n"
    "# W. Daelemans, fabelier.org; PDDL), polarity x 4, mean over a form's senses when over 0.1\n"
)
# One <word .../> element a line, its attributes in this order (the file is read as text: it
# is a flat list, no XML parser needed).
WORD = re.compile(r'<word form="([^"]*)"[^>]*? polarity="([^"]*)"')


def valences(path: Path) -> dict[str, float]:
    """Each word form's mean polarity × 4, rounded to 0.01, when it is over ±0.1."""
    senses: dict[str, list[float]] = defaultdict(list)
    for found in WORD.finditer(path.read_text(encoding="utf-8")):
        form = found.group(1).strip().lower()
        if form:
            senses[form].append(float(found.group(2) or 0.0))
    means = {form: sum(values) / len(values) for form, values in senses.items()}
    return {
        form: round(4 * mean, 2)
        for form, mean in sorted(means.items())
        if abs(mean) > MIN_POLARITY + 1e-9
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    rows = valences(Path(argv[1]))
    body = "".join(f"{form}\t{value:g}\n" for form, value in rows.items())
    OUT.write_text(HEADER + body, encoding="utf-8")
    print(f"{OUT}: {len(rows)} words")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
