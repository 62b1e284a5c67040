"""The factor waterfall as server-rendered SVG (no script, prints as is).

One row per factor on a 0-100 points scale: the fired risk points stacked as fired (the part
beyond 100 hatched: the clamp), each mitigation's step back from the inherent score (what it
actually took away; the residual is floored at 0), the residual score, the factor's weight
and its contribution. Below, the contributions laid end to end up to the overall score.
Every number is also a text element with a class and a data attribute, so the chart can be
read (and checked) without parsing geometry.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

WIDTH = 980
LABEL_W = 230
BAR_X = 240
BAR_W = 380
WEIGHT_X = BAR_X + BAR_W + 60
RESIDUAL_X = WEIGHT_X + 190
ROW_H = 46
TOP = 34


def _x(points: Decimal, domain: Decimal) -> float:
    return round(BAR_X + float(points) / float(domain) * BAR_W, 2)


def _num(value: Decimal) -> str:
    return f"{value:.2f}"


def waterfall_svg(rows: list[dict[str, Any]], score: Any) -> Markup:
    """The chart for `present.factor_waterfall(doc)` rows and the document's score."""
    domain = max([Decimal(100), *(r["raw"] for r in rows)])
    height = TOP + ROW_H * len(rows) + 110
    e = escape
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-labelledby="wf-title wf-desc">',
        '<title id="wf-title">Factor waterfall</title>',
        '<desc id="wf-desc">For each factor: risk points, the clamp at 100, mitigations, '
        'residual score, weight and contribution; then the contributions adding up to the '
        'score. The same numbers are in the table below the chart.</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="clamp-bg"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="clamp-line"/></pattern></defs>',
        f'<text x="{BAR_X}" y="16" class="axis">0</text>',
        f'<text x="{_x(Decimal(100), domain)}" y="16" class="axis" text-anchor="middle">100</text>',
        f'<text x="{WEIGHT_X}" y="16" class="head">weight (share)</text>',
        f'<text x="{RESIDUAL_X}" y="16" class="head" text-anchor="end">residual</text>',
        f'<text x="{WIDTH - 8}" y="16" class="head" text-anchor="end">contribution</text>',
        f'<line x1="{_x(Decimal(100), domain)}" y1="22" x2="{_x(Decimal(100), domain)}" '
        f'y2="{TOP + ROW_H * len(rows)}" class="limit"/>',
    ]
    for i, row in enumerate(rows):
        y = TOP + i * ROW_H
        parts.append(
            f'<g class="factor" data-factor="{e(row["factor"])}" data-raw="{_num(row["raw"])}" '
            f'data-inherent="{_num(row["inherent"])}" data-residual="{_num(row["residual"])}" '
            f'data-weight="{_num(row["weight"])}" '
            f'data-contribution="{_num(row["contribution"])}">')
        parts.append(f'<text x="{LABEL_W}" y="{y + 14}" text-anchor="end" class="label">'
                     f'{e(row["label"])}</text>')
        start = Decimal(0)
        for hit in row["risks"]:
            points = max(Decimal(0), hit["points"])
            if points == 0:
                continue
            end = start + points
            visible_end = min(end, Decimal(100))
            if visible_end > start:
                parts.append(
                    f'<rect x="{_x(start, domain)}" y="{y + 2}" '
                    f'width="{_x(visible_end, domain) - _x(start, domain)}" height="16" '
                    f'class="risk {e(hit["kind"])}"><title>{e(hit["rule"])} {e(hit["title"])}: '
                    f'+{_num(hit["points"])}</title></rect>')
            if end > Decimal(100):
                clip_start = max(start, Decimal(100))
                parts.append(
                    f'<rect x="{_x(clip_start, domain)}" y="{y + 2}" '
                    f'width="{_x(end, domain) - _x(clip_start, domain)}" height="16" '
                    f'class="clamped" fill="url(#hatch)"><title>{e(hit["rule"])}: points '
                    f'beyond 100 do not count</title></rect>')
            start = end
        if row["clamped"] > 0:
            parts.append(f'<text x="{_x(row["raw"], domain)}" y="{y + 32}" text-anchor="end" '
                         f'class="clamp-note"'
                         f' data-clamped="{_num(row["clamped"])}">clamped −{_num(row["clamped"])}'
                         '</text>')
        running = row["inherent"]
        for step in row["mitigations"]:
            if step["taken"] <= 0:
                continue
            after = running - step["taken"]
            parts.append(
                f'<rect x="{_x(after, domain)}" y="{y + 22}" '
                f'width="{_x(running, domain) - _x(after, domain)}" height="10" '
                f'class="relief"><title>{e(step["rule"])} {e(step["title"])}: took away '
                f'{_num(step["taken"])} (nominal {_num(step["nominal"])})</title></rect>')
            running = after
        parts.append(f'<line x1="{_x(row["residual"], domain)}" y1="{y}" '
                     f'x2="{_x(row["residual"], domain)}" y2="{y + 36}" class="residual-mark"/>')
        parts.append(f'<text x="{WEIGHT_X}" y="{y + 14}" class="weight">'
                     f'{_num(row["weight"])} ({row["share"]}%)</text>')
        parts.append(f'<text x="{RESIDUAL_X}" y="{y + 14}" text-anchor="end" class="residual">'
                     f'{_num(row["residual"])}</text>')
        parts.append(f'<text x="{WIDTH - 8}" y="{y + 14}" text-anchor="end" '
                     f'class="contribution">{_num(row["contribution"])}</text>')
        parts.append(f'<text x="{LABEL_W}" y="{y + 32}" text-anchor="end" class="sub">inherent '
                     f'{_num(row["inherent"])}</text>')
        parts.append("</g>")
    # contributions end to end, up to the overall score
    y = TOP + ROW_H * len(rows) + 30
    total = sum((r["contribution"] for r in rows), Decimal(0))
    parts.append(f'<text x="{LABEL_W}" y="{y + 14}" text-anchor="end" class="label">'
                 'Contributions → score</text>')
    start = Decimal(0)
    for i, row in enumerate(rows):
        if row["contribution"] <= 0:
            continue
        end = start + row["contribution"]
        parts.append(
            f'<rect x="{_x(start, Decimal(100))}" y="{y}" '
            f'width="{_x(end, Decimal(100)) - _x(start, Decimal(100))}" height="20" '
            f'class="share s{i % 5}" data-factor="{e(row["factor"])}"><title>{e(row["label"])}: '
            f'{_num(row["contribution"])}</title></rect>')
        start = end
    shown = Decimal(str(score if score is not None else total)).quantize(Decimal("0.01"))
    parts.append(f'<text x="{WIDTH - 8}" y="{y + 15}" text-anchor="end" class="total" '
                 f'data-score="{_num(shown)}" data-sum="{_num(total)}">score {_num(shown)}'
                 '</text>')
    for tick in (0, 20, 40, 60, 80, 100):
        parts.append(f'<text x="{_x(Decimal(tick), Decimal(100))}" y="{y + 38}" '
                     f'class="axis" text-anchor="middle">{tick}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text and attribute value escaped)
