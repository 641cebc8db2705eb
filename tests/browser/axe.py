"""axe-core (vendored under tests/browser/vendor/axe-core) run inside a Playwright page.

``axe_violations(page)`` injects the script from the file (nothing fetched) and returns the
violations of WCAG 2.0/2.1 A and AA rules whose impact is serious or critical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = frozenset({"serious", "critical"})
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Any, *, include: str | None = None) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 AA violations of the page (or of ``include``)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the console's CSP (no inline script) stays on.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        """([include, tags]) => axe.run(include || document,
               {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [include, TAGS],
    )
    return [v for v in result["violations"] if v.get("impact") in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable summary for an assertion message."""
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} {targets}")
    return "\n".join(lines)
