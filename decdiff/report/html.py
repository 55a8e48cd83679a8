"""Render a report (the JSON object, and nothing else) as one self-contained HTML page.

Figures are embedded as base64 PNG data URIs and LaTeX statements are converted to
MathML (rendered natively by browsers), so the page needs no network access and no
JavaScript. Every piece of prose is Markdown (the same strings `decdiff.report.markdown`
writes) rendered by markdown-it-py; the table of contents is made from the page's own
``<h2>``/``<h3>`` headings, so it links every section whatever the template grows.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import jinja2
import latex2mathml.converter
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from decdiff.report.build import executed_checks
from decdiff.report.figures import TABLE1_CLAIMS, Rendered, table1_rows
from decdiff.report.markdown import (
    READ_ME,
    SUMMARY_INTRO,
    search_rows,
    search_sentence,
    smax_caption,
    statement_cell,
    table1_caption,
)
from decdiff.report.tables import mutant_rows, mutation_caption, mutation_rows, trained_rows
from decdiff.report.timings import TIMINGS_LINK

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown(text: str) -> Markup:
    """Inline Markdown (emphasis, code spans) as HTML; raw HTML in `text` is escaped, not passed through."""
    return Markup(_MARKDOWN.renderInline(str(text)))


def section_id(claim: str) -> str:
    """The id of a claim's section, e.g. ``Corollary 5.1`` -> ``corollary-5.1`` (the Summary rows link to it)."""
    return re.sub(r"[^a-z0-9.]+", "-", claim.lower()).strip("-")

_ENVIRONMENT = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENVIRONMENT.filters |= {"md": markdown, "section_id": section_id}
_TEMPLATE = _ENVIRONMENT.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>decdiff report ({{ r.suite.name }})</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
.wide { overflow-x: auto; } .wide table { margin: 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top;
         overflow-wrap: normal; word-break: normal; }
