"""The page's stylesheet and the JavaScript its HTML components run on load.

No inline ``<script>``: the server's Content-Security-Policy forbids it, so
all behaviour comes through ``gr.HTML(js_on_load=...)``. Nothing here loads
anything from outside the machine.
"""

from __future__ import annotations

# Below this width the page is a phone page: one column, the viewer an overlay.
NARROW_PX = 720

# On the conversation (#rag-chat). Copy buttons put plain text on the
# clipboard; a new question is scrolled to the top of the conversation (on a
# phone, of the screen) so that its answer is read from the start.
CHAT_JS = """
const box = element.closest('#rag-chat') || element;
const narrow = () => window.matchMedia('(max-width: %(narrow)dpx)').matches;
let shown = null;
// Scrolled to when it appears and again when its answer is complete: while
// it is pending there may not be enough below it to scroll that far.
const bringNewest = () => {
  const turns = element.querySelectorAll('.rag-turn');
  const newest = turns.length ? turns[turns.length - 1] : null;
  const pending = !!newest && newest.classList.contains('rag-pending');
  const id = newest ? newest.getAttribute('data-turn') + (pending ? '…' : '') : null;
  if (id === shown) return;
  const asked = pending || (shown !== null && shown === id + '…');
  shown = id;
  if (!newest) return;
  if (narrow()) {
    if (asked) window.scrollTo(0, newest.getBoundingClientRect().top + window.scrollY - 8);
  } else {
    box.scrollTop += newest.getBoundingClientRect().top - box.getBoundingClientRect().top - 2;
  }
};
watch('value', bringNewest);
bringNewest();
element.addEventListener('click', (event) => {
  const button = event.target && event.target.closest ? event.target.closest('.rag-copy') : null;
  if (!button) return;
  event.preventDefault();
  const text = button.getAttribute('data-copy') || '';
  const done = (ok) => {
    button.textContent = ok ? 'Copied' : 'Could not copy: select the text instead';
    setTimeout(() => { button.textContent = 'Copy quotations'; }, 2000);
  };
  const fallback = () => {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
    done(ok);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => done(true), fallback);
  } else {
    fallback();
  }
});
""" % {"narrow": NARROW_PX}

# On the viewer (#rag-viewer). A click on anything with data-cite (a [n] in
# an answer, a source, a card, a document's title) asks Python for that
# panel ("cite" event). On a wide screen the panel sits beside the answer and
# only its own box scrolls (never the page); on a phone it opens as an
# overlay with a way back. Capture phase, once for the whole page.
VIEWER_JS = """
const side = element.closest('#rag-side');
const narrow = () => window.matchMedia('(max-width: %(narrow)dpx)').matches;
let opener = null;
let wanted = null;
const current = () => {
  const panel = element.querySelector('.rag-panel');
  return panel ? panel.getAttribute('data-key') : null;
};
const place = () => {
  const doc = element.querySelector('.rag-doc');
  if (side) side.scrollTop = 0;
  if (!doc) return;
  const mark = doc.querySelector('.rag-current');
  if (mark) {
    doc.scrollTop += mark.getBoundingClientRect().top - doc.getBoundingClientRect().top - doc.clientHeight / 3;
  } else {
    doc.scrollTop = 0;
  }
};
const open = () => {
  if (!side || !narrow()) return;
  side.classList.add('rag-open');
  document.documentElement.classList.add('rag-overlay-open');
  const back = element.querySelector('.rag-back');
  if (back) back.focus({preventScroll: true});
  place();  // now that the panel is shown, its mark has a place to scroll to
};
const close = () => {
  if (!side || !side.classList.contains('rag-open')) return;
  side.classList.remove('rag-open');
  document.documentElement.classList.remove('rag-overlay-open');
  const again = opener && document.querySelector('#rag-chat [data-cite="' + CSS.escape(opener) + '"]');
  if (again) again.focus({preventScroll: true});
};
window.__ragClose = close;
window.__ragCite = (key, fromChat) => {
  if (fromChat) opener = key;
  if (key && key === current()) { place(); open(); return; }
  wanted = key;
  trigger('cite', {key: key});
};
watch('value', () => {
  place();
  if (wanted && current() === wanted) { wanted = null; open(); }
});
if (!window.__ragListening) {
  window.__ragListening = true;
  document.addEventListener('click', (event) => {
    const target = event.target;
    if (!target || !target.closest) return;
    if (target.closest('[data-close]')) { event.preventDefault(); window.__ragClose(); return; }
    const el = target.closest('[data-cite]');
    if (!el) return;
    event.preventDefault();
    event.stopPropagation();
    window.__ragCite(el.getAttribute('data-cite'), !!el.closest('#rag-chat'));
  }, true);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { window.__ragClose(); return; }
    const el = event.target;
    if ((event.key === 'Enter' || event.key === ' ') && el && el.matches && el.matches('[role=button][data-cite]')) {
      event.preventDefault();
      window.__ragCite(el.getAttribute('data-cite'), false);
    }
  }, true);
}
""" % {"narrow": NARROW_PX}

