"""A workflow drawn from its metadata: states placed in layers, transitions as arrows,
rendered to an accessible SVG.

Layout: states are ranked by their distance from the initial state (breadth first);
states no record can reach go in a last column. Within a column, states are ordered by
the mean position of the states that lead to them (one barycentre pass), so arrows
cross less. Arrows going forward are straight; arrows going back, or within a column,
are curved around. States the kernel's checker flags — unreachable, or with no way out
although not final — are marked.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from jizuo.platform.workflows import ANY_STATE, graph_errors

COLUMN_WIDTH, ROW_HEIGHT = 220, 110
BOX_WIDTH, BOX_HEIGHT = 150, 54
MARGIN = 40
COLOURS = {  # category → (fill, stroke)
    "draft": ("#eceff1", "#607d8b"),
    "active": ("#e3f2fd", "#1e88e5"),
    "done": ("#e8f5e9", "#43a047"),
    "cancelled": ("#fbe9e7", "#e53935"),
}


@dataclass
class PlacedState:
    key: str
    title: str
    category: str
    rank: int
    order: int = 0
    flags: list[str] = field(default_factory=list)

    @property
    def x(self) -> int:
        return MARGIN + self.rank * COLUMN_WIDTH

    @property
    def y(self) -> int:
        return MARGIN + self.order * ROW_HEIGHT


def text_in(title: Any, language: str) -> str:
    """A metadata title in the viewer's language (English, then any, as fallbacks)."""
    if isinstance(title, dict):
        return title.get(language) or title.get("en") or next(iter(title.values()), "")
    return str(title or "")


def _sources(transition: dict[str, Any], keys: list[str]) -> list[str]:
    sources = transition["from"]
    if sources == ANY_STATE or ANY_STATE in sources:
        return list(keys)
    return [s for s in sources if s in keys]


def layout_states(body: dict[str, Any], language: str = "en") -> dict[str, PlacedState]:
    """Every state with its column (rank), row (order) and flags."""
    keys = [s["key"] for s in body["states"]]
    targets: dict[str, list[str]] = {k: [] for k in keys}
    for t in body["transitions"]:
        for source in _sources(t, keys):
            if t["to"] in targets:
                targets[source].append(t["to"])
    rank = {body["initial"]: 0} if body["initial"] in targets else {}
    queue = deque(rank)
    while queue:
        current = queue.popleft()
        for nxt in targets[current]:
            if nxt not in rank:
                rank[nxt] = rank[current] + 1
                queue.append(nxt)
    last = max(rank.values(), default=-1) + 1
    placed = {
        s["key"]: PlacedState(s["key"], text_in(s["title"], language), s["category"],
                              rank.get(s["key"], last))
        for s in body["states"]
    }  # fmt: skip
    columns: dict[int, list[str]] = {}
    for key in keys:
        columns.setdefault(placed[key].rank, []).append(key)
    predecessors: dict[str, list[str]] = {k: [] for k in keys}
    for source, nexts in targets.items():
        for nxt in nexts:
            predecessors[nxt].append(source)
    for r in sorted(columns):
        column = columns[r]

        def barycentre(key: str, column: list[str] = column, r: int = r) -> float:
            earlier = [placed[p].order for p in predecessors[key] if placed[p].rank < r]
            return sum(earlier) / len(earlier) if earlier else float(len(column))

        for order, key in enumerate(sorted(column, key=barycentre)):
            placed[key].order = order
    for problem in graph_errors(body):
        state = body["states"][int(problem["path"].split("/")[2])]["key"]
        placed[state].flags.append(problem["code"])
    return placed


def _arrow(source: PlacedState, target: PlacedState) -> str:
    """The path of one arrow: straight when it goes forward, curved otherwise."""
    if target.rank > source.rank:
        x1, y1 = source.x + BOX_WIDTH, source.y + BOX_HEIGHT // 2
        x2, y2 = target.x, target.y + BOX_HEIGHT // 2
        return f"M{x1},{y1} L{x2},{y2}"
    if source.key == target.key:
        x, y = source.x + BOX_WIDTH // 2, source.y
        return f"M{x - 20},{y} C{x - 40},{y - 45} {x + 40},{y - 45} {x + 20},{y}"
    # Back (or sideways) arrows leave from the bottom and loop under the boxes.
    x1, y1 = source.x + BOX_WIDTH // 2, source.y + BOX_HEIGHT
    x2, y2 = target.x + BOX_WIDTH // 2, target.y + BOX_HEIGHT
    dip = max(y1, y2) + 40 + 10 * abs(source.rank - target.rank)
    return f"M{x1},{y1} C{x1},{dip} {x2},{dip} {x2},{y2}"