.holds, .proved { color: #176117; font-weight: bold; } .violated, .refuted, .failed { color: #a31515; font-weight: bold; }
.outside-assumptions, .holds-under-conditions { color: #8a5a00; font-weight: bold; }
.false-as-stated { color: #a31515; font-weight: bold; } .holds-as-stated { color: #176117; font-weight: bold; } .inconclusive, .skipped { color: #555; }
code { font-size: 0.85rem; white-space: nowrap; }
code.command { display: block; max-width: 13rem; overflow-x: auto; white-space: pre; padding-bottom: 0.2rem; }
.holds, .proved, .violated, .refuted, .failed, .outside-assumptions, .inconclusive, .skipped,
.false-as-stated, .holds-as-stated, .holds-under-conditions, .undecided { white-space: nowrap; }
table.checks { width: 100%; font-size: 0.8rem; } table.checks code { font-size: 0.8rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; }
nav ol { columns: 3 16rem; margin: 0.5rem 0; padding-left: 1.5rem; } nav ol ol { columns: auto; padding-left: 1rem; }
nav li { break-inside: avoid; } h2 { margin-top: 2.5rem; }
figcaption { font-size: 0.9rem; color: #444; }
</style></head><body>
<h1>decdiff theorem-validation report ({{ r.suite.name }} suite)</h1>
<p>{{ r.suite.description }}. Seed {{ r.seed }}; decdiff {{ r.environment.packages.decdiff }},
Python {{ r.environment.python }}.</p>
<p>{{ read_me|md }}</p>
<!--contents-->
{% if r.claims_without_executed_checks %}
<p class="violated">Claims with no executed check (the run fails): {{ r.claims_without_executed_checks|join(", ") }}</p>
{% endif %}
<h2 id="summary">Summary</h2>
<p>{{ summary_intro|md }}</p>
<div class="wide"><table id="summary-table"><tr><th>claim</th><th>statement</th><th>why</th><th>symbolic</th><th>exact denoiser</th><th>trained denoisers</th></tr>
{% for row in r.summary %}
{% set claim = claims[row.claim] %}
<tr><td><a href="#{{ row.claim|section_id }}">{{ row.claim }}</a>: {{ row.title }}</td>
<td class="{{ claim.statement_verdict }}">{{ claim.statement_verdict }}</td><td>{{ statement_cell(claim)|md }}</td>
<td>{% for k, v in row.symbolic.items() %}{{ k }}: <span class="{{ v }}">{{ v }}</span><br>{% endfor %}</td>
<td>{% for k, v in row.exact.items() %}<span class="{{ k }}">{{ k }}</span> {{ v }}<br>{% endfor %}</td>
<td>{% for k, v in row.trained.items() %}<span class="{{ k }}">{{ k }}</span> {{ v }}<br>{% endfor %}</td></tr>
{% endfor %}
</table></div>
{% if r.counterexamples %}
<h3 id="searches">Counterexample searches</h3>
{{ table(searches) }}
{% endif %}
<p>{{ timings_link|md }}</p>
{% if r.trained_denoisers %}
<h2 id="trained-denoisers">Trained denoisers</h2>
{{ table(trained) }}
{% endif %}
<h2 id="figures">Figures</h2>
{% for fig in figures %}
<figure><h3 id="{{ fig.name }}">{{ fig.title }}</h3>
<img alt="{{ fig.title }}" src="data:image/png;base64,{{ b64(fig.png) }}">
<figcaption>{{ fig.caption|md }}</figcaption></figure>
{% endfor %}
{% if table1 %}
<h3 id="table1">Table 1 analogue: individual against composite diffusion (PSNR)</h3>
<p>{{ table1_caption|md }}</p>
{{ table(table1) }}
{% endif %}
{% if smax %}
<h2 id="smax">{{ smax.label }}</h2>
<p>{{ smax_caption|md }}</p>
{{ table(smax_table) }}
<p>The paper's own SMACv2 Table 1 (PSNR in dB; reference only, not comparable: other data, sizes and normalisation):</p>
{{ table(smax_paper) }}
<p>Differences from SMACv2:</p>
<ul>{% for d in smax.differences_from_smacv2 %}<li>{{ d|md }}</li>{% endfor %}</ul>
{% endif %}
{% if r.mutation %}
<h2 id="mutation">Can every check fail? (mutation table)</h2>
<p>{{ mutation_caption|md }}</p>
{{ table(mutants) }}
{{ table(mutation) }}
{% endif %}
{% for claim in r.claims %}
<h2 id="{{ claim.name|section_id }}">{{ claim.name }}: {{ claim.title }}</h2>
<p>{{ claim.statement|md }}</p>
<p>{{ mathml(claim.latex) }}</p>
<p><b>Assumptions:</b> {{ claim.assumptions|join("; ")|md }}.</p>
<p><b>When it holds:</b> {{ claim.holds_when|md }}</p>
<ul>{% for d in claim.derivations %}<li>Symbolic derivation <code>{{ d }}</code>:
<span class="{{ derivations.get(d, {}).get('verdict', 'skipped') }}">{{ derivations.get(d, {}).get('verdict', 'not run') }}</span></li>{% endfor %}
{% for fig in figures if claim.name in fig.claims %}<li>Figure: <a href="#{{ fig.name }}">{{ fig.title }}</a></li>{% endfor %}
{% if table1 and claim.name in table1_claims %}<li>Figure: <a href="#table1">Table 1 analogue</a></li>{% endif %}</ul>
{% set checks = checks_of(claim.name) %}
{% if checks %}
<div class="wide"><table class="checks"><tr><th>check</th><th>subject</th><th>verdict</th><th>observed</th><th>bound</th><th>margin</th><th>assumptions failing</th><th>reproduce</th></tr>
{% for c in checks %}
<tr><td><code>{{ c.id }}</code></td><td>{{ c.subject.model }}, H={{ c.subject.history_length }}, σ={{ c.subject.sigma }}, {{ c.subject.denoiser }}</td>
<td class="{{ c.verdict }}">{{ c.verdict }}</td><td>{{ num(c.observed) }}</td><td>{{ num(c.bound) }}</td><td>{{ num(c.margin) }}</td>
<td>{{ failing(c) }}</td><td><code class="command">{{ c.reproduce }}</code></td></tr>
{% endfor %}</table></div>
{% endif %}
{% for cx in r.counterexamples if cx.claim == claim.name %}
<p>{{ search_sentence(cx, code="`")|md }}</p>
{% endfor %}
{% endfor %}
</body></html>
""")


def _number(value: Any) -> str:
    return "-" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))


_TABLE = _ENVIRONMENT.from_string(
    '<div class="wide"><table><tr>{% for h in header %}<th>{{ h|md }}</th>{% endfor %}</tr>'
    "{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell|md }}</td>{% endfor %}</tr>{% endfor %}</table></div>")

_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)</h\1>', re.DOTALL)


def _with_contents(page: str) -> str:
    """`page` with a table of contents, one link per ``<h2 id>`` (and its ``<h3 id>`` below), at ``<!--contents-->``."""
    sections: list[tuple[str, list[str]]] = []
    for level, anchor, title in _HEADING.findall(page):
        link = f'<a href="#{anchor}">{escape(Markup(title).striptags())}</a>'
        if level == "3" and sections:
            sections[-1][1].append(link)
        else:
            sections.append((link, []))
    items = "".join(f"<li>{link}" + (f"<ol>{''.join(f'<li>{s}</li>' for s in subs)}</ol>" if subs else "") + "</li>"
                    for link, subs in sections)
    return page.replace("<!--contents-->", f'<nav id="contents"><h2>Contents</h2><ol>{items}</ol></nav>', 1)


def _table(header_rows: tuple[list[str], list[list[str]]]) -> Markup:
    header, rows = header_rows
    return Markup(_TABLE.render(header=header, rows=rows))


def mathml(latex: str) -> Markup:
    """A LaTeX statement as display MathML."""
    return Markup(latex2mathml.converter.convert(latex, display="block"))


def render_html(report: dict[str, Any], figures: list[Rendered]) -> str:
    """The report as one HTML page with the rendered `figures` embedded."""
    checks = executed_checks(report)
    table1 = report["figures"].get("table1")
    smax = report["figures"].get("smax")
    if smax:
        from decdiff.report.smax import paper_reference_rows
    return _with_contents(_TEMPLATE.render(
        smax=smax,
        smax_caption=smax_caption(smax) if smax else "",
        smax_table=table1_rows(smax["table1"]) if smax else None,
        smax_paper=paper_reference_rows() if smax else None,
        r=report,
        figures=figures,
        b64=lambda png: base64.b64encode(png).decode("ascii"),
        read_me=READ_ME,
        summary_intro=SUMMARY_INTRO,
        claims={c["name"]: c for c in report["claims"]},
        statement_cell=statement_cell,
        searches=search_rows(report),
        timings_link=TIMINGS_LINK,
        trained=trained_rows(report),
        table=_table,
        table1=table1_rows(table1) if table1 else None,
        table1_caption=table1_caption(table1) if table1 else "",
        table1_claims=TABLE1_CLAIMS,
        mutation=mutation_rows(report["mutation"]) if report.get("mutation") else None,
        mutants=mutant_rows(report["mutation"]) if report.get("mutation") else None,
        mutation_caption=mutation_caption(report["mutation"]) if report.get("mutation") else "",
        derivations={d["derivation_id"]: d for d in report["derivations"]},
        mathml=mathml,
        checks_of=lambda name: [c for c in checks if c["claim"] == name],
        num=_number,
        search_sentence=search_sentence,
        failing=lambda c: ", ".join(k for k, v in c["assumptions"].items() if not v) or (c.get("skipped_reason") or ""),
    ))
