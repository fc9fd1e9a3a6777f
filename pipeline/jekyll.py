"""What the Jekyll site reads from the build: `_data/assets.json` and the animation include.

Jekyll loads `_data/assets.json` as `site.data.assets` without any plugin, so templates can
set `width`/`height` and pick formats from it. The include plays an animation the way the
site's page-image include does (title and aria-label from the page's `images` entry), as a
muted looping video with WebM then MP4 sources, an animated WebP/GIF `<picture>` for browsers
without video, the first frame as poster, and a still for visitors who ask for reduced motion.
"""
from __future__ import annotations

from urllib.parse import quote

from .catalog import Animation

ANIMATION_FORMATS = ("gif", "webp", "avif", "webm", "mp4")


def described_paths(animations: list[Animation]) -> set[str]:
    """The files whose asset-manifest entries `animation_entries` reads: every format of each
    animation and its poster frame."""
    paths = set()
    for animation in animations:
        paths.update(animation.file(fmt) for fmt in ANIMATION_FORMATS)
        if animation.frames:
            paths.add(animation.frames[0].image_url)
    return paths


def animation_entries(animations: list[Animation], files: dict[str, dict]) -> dict:
    """The `animations` part of `_data/assets.json`.

    `animations`: one per name (`plan.animations_by_name`). `files` maps bundled paths (at
    least those of `described_paths` that are bundled) to their asset-manifest entries; per
    animation name (as pages write `image_name`) this gives its size, frames, running time,
    poster and the path of each format present.
    """
    entries = {}
    for animation in animations:
        formats = {fmt: animation.file(fmt) for fmt in ANIMATION_FORMATS if animation.file(fmt) in files}
        if not formats:
            continue
        timed = files.get(formats.get("gif") or formats.get("webp") or next(iter(formats.values())))
        poster = animation.frames[0].image_url if animation.frames else None
        sized = files.get(poster) or timed
        poster = poster if poster in files else None
        entries[animation.name] = {
            "title": animation.title,
            "alt": animation.alt,
            "width": sized["width"],
            "height": sized["height"],
            "frames": timed["frames"],
            "duration": timed["duration"],
            "poster": poster,
            **formats,
            **{f"{fmt}_type": _source_type(files[path]) for fmt, path in formats.items() if fmt in ("webm", "mp4")},
            # what the include writes into src and poster attributes (see `url_path`)
            **{f"{fmt}_url": url_path(path) for fmt, path in formats.items()},
            "poster_url": url_path(poster) if poster else None,
        }
    return entries


def url_path(path: str) -> str:
    """`path` as a URL path: every byte but letters, digits, `/` and `_.-~` percent-encoded,
    so that a name with a space, `#`, `?`, `%`, a quote or `&` reaches the browser as that
    file's name, and is safe in an HTML attribute as it is."""
    return quote(path, safe="/")


def _source_type(entry: dict) -> str:
    """A video's `<source type>`: its MIME type and, when known, its codecs (unquoted: one
    codec, and the attribute is already in double quotes)."""
    codecs = entry.get("codecs")
    return f"{entry['mime']}; codecs={codecs}" if codecs else entry["mime"]


INCLUDE = """\
{%- comment -%}
  atlas-animation.html, written by atlas-pipeline: plays one animation of the page.
  Usage: {% include atlas-animation.html %} (the page's first `images` entry), or another
  entry through a variable (Jekyll takes no brackets in include parameters):
         {% assign second = page.images[1] %}{% include atlas-animation.html image=second %}
  Reads site.data.assets (the pipeline's _data/assets.json) for sizes, formats and poster;
  file URLs (percent-encoded there) are prefixed with site.urlimg, as the site's other
  includes do. An animation with no entry there is shown as the image the page names,
  percent-encoded here (url_encode writes a space as '+' and '/' as %2F: both put back);
  a page that names none gets nothing.
{%- endcomment -%}
{%- assign image = include.image | default: page.images[0] -%}
{%- assign asset = site.data.assets.animations[image.image_name] -%}
{%- assign base = include.base | default: site.urlimg -%}
{%- assign title = image.image_title | default: asset.title -%}
{%- assign alt = image.image_alt | default: asset.alt | strip -%}
{%- if asset -%}
<figure class="atlas-animation{% if asset.poster_url %} atlas-animation-with-still{% endif %}">
  <video class="atlas-animation-video" autoplay loop muted playsinline preload="auto"
         width="{{ asset.width }}" height="{{ asset.height }}"
         {% if asset.poster_url %}poster="{{ base }}{{ asset.poster_url }}"{% endif %}
         title="{{ title | escape }}" aria-label="{{ alt | escape }}">
    {%- if asset.webm %}
    <source src="{{ base }}{{ asset.webm_url }}" type="{{ asset.webm_type | default: 'video/webm' }}">
    {%- endif %}
    {%- if asset.mp4 %}
    <source src="{{ base }}{{ asset.mp4_url }}" type="{{ asset.mp4_type | default: 'video/mp4' }}">
    {%- endif %}
    <picture>
      {%- if asset.avif %}
      <source srcset="{{ base }}{{ asset.avif_url }}" type="image/avif">
      {%- endif %}
      {%- if asset.webp %}
      <source srcset="{{ base }}{{ asset.webp_url }}" type="image/webp">
      {%- endif %}
      <img src="{{ base }}{% if asset.gif_url %}{{ asset.gif_url }}{% else %}{{ image.image_name | url_encode | replace: '%2F', '/' | replace: '+', '%20' }}{% endif %}" width="{{ asset.width }}" height="{{ asset.height }}"
           alt="{{ alt | escape }}" title="{{ title | escape }}">
    </picture>
  </video>
  {%- if asset.poster_url %}
  <img class="atlas-animation-still" src="{{ base }}{{ asset.poster_url }}" width="{{ asset.width }}"
       height="{{ asset.height }}" alt="{{ alt | escape }}" title="{{ title | escape }}" hidden>
  {%- endif %}
</figure>
{%- unless atlas_animation_style_done %}
<style>
  @media (prefers-reduced-motion: reduce) {
    .atlas-animation-with-still .atlas-animation-video { display: none; }
    .atlas-animation-still { display: block !important; }
  }
</style>
<script>
  /* Reduced motion: stop the videos (hidden by the style above, they would still play and
     download) and show the first frame instead; an animation without one (made by hand,
     no gallery) stays as its stopped video, which shows its first picture. */
  (function () {
    var query = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");
    function apply() {
      document.querySelectorAll(".atlas-animation").forEach(function (figure) {
        var video = figure.querySelector("video");
        var still = figure.querySelector(".atlas-animation-still");
        if (!video) { return; }
        if (query && query.matches) {
          video.removeAttribute("autoplay");
          video.pause();
          if (still) { still.hidden = false; }
        } else {
          if (still) { still.hidden = true; }
          video.play && video.play().catch(function () {});
        }
      });
    }
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", apply);
    } else {
      apply();
    }
    if (query && query.addEventListener) { query.addEventListener("change", apply); }
  })();
</script>
{%- assign atlas_animation_style_done = true -%}
{%- endunless %}
{%- elsif image.image_name -%}
<img src="{{ base }}{{ image.image_name | url_encode | replace: '%2F', '/' | replace: '+', '%20' }}" alt="{{ alt | escape }}" title="{{ title | escape }}">
{%- endif -%}
"""