def _summary(body: dict[str, Any], placed: dict[str, PlacedState], language: str) -> str:
    """Every transition as 'from → to', for screen readers."""
    keys = list(placed)
    return "; ".join(
        f"{text_in(t['title'], language)}: "
        f"{', '.join(placed[s].title for s in _sources(t, keys))} → "
        f"{placed[t['to']].title if t['to'] in placed else t['to']}"
        for t in body["transitions"]
    )


def render_svg(
    body: dict[str, Any], language: str = "en", labels: dict[str, str] | None = None
) -> str:
    """The workflow as an SVG document: one group per state, one per transition."""
    labels = {"diagram": "Workflow diagram", "unreachable": "cannot be reached",
              "dead_end": "no way out", "initial": "initial state", **(labels or {})}  # fmt: skip
    placed = layout_states(body, language)
    width = MARGIN * 2 + (max(p.rank for p in placed.values()) + 1) * COLUMN_WIDTH
    height = MARGIN * 3 + (max(p.order for p in placed.values()) + 1) * ROW_HEIGHT
    name = text_in(body.get("title"), language) or body["entity"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="wf-title wf-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<title id="wf-title">{escape(labels["diagram"])}: {escape(name)}</title>',
        f'<desc id="wf-desc">{escape(_summary(body, placed, language))}</desc>',
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#455a64"/></marker></defs>',
        '<g class="transitions">',
    ]
    keys = list(placed)
    for t in body["transitions"]:
        title = text_in(t["title"], language)
        target = placed.get(t["to"])
        sources = [placed[s] for s in _sources(t, keys)]
        heading = f"{title}: {', '.join(s.title for s in sources)} → {target.title if target else t['to']}"  # noqa: E501
        out.append(f'<g class="transition" data-key={quoteattr(t["key"])}>')
        out.append(f"<title>{escape(heading)}</title>")
        for source in sources if target else []:
            out.append(
                f'<path d="{_arrow(source, target)}" fill="none" stroke="#455a64" '
                f'stroke-width="1.5" marker-end="url(#wf-arrow)"/>'
            )
        if sources and target:
            first = sources[0]
            lx = (first.x + target.x + BOX_WIDTH) // 2
            ly = (first.y + target.y + BOX_HEIGHT) // 2 - 6
            out.append(f'<text x="{lx}" y="{ly}" text-anchor="middle">{escape(title)}</text>')
        out.append("</g>")
    out.append('</g><g class="states">')
    for state in placed.values():
        fill, stroke = COLOURS.get(state.category, COLOURS["active"])
        classes = " ".join(["state", f"category-{state.category}", *state.flags])
        flagged = [labels[f] for f in state.flags if f in labels]
        if state.key == body["initial"]:
            flagged.insert(0, labels["initial"])
        heading = state.title + (f" ({', '.join(flagged)})" if flagged else "")
        dash = ' stroke-dasharray="6 4"' if state.flags else ""
        out += [
            f'<g class="{classes}" data-key={quoteattr(state.key)}>',
            f"<title>{escape(heading)}</title>",
            f'<rect x="{state.x}" y="{state.y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" '
            f'rx="10" fill="{fill}" stroke="{"#c62828" if state.flags else stroke}" '
            f'stroke-width="{3 if state.key == body["initial"] else 1.5}"{dash}/>',
            f'<text x="{state.x + BOX_WIDTH // 2}" y="{state.y + 24}" text-anchor="middle" '
            f'font-weight="bold">{escape(state.title)}</text>',
        ]
        if state.flags:
            note = ", ".join(labels[f] for f in state.flags if f in labels)
            out.append(
                f'<text x="{state.x + BOX_WIDTH // 2}" y="{state.y + 42}" text-anchor="middle" '
                f'fill="#c62828" font-size="11">⚠ {escape(note)}</text>'
            )
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out)
