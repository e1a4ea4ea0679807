"""What the benchmark scripts share: where the third-party data lives and how a result is printed.

The scripts run as ``python benchmarks/NAME.py``, so this module is imported as ``_shared``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# $KGWEAVE_SHARED_DATA, else ../shared/data beside the checkout, else /work/shared/data (as tests/conftest.py)
SHARED = next(
    (Path(p) for p in (os.environ.get("KGWEAVE_SHARED_DATA"), REPO.parent / "shared" / "data", "/work/shared/data")
     if p and Path(p).is_dir()),
    REPO.parent / "shared" / "data",
)


def emit(result: dict[str, object], out: Path | None) -> None:
    """Print ``result`` as indented JSON, and write it to ``out`` too when given."""
    text = json.dumps(result, indent=1)
    print(text)
    if out:
        out.write_text(text + "\n")
