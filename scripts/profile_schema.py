"""Write docs/profile.schema.json from the profile model: `python scripts/profile_schema.py` after changing it.

tests/unit/test_profile_schema.py fails while the committed file and the model disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from seatkeeper.profiles.model import profile_json_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "profile.schema.json"


def rendered() -> str:
    return json.dumps(profile_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(rendered())
    print(f"wrote {SCHEMA_FILE}")
