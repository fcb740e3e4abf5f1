// The handwritten signature, drawn with a mouse, a finger or a pen on a canvas (or, from the
// keyboard, the member's name written in a script face), and given as a PNG data URL for the
// application to carry.

import { html, useEffect, useRef, useState } from '../ui.js';
import { t } from '../i18n.js';

/** The pad; `initial` (a PNG data URL) is a signature drawn before, shown again to keep or redo. */
export function Handwriting({ onChange, initial }) {
  const canvas = useRef(null);
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    const element = canvas.current;
    const context = element.getContext('2d');
    const ratio = window.devicePixelRatio || 1;
    // Draw at the screen's resolution, keep the image small enough for one request.
    element.width = element.clientWidth * Math.min(ratio, 2);
    element.height = element.clientHeight * Math.min(ratio, 2);
    context.scale(element.width / element.clientWidth, element.height / element.clientHeight);
    context.lineWidth = 2.2;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.strokeStyle = '#1b2a4a';
    let drawing = false;
    const point = (event) => {
      const box = element.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    };
    const down = (event) => {
      drawing = true;
      element.setPointerCapture(event.pointerId);
      context.beginPath();
      context.moveTo(...point(event));
    };
    const move = (event) => {
      if (!drawing) return;
      context.lineTo(...point(event));
      context.stroke();
    };
    const up = () => {
      if (!drawing) return;
      drawing = false;
      setDrawn(true);
      onChange(element.toDataURL('image/png'));
    };
    if (initial) {
      const image = new Image();
      image.onload = () => {
        context.drawImage(image, 0, 0, element.clientWidth, element.clientHeight);
        setDrawn(true);
      };
      image.src = initial;
    }
    element.addEventListener('pointerdown', down);
    element.addEventListener('pointermove', move);
    element.addEventListener('pointerup', up);
    element.addEventListener('pointercancel', up);
    return () => {
      element.removeEventListener('pointerdown', down);
      element.removeEventListener('pointermove', move);
      element.removeEventListener('pointerup', up);
      element.removeEventListener('pointercancel', up);
    };
  }, []);

  const clear = () => {
    const element = canvas.current;
    element.getContext('2d').clearRect(0, 0, element.width, element.height);
    setDrawn(false);
    onChange(null);
  };

  const typed = (text) => {
    clear();
    if (!text.trim()) return;
    const element = canvas.current;
    const context = element.getContext('2d');
    context.save();
    context.font = 'italic 34px "Segoe Script", "Brush Script MT", "URW Chancery L", cursive';
    context.fillStyle = '#1b2a4a';
    context.fillText(text.trim(), 24, element.clientHeight / 2 + 12, element.clientWidth - 48);
    context.restore();
    setDrawn(true);
    onChange(element.toDataURL('image/png'));
  };

  return html`<div class="handwriting">
    <canvas ref=${canvas} class="pad" role="img" aria-label=${t('handwriting.pad')}></canvas>
    <div class="actions">
      <span class="note">${drawn ? t('handwriting.done') : t('handwriting.hint')}</span>
      <button type="button" class="secondary" onClick=${clear} disabled=${!drawn}>${t('handwriting.clear')}</button>
    </div>
    <div class="field">
      <label for="handwriting-typed">${t('handwriting.typed')}</label>
      <input id="handwriting-typed" type="text" autocomplete="name" onInput=${(event) => typed(event.currentTarget.value)} />
    </div>
  </div>`;
}
