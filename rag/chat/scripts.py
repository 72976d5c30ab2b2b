"""The JavaScript the page's HTML components run on load.

No inline ``<script>``: the server's Content-Security-Policy forbids it, so
all behaviour comes through ``gr.HTML(js_on_load=...)``. Nothing here loads
anything from outside the machine.
"""

from __future__ import annotations

from rag.chat.assets import NARROW_PX

# On the conversation (#rag-chat). Copy buttons put plain text on the
# clipboard; a new question is scrolled to the top of the conversation (on a
# phone, of the screen) so that its answer is read from the start; a fresh
# answer (the server sends it whole) is revealed piece by piece, here.
CHAT_JS = """
const box = element.closest('#rag-chat') || element;
const narrow = () => window.matchMedia('(max-width: %(narrow)dpx)').matches;
const calm = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;
let shown = null;
let revealed = null;
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
// Each part of a fresh answer fades in after the one before: the reading
// order of a streamed answer, with all of it in the page (and to screen
// readers) at once. Only once per answer: a re-render does not replay it.
const reveal = () => {
  const fresh = element.querySelector('.rag-turn.rag-fresh:last-child');
  if (!fresh || calm()) return;
  const id = fresh.getAttribute('data-turn');
  if (id === revealed) return;
  revealed = id;
  const parts = fresh.querySelectorAll('.rag-a > *, .rag-group > *');
  parts.forEach((part, i) => part.style.setProperty('--rag-i', String(i)));
  fresh.classList.add('rag-reveal');
};
const changed = () => {
  bringNewest();
  reveal();
  if (window.__ragCount) window.__ragCount();
};
watch('value', changed);
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
# only its own box scrolls (never the page), sized to end inside the window;
# on a phone it opens as an overlay that the Back button, Escape or its own
# button closes. Capture phase, once for the whole page.
VIEWER_JS = """
const side = element.closest('#rag-side');
const narrow = () => window.matchMedia('(max-width: %(narrow)dpx)').matches;
let opener = null;
let wanted = null;
const current = () => {
  const panel = element.querySelector('.rag-panel');
  return panel ? panel.getAttribute('data-key') : null;
};
// The document's box ends inside the window, wherever the panel starts.
const fit = () => {
  const doc = element.querySelector('.rag-doc');
  if (!doc) return;
  const room = window.innerHeight - doc.getBoundingClientRect().top - 12;
  doc.style.maxHeight = Math.max(240, Math.floor(room)) + 'px';
};
const place = () => {
  const doc = element.querySelector('.rag-doc');
  if (side) side.scrollTop = 0;
  if (!doc) return;
  fit();
  const mark = doc.querySelector('.rag-current');
  if (mark) {
    doc.scrollTop += mark.getBoundingClientRect().top - doc.getBoundingClientRect().top - doc.clientHeight / 3;
  } else {
    doc.scrollTop = 0;
  }
};
const isOpen = () => !!side && side.classList.contains('rag-open');
const open = () => {
  if (!side || !narrow()) return;
  if (!isOpen()) {
    side.classList.add('rag-open');
    side.setAttribute('role', 'dialog');
    side.setAttribute('aria-modal', 'true');
    side.setAttribute('aria-label', 'Document');
    document.documentElement.classList.add('rag-overlay-open');
    // One history entry while the overlay is open: the phone's Back closes it, then leaves.
    history.pushState({ragOverlay: true}, '');
  }
  const back = element.querySelector('.rag-back');
  if (back) back.focus({preventScroll: true});
  place();  // now that the panel is shown, its mark has a place to scroll to
};
const close = (fromHistory) => {
  if (!isOpen()) return;
  side.classList.remove('rag-open');
  ['role', 'aria-modal', 'aria-label'].forEach((a) => side.removeAttribute(a));
  document.documentElement.classList.remove('rag-overlay-open');
  if (!fromHistory && history.state && history.state.ragOverlay) history.back();
  // Focus goes back where the overlay was opened from (a citation, a title), else to the question box.
  const again = (opener && document.querySelector('#rag-chat [data-cite="' + CSS.escape(opener) + '"]'))
    || (window.__ragOpener && window.__ragOpener.isConnected && !side.contains(window.__ragOpener)
        && window.__ragOpener)
    || document.querySelector('#rag-question textarea');
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
  window.addEventListener('popstate', () => window.__ragClose(true));
  window.addEventListener('resize', fit);
  document.addEventListener('click', (event) => {
    const target = event.target;
    if (!target || !target.closest) return;
    if (target.closest('[data-close]')) { event.preventDefault(); window.__ragClose(false); return; }
    const el = target.closest('[data-cite]');
    if (!el) return;
    event.preventDefault();
    event.stopPropagation();
    window.__ragOpener = el;
    window.__ragCite(el.getAttribute('data-cite'), !!el.closest('#rag-chat'));
  }, true);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { window.__ragClose(false); return; }
    const el = event.target;
    if ((event.key === 'Enter' || event.key === ' ') && el && el.matches && el.matches('[role=button][data-cite]')) {
      event.preventDefault();
      window.__ragCite(el.getAttribute('data-cite'), false);
    }
  }, true);
}
""" % {"narrow": NARROW_PX}

# On the counter under the question box (#rag-count): how long the question
# is once it nears the limit, and that the search stops there beyond it (the
# box no longer cuts a paste silently). Also puts the cursor in the box on a
# wide screen without scrolling the page (autofocus scrolled it 546-662 px),
# and on no phone (a keyboard would cover half the first screen).
QUESTION_JS = """
const out = element.querySelector('.rag-count');
const max = Number(out.getAttribute('data-max'));
const narrow = () => window.matchMedia('(max-width: ' + out.getAttribute('data-narrow') + 'px)').matches;
const box = () => document.querySelector('#rag-question textarea');
const count = (n) => n.toLocaleString('en-US');
const update = () => {
  const t = box();
  const n = t ? t.value.length : 0;
  out.classList.toggle('rag-over', n > max);
  if (n > max) {
    out.textContent = count(n) + ' characters: only the first ' + count(max) + ' are searched (cut at a word).';
  } else {
    out.textContent = n >= 0.8 * max ? count(n) + ' of ' + count(max) + ' characters' : '';
  }
};
window.__ragCount = update;
document.addEventListener('input', (event) => {
  if (event.target && event.target.closest && event.target.closest('#rag-question')) update();
}, true);
if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
let tries = 0;
const focusBox = () => {
  const t = box();
  if (!t) { if (tries++ < 50) requestAnimationFrame(focusBox); return; }
  if (!narrow() && document.activeElement === document.body) t.focus({preventScroll: true});
};
focusBox();
"""

# On the upload limits under "Add documents" (#rag-add-limits): files the
# browser can tell are wrong (empty, over the size limit, of a type rag does
# not read, too many) are refused here with their reason, before anything is
# sent. Gradio's own check for size only showed a passing toast and then a
# bare "Error" in the drop zone; an empty file reached the PDF reader and was
# called damaged. The rest go on as if only they had been chosen.
UPLOAD_JS = """
const holder = element.querySelector('[data-max-bytes]') || element;
const maxBytes = Number(holder.getAttribute('data-max-bytes'));
const maxFiles = Number(holder.getAttribute('data-max-files'));
const accept = (holder.getAttribute('data-accept') || '').split(' ').filter(Boolean);
const said = element.querySelector('.rag-refused-here');
const mb = (n) => (n / 1048576).toFixed(1) + ' MB';
const why = (file) => {
  const name = file.name.toLowerCase();
  if (accept.length && !accept.some((s) => name.endsWith(s))) {
    return file.name + ': not a type rag reads (' + accept.join(', ') + ')';
  }
  if (file.size === 0) return file.name + ' is empty (0 bytes)';
  if (file.size > maxBytes) return file.name + ' is ' + mb(file.size) + '; the limit is ' + mb(maxBytes) + ' a file';
  return '';
};
// The files to send on, and what to say; null: send nothing.
const sift = (files) => {
  const list = Array.from(files || []);
  if (list.length > maxFiles) {
    return {keep: null, lines: [list.length + ' files at once; the limit is ' + maxFiles + '. Nothing was sent.']};
  }
  const lines = list.map(why).filter(Boolean).map((line) => 'Not added: ' + line + '.');
  return {keep: list.filter((f) => !why(f)), lines: lines};
};
const handle = (event, files, resend) => {
  if (event.__ragSifted) return;
  const zone = event.target && event.target.closest ? event.target.closest('#rag-add') : null;
  if (!zone) return;
  const {keep, lines} = sift(files);
  said.textContent = lines.join(' ');
  if (!lines.length) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  if (keep && keep.length) resend(keep);
};
if (!window.__ragUploadSifting) {
  window.__ragUploadSifting = true;
  document.addEventListener('change', (event) => {
    const input = event.target;
    if (!input || input.type !== 'file') return;
    handle(event, input.files, (keep) => {
      const kept = new DataTransfer();
      keep.forEach((f) => kept.items.add(f));
      input.files = kept.files;
      const again = new Event('change', {bubbles: true});
      again.__ragSifted = true;
      input.dispatchEvent(again);
    });
  }, true);
  document.addEventListener('drop', (event) => {
    if (!event.dataTransfer) return;
    handle(event, event.dataTransfer.files, (keep) => {
      const kept = new DataTransfer();
      keep.forEach((f) => kept.items.add(f));
      const again = new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: kept});
      again.__ragSifted = true;
      event.target.dispatchEvent(again);
    });
  }, true);
}
"""