CSS = """
/* ---- first screen */
#rag-top { align-items: flex-start; gap: 8px 24px; }
.rag-header h1 { font-size: 1.55rem; margin: 0 0 4px; }
.rag-header p { margin: 0; opacity: 0.85; line-height: 1.45; }
.rag-doclist .rag-label { font-weight: 600; }
.rag-doclist ul { margin: 4px 0 0; padding-left: 1.1em; }
.rag-doclist li { margin: 3px 0; line-height: 1.35; }
.rag-meta { opacity: 0.65; font-size: 0.85em; }
.rag-docbtn, .rag-src, .rag-cite, .rag-allsrc, .rag-back {
  font: inherit; background: none; border: 0; padding: 0; cursor: pointer; color: var(--link-text-color);
  text-align: left; }
.rag-docbtn:hover, .rag-src:hover, .rag-cite:hover, .rag-allsrc:hover { text-decoration: underline; }
:is(.rag-docbtn, .rag-src, .rag-cite, .rag-allsrc, .rag-back, .rag-card, .rag-copy):focus-visible {
  outline: 2px solid var(--color-accent); outline-offset: 2px; }

/* ---- the conversation */
#rag-chat { height: calc(100vh - 400px); min-height: 300px; overflow-y: auto !important;
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0 14px; }
.rag-empty-chat { opacity: 0.7; padding: 18px 2px; }
.rag-turn { padding: 0 0 12px; border-bottom: 1px solid var(--border-color-primary); }
.rag-turn:last-child { border-bottom: 0; }
.rag-q { position: sticky; top: 0; z-index: 2; background: var(--background-fill-primary);
  padding: 10px 0 6px; box-shadow: 0 1px 0 var(--border-color-primary); font-weight: 600; line-height: 1.4;
  overflow-wrap: anywhere; max-height: 7.5em; overflow-y: auto; }
.rag-you { font-weight: 400; opacity: 0.6; font-size: 0.85em; margin-right: 6px; }
.rag-searched, .rag-note { font-size: 0.88em; opacity: 0.8; margin: 2px 0 6px; overflow-wrap: anywhere; }
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
.rag-label { opacity: 0.75; }
.rag-tools { margin-top: 6px; }
.rag-copy { font: inherit; font-size: 0.85em; padding: 3px 10px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.rag-abstain { font-weight: 600; margin: 8px 0; }
.rag-caution { border-left: 3px solid #c77d00; padding: 4px 8px; margin: 6px 0; font-weight: 600; }
.rag-related ul { margin: 4px 0; padding-left: 1.1em; }
.rag-related li { margin: 4px 0; font-size: 0.92em; }
.rag-snip { opacity: 0.8; }
.rag-wait { opacity: 0.7; font-style: italic; }
.rag-group-title { margin: 12px 0 2px; font-size: 0.95em; }
#rag-status { min-height: 0; }
.rag-status { font-size: 0.9em; margin: 0; }

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
.rag-asked { opacity: 0.75; font-size: 0.9em; }
.rag-back { display: none; font-weight: 600; padding: 6px 0; }
.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 8px 0; cursor: pointer; }
.rag-card:hover { border-color: var(--color-accent); }
.rag-card-head { font-size: 0.92em; margin-bottom: 4px; overflow-wrap: anywhere; }
.rag-nums { color: var(--color-accent); font-weight: 700; }
.rag-loc, .rag-span { opacity: 0.7; font-size: 0.9em; }
.rag-passage { white-space: pre-wrap; font-size: 0.92em; line-height: 1.5; overflow-wrap: anywhere; }
.rag-doc { white-space: pre-wrap; max-height: calc(100vh - 150px); overflow-y: auto; padding: 8px 12px;
  border: 1px solid var(--border-color-primary); border-radius: 8px; line-height: 1.55; overflow-wrap: anywhere; }
mark.rag-m, mark.rag-passage-mark { color: #111; border-radius: 2px; padding: 0 1px; background: #fff0a0; }
mark.rag-current { background: #ffd43b; box-shadow: 0 0 0 2px #e8a800; }
mark.rag-passage-mark { background: #d6e6ff; box-shadow: none; }
sup.rag-n { color: var(--color-accent); font-weight: 700; font-size: 0.72em; margin-right: 1px; }
.rag-empty { opacity: 0.75; font-size: 0.92em; margin: 4px 0 8px; }
@media (min-width: %(wide)dpx) {
  /* The newest turn fills the box, so that it can always be scrolled to its top. */
  .rag-conv > .rag-turn:last-child { min-height: calc(max(300px, 100vh - 400px) - 2px); }
  .rag-doc { max-height: calc(100vh - 240px); }
  #rag-side { position: sticky; top: 8px; align-self: flex-start; max-height: calc(100vh - 16px);
    overflow-y: auto; }
}
@media (max-width: %(narrow)dpx) {
  #rag-chat { height: auto; min-height: 0; overflow: visible !important; border: 0; padding: 0 2px; }
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

/* ---- the inspector: fits its box at desktop width, scrolls inside it on a phone */
.rag-table-wrap { overflow-x: auto; max-width: 100%%; }
.rag-inspector table { border-collapse: collapse; font-size: 0.85em; table-layout: fixed; width: 100%%; }
.rag-inspector col.rag-rank-col { width: 3.2em; }
.rag-inspector th, .rag-inspector td { border: 1px solid var(--border-color-primary); padding: 4px 6px;
  vertical-align: top; text-align: left; overflow-wrap: anywhere; }
.rag-desc { font-weight: 400; opacity: 0.7; font-size: 0.9em; }
.rag-hit-quoted { background: rgba(255, 212, 59, 0.22); }
.rag-quoted { background: #ffd43b; color: #111; border-radius: 4px; padding: 0 4px; font-size: 0.85em; }
@media (max-width: %(narrow)dpx) { .rag-inspector table { width: 760px; } }
""" % {"narrow": NARROW_PX, "wide": NARROW_PX + 1}
