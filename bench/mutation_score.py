"""The mutation score of the last ``mutmut run``, per module: killed / tested.

Run with ``.venv/bin/python -m bench.mutation_score`` after ``make mutation`` (which calls it).
Reads ``mutmut results --all true``; a mutant counts as killed when the tests failed or timed
out on it, as tested unless mutmut skipped it or has not run it yet.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

MUTANT = re.compile(r"^\s*(?P<module>[\w.]+)\.x[_ǁ]\S*__mutmut_\d+: (?P<status>.+?)\s*$")
KILLED = {"killed", "timeout"}
UNTESTED = {"not checked", "skipped"}


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    by_module: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for line in listing.splitlines():
        found = MUTANT.match(line)
        if found:
            by_module[found["module"]][found["status"]] += 1
    total: Counter[str] = Counter()
    rows = []
    for module in sorted(by_module):
        counts = by_module[module]
        total += counts
        rows.append((module, counts))
    rows.append(("all", total))
    width = max(len(module) for module, _ in rows)
    print(f"{'module':<{width}}  killed / tested   score  (survived, not run)")
    for module, counts in rows:
        killed = sum(counts[s] for s in KILLED)
        tested = sum(n for s, n in counts.items() if s not in UNTESTED)
        score = f"{100 * killed / tested:5.1f}%" if tested else "    -"
        pending = sum(counts[s] for s in UNTESTED)
        print(
            f"{module:<{width}}  {killed:6d} / {tested:<6d}  {score}  "
            f"({counts['survived']}, {pending})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
