"""The build report's HTML page: `write_report` writes `<build>/report/index.html` from what
`report.gather` found.

One self-contained file (inline CSS and JS) that links the images with relative paths, so
`<build>/report/` opens from disk as well as from any static server. Every text taken from
the pages is escaped; a content security policy that admits only the page's own script and
style is a second guard against a caption that tries to run code.
"""
from __future__ import annotations

import base64
import hashlib
import posixpath
import time
import unicodedata
from collections import Counter
from html import escape
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from .atomic import atomic_path
from .readable import format_bytes, format_seconds
from .settings import ANIMATION_FORMATS
from .report import STATUSES, VIDEO_TYPES, AnimationView, PageView, ReportData, Shown, gather

BOX = 240  # largest side of an animation as shown, in CSS pixels
STRIP_HEIGHT = 72  # height of a thumbnail in the strip


def write_report(site, *, started: float | None = None) -> Path:
    """Write `<build>/report/index.html` and return its path."""
    target = site.settings.build_dir / "report" / "index.html"
    data = gather(site, started=started)
    with atomic_path(target) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.writelines(render_parts(data))  # a page's row at a time, not the whole page at once
    return target


def render(data: ReportData) -> str:
    """The whole report page."""
    return "".join(render_parts(data))


def render_parts(data: ReportData) -> Iterator[str]:
    """The report page in pieces, one per page row between the head and the tail."""
    head, tail = _PAGE.split("{rows}")
    yield head.format(
        csp=escape(_csp(), quote=True),
        icon=_ICON,
        style=_STYLE,
        summary=_summary(data),
        statuses="".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in STATUSES),
    )
    for number, view in enumerate(data.pages):
        yield ("\n" if number else "") + _page_row(view)
    if not data.pages:
        yield '<p class="empty">No pages with front matter were found.</p>'
    yield tail.format(site_findings=_site_findings(data.site_findings), script=_SCRIPT)


def _csp() -> str:
    """Only this page's own script and style may run: an injected handler or tag cannot."""
    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    return (f"default-src 'none'; script-src {digest(_SCRIPT)}; style-src {digest(_STYLE)}; "
            "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'")


def _summary(data: ReportData) -> str:
    views = [a for p in data.pages for a in p.animations]
    frames = sum(len(p.page.gallery) for p in data.pages)
    statuses = Counter(p.status for p in data.pages)
    facts = [
        ("pages", len(data.pages)),
        ("animations", len({v.animation.name for v in views})),  # one named on two pages: once
        ("gallery frames", frames),
    ] + [(status, statuses[status]) for status in STATUSES if statuses[status]]
    facts_html = "".join(
        f'<div class="fact"><b>{n}</b><span>{escape(label)}</span></div>' for label, n in facts
    )
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(data.finished))
    took = (f" in {format_seconds(data.finished - data.started)} (this run, from loading the tasks "
            "to writing this page)") if data.started else ""
    sheets = "".join(f' <a href="{_href("../" + s)}">{escape(posixpath.basename(s))}</a>'
                     for s in data.overview_sheets)
    return (
        f'<div class="facts">{facts_html}</div>'
        f'<p class="when">Built {built}{took}.{" Overview sheets:" + sheets if sheets else ""}</p>'
        f"{_format_table(views, data.pages)}{_problem_table(data)}"
    )


