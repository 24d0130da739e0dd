"""Where the suite's reference data lives: ``tests/data`` (see its README for the sources)."""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CAPTURES = DATA / "captures"
COIOT_PAYLOADS = DATA / "coiot"
DOCS_EXAMPLES = DATA / "docs_examples"
