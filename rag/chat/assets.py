"""The page's look: its theme (fonts, colours) and stylesheet.

Nothing here loads anything from outside the machine. The page's JavaScript
is in ``rag.chat.scripts``.
"""

from __future__ import annotations

# Below this width the page is a phone page: one column, the viewer an overlay.
NARROW_PX = 720

# The system's own sans-serif, in every weight it has. Gradio's bundled
# Source Sans Pro SemiBold holds only a few glyphs, so headings and buttons
# mixed two fonts letter by letter (issue 25); a system stack has no such gap
# and downloads nothing.
FONTS = (
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Noto Sans",
    "Liberation Sans",
    "DejaVu Sans",
    "Arial",
    "sans-serif",
)
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "DejaVu Sans Mono", "monospace")


def theme():
    """Gradio's default theme with the system fonts, and text that reads at 4.5:1 or more
    against its background (axe-core's colour-contrast rule, tests/test_ui_a11y.py): the
    primary button's white on orange 500 was 2.8:1, hint text 1.9:1."""
    import gradio as gr

    return gr.themes.Default(primary_hue="orange", font=FONTS, font_mono=MONO).set(
        color_accent="*primary_700",
        color_accent_soft="*primary_50",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_border_color="*primary_700",
        button_primary_text_color="white",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_600",
        button_primary_text_color_dark="white",
        checkbox_background_color_selected="*primary_700",
        checkbox_border_color_selected="*primary_700",
        slider_color="*primary_700",
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_300",
        block_info_text_color="*neutral_600",
        block_info_text_color_dark="*neutral_300",
        input_placeholder_color="*neutral_500",
        input_placeholder_color_dark="*neutral_400",
        loader_color="*primary_700",
    )