def _format_table(views: list[AnimationView], pages) -> str:
    rows = []
    kinds = [k for k in ANIMATION_FORMATS if any(o.kind == k for a in views for o in a.outputs)]
    for kind in kinds:
        # one per file: an animation two pages name is one set of files
        pairs = list({o.path: (o, a) for a in views for o in a.outputs if o.kind == kind}.values())
        built = [(o, a) for o, a in pairs if o.bytes is not None]
        out_bytes = sum(o.bytes for o, _ in built)
        src_bytes = sum(a.source_bytes for _, a in built)
        saved = src_bytes - out_bytes
        rows.append(
            f"<tr><th>{escape(kind.upper())}</th><td>{len(built)} of {len(pairs)}</td>"
            f"<td>{format_bytes(out_bytes)}</td><td>{format_bytes(src_bytes)}</td>"
            f"<td>{format_bytes(saved) if built else '–'}</td><td>{_ratio(out_bytes, src_bytes)}</td></tr>"
        )
    thumbnails = {shown.path: shown for p in pages for _, shown in p.thumbnails}  # one per frame
    if thumbnails:
        built_thumbs = [t.bytes for t in thumbnails.values() if t.bytes is not None]
        rows.append(f"<tr><th>thumbnails</th><td>{len(built_thumbs)} of {len(thumbnails)}</td>"
                    f"<td>{format_bytes(sum(built_thumbs))}</td><td>–</td><td>–</td><td>–</td></tr>")
    if not rows:
        return ""
    return ('<table class="formats-total"><thead><tr><th>format</th><th>built</th><th>bytes</th>'
            "<th>their source frames</th><th>saved</th><th>ratio</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _problem_table(data: ReportData) -> str:
    findings = [f for p in data.pages for f in p.findings] + list(data.site_findings)
    if not data.verified:
        return '<p class="note">verify.json was not found: run <code>pipeline verify</code> to list problems.</p>'
    if not findings:
        return '<p class="note ok-note">verify found no problems.</p>'
    counts = Counter((f.severity, f.code) for f in findings)
    cells = "".join(
        f'<span class="code {escape(sev)}">{escape(str(code))} <b>{n}</b></span>'
        for (sev, code), n in sorted(counts.items(), key=lambda item: (item[0][0] != "error", item[0][1]))
    )
    return f'<p class="codes">Problems by code: {cells}</p>'


def _page_row(view: PageView) -> str:
    page = view.page
    words = [page.title, page.path, view.status] + [a.animation.name for a in view.animations]
    status_class = view.status.replace(" ", "-")
    animations = "".join(_animation_block(a) for a in view.animations)
    return (
        f'<section class="row {status_class}" data-status="{escape(view.status)}" '
        f'data-text="{escape(unicodedata.normalize("NFC", " ".join(words)).lower())}">'
        f'<header><span class="badge {status_class}">{escape(view.status)}</span>'
        f'<h2>{_isolated(page.title or "(untitled)")}</h2><code class="src">{_isolated(page.path)}</code></header>'
        f"{animations}{_strip(view.thumbnails)}{_findings_table(view.findings)}</section>"
    )


def _animation_block(view: AnimationView) -> str:
    animation = view.animation
    width, height = view.source_size
    frames = view.made_from.frames
    if not view.built:
        facts = ["no gallery frames: its own file is shipped as it is"]
    else:
        facts = [f"{len(frames)} frames"] + ([f"{width}×{height}"] if width else [])
        facts.append(f"source frames {format_bytes(view.source_bytes)}")
        if view.made_from.page != animation.page:
            facts.append(f"made from the gallery of {view.made_from.page}")
    figures = "".join(_figure(o, view, view.poster) for o in view.outputs)
    sheet = (f' <a class="sheet" href="{_href("../" + view.contact)}">contact sheet</a>'
             if view.contact else ' <span class="muted">no contact sheet</span>')
    return (
        f'<div class="anim"><h3><code>{_isolated(animation.name)}</code> '
        f'<span class="muted">{_isolated(animation.title)} · line {animation.line} · '
        f'{escape(" · ".join(facts))}</span>{sheet}</h3>'
        f'<div class="formats">{figures}</div></div>'
    )


def _figure(output: Shown, view: AnimationView, poster: str | None) -> str:
    label = escape(output.kind.upper())
    if output.bytes is None:
        return (f'<figure class="fmt missing" title="{escape(output.path, quote=True)}">'
                f'<div class="placeholder">not built</div><figcaption><b>{label}</b> not built'
                "</figcaption></figure>")
    width, height = _fit(output.width, output.height, BOX, BOX)
    src = _href("../images/" + output.path)
    alt = escape(view.animation.alt, quote=True)
    if output.kind in VIDEO_TYPES:
        # posters load eagerly; the script sets them only for videos near the viewport
        poster_attr = f' data-poster="{_href("../images/" + poster)}"' if poster else ""
        media = (f'<video controls muted loop playsinline preload="none" width="{width}" '
                 f'height="{height}"{poster_attr} aria-label="{alt}">'
                 f'<source src="{src}" type="{VIDEO_TYPES[output.kind]}"></video>')
    else:
        media = f'<img src="{src}" width="{width}" height="{height}" loading="lazy" alt="{alt}">'
    ratio = _ratio(output.bytes, view.source_bytes)
    return (f'<figure class="fmt">{media}<figcaption><b>{label}</b> {format_bytes(output.bytes)}'
            f' · {ratio} of frames</figcaption></figure>')


def _strip(thumbnails) -> str:
    if not thumbnails:
        return ""
    cells = []
    for entry, shown in thumbnails:
        text = escape(entry.caption or entry.title or entry.image_url, quote=True)
        if shown.bytes is None:
            cells.append(f'<span class="thumb missing" title="{text}">not built</span>')
            continue
        width, height = _fit(shown.width, shown.height, 4 * STRIP_HEIGHT, STRIP_HEIGHT)
        cells.append(
            f'<figure class="thumb"><img src="{_href("../images/" + shown.path)}" width="{width}" '
            f'height="{height}" loading="lazy" alt="{text}" title="{text}">'
            f"<figcaption>{_isolated(entry.caption or entry.title)}</figcaption></figure>"
        )
    return f'<div class="strip">{"".join(cells)}</div>'


def _isolated(text: str) -> str:
    """Text from a page, escaped and isolated (`<bdi>`): a right-to-left override in a title,
    never closed, turned the report's own words after it around."""
    return f"<bdi>{escape(text)}</bdi>"


def _findings_table(findings) -> str:
    if not findings:
        return ""
    rows = "".join(
        f'<tr class="{escape(str(f.severity))}"><td><code>{_isolated(f.location())}</code></td>'
        f"<td>{escape(str(f.code))}</td><td><code>{_isolated(str(f.reference))}</code></td>"
        f"<td>{_isolated(str(f.message))}</td></tr>"
        for f in findings
    )
    return f'<table class="problems"><tbody>{rows}</tbody></table>'


def _site_findings(findings) -> str:
    if not findings:
        return ""
    return (f'<section class="row site"><header><h2>Other problems</h2><span class="muted">image files no page names, or pages not found any more</span></header>'
            f"{_findings_table(findings)}</section>")


def _fit(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The size shown: the intrinsic size, scaled down to fit the box, aspect kept."""
    if not (width and height):
        side = min(box_width, box_height)
        return side, side
    scale = min(1.0, box_width / width, box_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _href(relative: str) -> str:
    return escape(quote(relative, safe="/"), quote=True)


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


# the page's own icon, inline: browsers ask for one, and a static server has none to give
_ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
         "%3Crect width='16' height='16' rx='3' fill='%232e7d32'/%3E%3C/svg%3E")

_STYLE = """
:root{--ok:#2e7d32;--warning:#b26a00;--error:#c62828;--not-built:#5f6368;--line:#dadce0}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#202124;background:#f8f9fa}
header.top{background:#fff;padding:12px 20px 0}
h1{font-size:20px;margin:0 0 8px}
main{padding:12px 20px}
.facts{display:flex;flex-wrap:wrap;gap:8px}
.fact{border:1px solid var(--line);border-radius:6px;padding:4px 10px;background:#fff}
.fact b{font-size:18px;margin-right:6px}
.when,.codes,.note{margin:8px 0}
.code{display:inline-block;border-radius:4px;padding:0 6px;margin:2px;color:#fff;background:var(--warning)}
.code.error{background:var(--error)}
table{border-collapse:collapse;background:#fff}
td,th{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
.formats-total td{text-align:right}
.filter{position:sticky;top:0;z-index:1;display:flex;gap:8px;align-items:center;background:#fff;border-bottom:1px solid var(--line);padding:8px 20px}
.filter input{flex:0 1 360px;padding:5px 8px;font:inherit}
.filter select{padding:5px;font:inherit}
[hidden]{display:none!important}
.row{content-visibility:auto;contain-intrinsic-size:auto 520px;background:#fff;border:1px solid var(--line);border-left:6px solid var(--ok);border-radius:6px;margin:0 0 14px;padding:10px 14px}
.row.warning{border-left-color:var(--warning)}
.row.error{border-left-color:var(--error)}
.row.not-built{border-left-color:var(--not-built)}
.row.site{border-left-color:var(--warning)}
.row header{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.row h2{font-size:17px;margin:0}
.row h2,.src,.anim h3,.problems td{overflow-wrap:anywhere}
.badge{color:#fff;border-radius:10px;padding:0 9px;font-size:12px;font-weight:600;background:var(--ok)}
.badge.warning{background:var(--warning)}
.badge.error{background:var(--error)}
.badge.not-built{background:var(--not-built)}
.src,.muted{color:#5f6368}
.anim h3{font-size:14px;font-weight:normal;margin:10px 0 6px}
.formats{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end}
.fmt{margin:0;text-align:center}
.fmt img,.fmt video{display:block;background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px;max-width:100%;height:auto}
.fmt figcaption{font-size:12px;margin-top:3px}
.placeholder{width:160px;height:120px;display:flex;align-items:center;justify-content:center;background:#eceff1;color:var(--not-built);border:1px dashed var(--not-built)}
.strip{display:flex;gap:4px;overflow-x:auto;padding:8px 0 4px}
.thumb{margin:0;flex:none;text-align:center}
.thumb img{display:block;height:72px;width:auto}
.thumb figcaption{font-size:10px;color:#5f6368;max-width:96px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
span.thumb.missing{display:flex;align-items:center;justify-content:center;width:72px;height:72px;font-size:11px;background:#eceff1;color:var(--not-built);border:1px dashed var(--not-built)}
.problems{margin-top:8px;font-size:13px;width:100%}
.problems tr.error td:first-child{border-left:4px solid var(--error)}
.problems tr.warning td:first-child{border-left:4px solid var(--warning)}
.empty{color:#5f6368}
"""

_SCRIPT = """
(function () {
  var box = document.getElementById('filter');
  var select = document.getElementById('status');
  var shown = document.getElementById('shown');
  var rows = Array.prototype.slice.call(document.querySelectorAll('section.row[data-status]'));
  function apply() {
    var words = box.value.normalize('NFC').trim().toLowerCase().split(/\\s+/).filter(Boolean);
    var status = select.value;
    var count = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute('data-text');
      var keep = (!status || row.getAttribute('data-status') === status) &&
        words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' pages shown';
  }
  box.addEventListener('input', apply);
  select.addEventListener('change', apply);
  apply();
  var videos = document.querySelectorAll('video[data-poster]');
  if ('IntersectionObserver' in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          entry.target.poster = entry.target.getAttribute('data-poster');
          observer.unobserve(entry.target);
        }
      });
    }, {rootMargin: '400px'});
    videos.forEach(function (video) { observer.observe(video); });
  } else {
    videos.forEach(function (video) { video.poster = video.getAttribute('data-poster'); });
  }
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>atlas-pipeline build report</title>
<link rel="icon" href="{icon}">
<style>{style}</style>
</head>
<body>
<header class="top">
<h1>Build report</h1>
{summary}
</header>
<div class="filter">
<input id="filter" type="search" placeholder="Filter by name, page or status" aria-label="Filter pages">
<select id="status" aria-label="Status"><option value="">any status</option>{statuses}</select>
<span id="shown" class="muted"></span>
</div>
<main>
{rows}
{site_findings}
</main>
<script>{script}</script>
</body>
</html>
"""
