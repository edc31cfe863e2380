"""Run every conformance suite through `mathgrader grade-batch` and compare with its labels.

Prints one pass line per file and fails (exit 1) only when a file drops below the floor recorded
in conformance_floors.json: a ratchet, raised as the project improves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ROOT / "conformance_floors.json"


def passes(expect: str, verdict: str | None) -> bool:
    if expect == "not_correct":
        return verdict not in (None, "correct")
    return verdict == expect


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "conformance")
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        print(f"no conformance files in {folder}")
        return 0
    floors = json.loads(FLOORS.read_text()) if FLOORS.exists() else {}
    mathgrader = Path(sys.executable).with_name("mathgrader")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        combined = Path(tmp) / "all.jsonl"
        output = Path(tmp) / "out.jsonl"
        combined.write_text("".join(f.read_text() for f in files))
        subprocess.run(
            [str(mathgrader), "grade-batch", str(combined), "-o", str(output), "--workers", "2"],
            check=True,
        )
        got = {}
        for line in output.read_text().splitlines():
            record = json.loads(line)
            got[str(record["id"])] = record
    for path in files:
        cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        bad = [
            c for c in cases if not passes(c["expect"], got.get(str(c["id"]), {}).get("verdict"))
        ]
        rate = (len(cases) - len(bad)) / len(cases)
        floor = floors.get(path.stem, 0.0)
        status = "ok" if rate >= floor else "BELOW FLOOR"
        failed |= rate < floor
        print(f"{path.stem}: {len(cases) - len(bad)}/{len(cases)} passed "
              f"({rate:.1%}, floor {floor:.1%}) {status}")
        for case in bad[:8]:
            verdict = got.get(str(case["id"]), {}).get("verdict")
            print(f"    {case['id']}: {case['reference']!r} vs {case['answer'][:50]!r}: "
                  f"expected {case['expect']}, got {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