CSS = """
/* Muted text with its own colour, never opacity: opacity on grey text fell
   under 4.5:1 (axe-core). */
:root { --rag-muted: #525252; --rag-mark: #fff0a0; --rag-mark-strong: #ffd43b; }
.dark { --rag-muted: #c4c4c4; }
.gradio-container, .gradio-container button, .gradio-container input, .gradio-container textarea {
  font-family: var(--font); }

/* ---- first screen: title and documents side by side, short, so that the
   question box is on the first screen too */
#rag-top { align-items: flex-start; gap: 4px 24px; }
.rag-header h1 { font-size: 1.5rem; font-weight: 700; margin: 0 0 4px; line-height: 1.2; }
.rag-header p { margin: 0; line-height: 1.45; }
.rag-doclist .rag-label { font-weight: 600; }
.rag-doclist ul { margin: 4px 0 0; padding: 0; list-style: none; }
.rag-doclist li { margin: 2px 0; line-height: 1.35; }
#rag-documents { gap: 6px; }
#rag-status:has(.rag-status:empty), #rag-count:has(.rag-count:empty) { display: none; }
.rag-meta { color: var(--rag-muted); font-size: 0.85em; }
.rag-scope-note { margin: 4px 0 0; font-size: 0.9em; color: var(--rag-muted); }
#rag-manage > .label-wrap { padding: 6px 10px; }
.rag-docbtn, .rag-src, .rag-cite, .rag-allsrc, .rag-back {
  font: inherit; background: none; border: 0; padding: 0; cursor: pointer; color: var(--link-text-color);
  text-align: left; }
.rag-docbtn:hover, .rag-src:hover, .rag-cite:hover, .rag-allsrc:hover { text-decoration: underline; }

/* ---- focus: visible on every control */
:is(.rag-docbtn, .rag-src, .rag-cite, .rag-allsrc, .rag-back, .rag-card, .rag-copy, .rag-doc):focus-visible,
#rag-documents input[type=checkbox]:focus-visible, #rag-options input:focus-visible,
.gradio-container button:focus-visible, .gradio-container .label-wrap:focus-visible {
  outline: 3px solid var(--color-accent) !important; outline-offset: 2px; }
#rag-question textarea:focus { outline: 3px solid var(--color-accent) !important; outline-offset: 0;
  border-color: var(--color-accent) !important; }

/* ---- the conversation */
#rag-chat { height: calc(100vh - 370px); min-height: 260px; overflow-y: auto !important;
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0 14px; }
.rag-empty-chat { padding: 18px 2px; color: var(--rag-muted); }
.rag-turn { padding: 0 0 12px; border-bottom: 1px solid var(--border-color-primary); }
.rag-turn:last-child { border-bottom: 0; }
.rag-q { position: sticky; top: 0; z-index: 2; background: var(--background-fill-primary);
  padding: 10px 0 6px; box-shadow: 0 1px 0 var(--border-color-primary); font-weight: 600; line-height: 1.4;
  overflow-wrap: anywhere; max-height: 7.5em; overflow-y: auto; }
.rag-you { font-weight: 400; color: var(--rag-muted); font-size: 0.85em; margin-right: 6px; }
.rag-searched, .rag-note { font-size: 0.88em; color: var(--rag-muted); margin: 2px 0 6px; overflow-wrap: anywhere; }
.rag-quote { position: relative; margin: 10px 0 12px 1.3em; padding: 0; border: 0; line-height: 1.55;
  overflow-wrap: anywhere; }
.rag-qt { white-space: pre-wrap; }
.rag-qm { color: var(--color-accent); font-weight: 700; font-family: Georgia, serif; font-size: 1.3em;
  line-height: 0; }
.rag-quote > .rag-qm:first-child { position: absolute; left: -0.85em; top: 0.62em; }
.rag-end > .rag-qm { margin-left: 1px; }
.rag-cite { font-weight: 600; }
.rag-end { white-space: nowrap; }
.rag-srcline { font-size: 0.88em; margin: 8px 0 4px; line-height: 1.6; }
.rag-label { color: var(--rag-muted); }
.rag-doclist .rag-label { color: inherit; }
.rag-tools { margin-top: 6px; }
.rag-copy { font: inherit; font-size: 0.85em; padding: 3px 10px; border-radius: 6px; cursor: pointer;
  color: var(--body-text-color); border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.rag-abstain { font-weight: 600; margin: 8px 0; }
.rag-caution { border-left: 3px solid #c77d00; padding: 4px 8px; margin: 6px 0; font-weight: 600; }
.rag-related ul { margin: 4px 0; padding-left: 1.1em; }
.rag-related li { margin: 4px 0; font-size: 0.92em; }
.rag-snip { color: var(--rag-muted); }
.rag-wait { color: var(--rag-muted); font-style: italic; }
.rag-group-title { margin: 12px 0 2px; font-size: 0.95em; }
/* A fresh answer arrives whole; its parts fade in one after another. */
@keyframes rag-in { from { opacity: 0; } to { opacity: 1; } }
.rag-reveal .rag-a > *, .rag-reveal .rag-group > * {
  animation: rag-in 0.28s ease-out both; animation-delay: calc(var(--rag-i, 0) * 0.16s); }
@media (prefers-reduced-motion: reduce) { .rag-reveal .rag-a > *, .rag-reveal .rag-group > * { animation: none; } }
#rag-status, #rag-count { min-height: 0; }
.rag-status { font-size: 0.9em; margin: 0; }
.rag-status:empty, .rag-count:empty { display: none; }
.rag-count { font-size: 0.85em; margin: 0; color: var(--rag-muted); }
.rag-count.rag-over { color: var(--body-text-color); font-weight: 600; }

/* ---- the question box */
#rag-input { flex-wrap: wrap; gap: 8px; align-items: stretch; }
#rag-input > #rag-question { flex: 1 1 300px; min-width: 0 !important; }
#rag-input > button { flex: 0 0 auto; min-width: 72px !important; }
#rag-examples { flex-wrap: wrap; gap: 6px; }
#rag-examples button { flex: 0 1 auto; white-space: normal; text-align: left; height: auto; min-width: 0 !important;
  line-height: 1.3; }

/* ---- sources and the document viewer */
.rag-panel-head { position: sticky; top: 0; z-index: 3; background: var(--background-fill-primary);
  padding: 2px 0 6px; }
.rag-panel-title { margin-top: 2px; overflow-wrap: anywhere; }
.rag-asked { color: var(--rag-muted); font-size: 0.9em; }
.rag-back { display: none; font-weight: 600; padding: 6px 0; }
.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 8px 0; cursor: pointer; }
.rag-card:hover { border-color: var(--color-accent); }
.rag-card-head { font-size: 0.92em; margin-bottom: 4px; overflow-wrap: anywhere; }
.rag-nums { color: var(--color-accent); font-weight: 700; }
.rag-loc, .rag-span { color: var(--rag-muted); font-size: 0.9em; }
.rag-passage { white-space: pre-wrap; font-size: 0.92em; line-height: 1.5; overflow-wrap: anywhere; }
.rag-doc { white-space: pre-wrap; max-height: calc(100vh - 150px); overflow-y: auto; padding: 8px 12px;
  border: 1px solid var(--border-color-primary); border-radius: 8px; line-height: 1.55; overflow-wrap: anywhere; }
mark.rag-m, mark.rag-passage-mark { color: #111; border-radius: 2px; padding: 0 1px; background: var(--rag-mark); }
mark.rag-current { background: var(--rag-mark-strong); box-shadow: 0 0 0 2px #e8a800; }
mark.rag-passage-mark { background: #d6e6ff; box-shadow: none; }
sup.rag-n { color: var(--color-accent); font-weight: 700; font-size: 0.72em; margin-right: 1px; }
.rag-empty { color: var(--rag-muted); font-size: 0.92em; margin: 4px 0 8px; }
@media (min-width: %(wide)dpx) {
  /* The newest turn fills the box, so that it can always be scrolled to its top. */
  .rag-conv > .rag-turn:last-child { min-height: calc(max(260px, 100vh - 370px) - 2px); }
  .rag-doc { max-height: calc(100vh - 240px); }
  #rag-side { position: sticky; top: 8px; align-self: flex-start; max-height: calc(100vh - 16px);
    overflow-y: auto; }
}
@media (max-width: %(narrow)dpx) {
  .rag-header p { font-size: 0.92em; }
  #rag-chat { height: auto; min-height: 0; overflow: visible !important; border: 0; padding: 0 2px; }
  .rag-empty-chat { padding: 6px 2px; }
  #rag-input > #rag-question { flex-basis: 100%%; }
  #rag-input > button { flex: 1 1 0 !important; }
  #rag-side { display: none !important; }
  #rag-side.rag-open { display: flex !important; position: fixed !important; inset: 0; z-index: 1000;
    margin: 0 !important; padding: 8px 12px; width: auto !important; min-width: 0 !important;
    background: var(--background-fill-primary); overflow-y: auto; }
  #rag-side.rag-open .rag-back { display: block; }
  html.rag-overlay-open, html.rag-overlay-open body { overflow: hidden; }
  .rag-doc { max-height: calc(100vh - 140px); }
}

/* ---- adding documents */
.rag-refused-here { margin: 4px 0 0; font-weight: 600; }
/* Room for the one progress bar while documents are read and embedded. */
#rag-doc-status:has(.progress-text, .progress-level-inner) { min-height: 84px; }
.rag-refused-here:empty { display: none; }

/* ---- the inspector: fits its box at desktop width, scrolls inside it on a phone */
.rag-table-wrap { overflow-x: auto; max-width: 100%%; }
.rag-inspector table { border-collapse: collapse; font-size: 0.85em; table-layout: fixed; width: 100%%; }
.rag-inspector col.rag-rank-col { width: 3.2em; }
.rag-inspector th, .rag-inspector td { border: 1px solid var(--border-color-primary); padding: 4px 6px;
  vertical-align: top; text-align: left; overflow-wrap: anywhere; }
.rag-desc { font-weight: 400; color: var(--rag-muted); font-size: 0.9em; }
.rag-hit-quoted { background: rgba(255, 212, 59, 0.22); }
.rag-quoted { background: #ffd43b; color: #111; border-radius: 4px; padding: 0 4px; font-size: 0.85em; }
@media (max-width: %(narrow)dpx) { .rag-inspector table { width: 760px; } }
""" % {"narrow": NARROW_PX, "wide": NARROW_PX + 1}
