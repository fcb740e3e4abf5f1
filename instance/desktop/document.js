// Shows one kept document inside its frame: the desktop sends the document's HTML by message,
// and this page takes its styles and body. The frame is sandboxed without same-origin access
// and its policy runs no script but this one, so nothing in a document can act; scripts parsed
// by DOMParser never run, and are dropped anyway. A classic script: a module would need CORS
// from the frame's opaque origin.

window.addEventListener('message', (event) => {
  if (event.source !== window.parent || typeof event.data?.html !== 'string') return;
  const parsed = new DOMParser().parseFromString(event.data.html, 'text/html');
  parsed.querySelectorAll('script').forEach((script) => script.remove());
  document.head.append(...parsed.head.querySelectorAll('style'));
  document.body.replaceChildren(...parsed.body.childNodes);
});
window.parent.postMessage({ ready: true }, '*');
