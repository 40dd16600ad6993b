// The HTML report's only style sheet and script, inline so the file is all there is. Both are
// constants: the page's Content-Security-Policy allows exactly these two by their hashes.

export const HTML_STYLE = `
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fff; --muted: #5f6368; --line: #d0d4d9; --code-bg: #f4f5f7;
  --failed: #a3123a; --error: #b3261e; --warning: #8a5a00; --info: #1a5fb4; --waived: #5f6368; --skipped: #5f6368; --ok: #1e7b34; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #16181b; --muted: #a0a4a8; --line: #3a3f45; --code-bg: #22262b;
    --failed: #ff7a9a; --error: #ff8a80; --warning: #e8b34b; --info: #8ab4f8; --waived: #a0a4a8; --skipped: #a0a4a8; --ok: #7fd08f; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; padding-top: .5rem; border-top: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
.count, .kind, .waiver, .same { color: var(--muted); }
.summary { font-weight: 600; margin: .25rem 0 .75rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .5rem 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
table.counts { border-collapse: collapse; margin: .75rem 0; font-variant-numeric: tabular-nums; display: block; overflow-x: auto; }
table.counts th, table.counts td { border: 1px solid var(--line); padding: .2rem .6rem; text-align: center; }
table.counts th { font-weight: 500; color: var(--muted); }
ol.findings { list-style: none; margin: 0; padding: 0; }
.finding { border-left: 4px solid var(--line); padding: .35rem 0 .35rem .75rem; margin: 0 0 .75rem; }
.finding p { margin: .15rem 0; overflow-wrap: anywhere; }
.head code.check { font-weight: 600; }
.object { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.badge { display: inline-block; min-width: 4.5rem; padding: 0 .4rem; border: 1px solid currentColor; border-radius: .25rem; font-size: .8rem; text-align: center; text-transform: uppercase; letter-spacing: .03em; }
${['failed', 'error', 'warning', 'info', 'waived', 'skipped', 'ok'].map((s) => `.s-${s} { border-left-color: var(--${s}); } .b-${s}, td.s-${s} { color: var(--${s}); }`).join('\n')}
.fix-head { font-weight: 600; margin-top: .5rem !important; }
.fix ol { margin: .25rem 0; padding-left: 1.5rem; }
.block { position: relative; }
pre { margin: .25rem 0 .5rem; padding: .6rem .75rem; background: var(--code-bg); border: 1px solid var(--line); border-radius: .3rem;
  white-space: pre-wrap; overflow-wrap: anywhere; font: .85rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
button.copy { position: absolute; top: .3rem; right: .3rem; font: inherit; font-size: .75rem; padding: .1rem .5rem; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: .25rem; cursor: pointer; }
.js .block pre { padding-right: 4.5rem; }
/* Off-screen findings are laid out only when scrolled to: a 10,000-finding page opens at once. */
@media screen { .finding { content-visibility: auto; contain-intrinsic-size: auto 7rem; } }
a { color: var(--info); }
@media (max-width: 30rem) { body { padding: .6rem; font-size: 15px; } .badge { min-width: 0; } }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #444; --line: #999; --code-bg: #fff; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  button.copy { display: none; }
  .js .block pre { padding-right: .75rem; }
  h2 { break-before: auto; break-after: avoid; } h3 { break-after: avoid; }
  .finding { break-inside: avoid; }
  pre { break-inside: avoid; }
}
`;

/** Adds a copy button to every fix block; without JavaScript the block is plain selectable text. */
export const HTML_SCRIPT = `
(function () {
  document.documentElement.className += ' js';
  var blocks = document.querySelectorAll('div.block');
  for (var i = 0; i < blocks.length; i++) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'copy';
    b.textContent = 'Copy';
    b.setAttribute('aria-label', 'Copy this block');
    blocks[i].insertBefore(b, blocks[i].firstChild);
  }
  function selectText(pre) {
    var range = document.createRange();
    range.selectNodeContents(pre);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { return document.execCommand('copy'); } catch (e) { return false; }
  }
  function say(button, ok) {
    button.textContent = ok ? 'Copied' : 'Selected: press Ctrl+C';
    setTimeout(function () { button.textContent = 'Copy'; }, 2000);
  }
  document.addEventListener('click', function (ev) {
    var button = ev.target;
    if (!button || !button.classList || !button.classList.contains('copy')) return;
    var pre = button.parentNode.querySelector('pre');
    var text = pre.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say(button, true); }, function () { say(button, selectText(pre)); });
    } else {
      say(button, selectText(pre));
    }
  });
})();
`;
