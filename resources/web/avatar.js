// A drawn Luo Tianyi on a canvas: grey hair with green ornaments, lip-synced mouth (openness from
// the RMS of what plays right now) and expressions chosen by the persona's emotion ids.

const FACES = {
  // brow: tilt of the brows (+ = inner ends up / sad), browY: raise; eye: shape; mouth: resting curve
  neutral:    { brow: 0,    browY: 0,  eye: 'open',  smile: 0.3,  blush: 0.2 },
  calm:       { brow: 0,    browY: 0,  eye: 'open',  smile: 0.3,  blush: 0.2 },
  happy:      { brow: 0.1,  browY: 3,  eye: 'arc',   smile: 1,    blush: 0.5 },
  angry:      { brow: -0.5, browY: -2, eye: 'open',  smile: -0.6, blush: 0.1, tint: 'rgba(230,60,60,0.12)' },
  sad:        { brow: 0.5,  browY: 1,  eye: 'droop', smile: -0.5, blush: 0,   tear: true },
  surprised:  { brow: 0,    browY: 7,  eye: 'round', smile: 0,    blush: 0.2, o: true },
  coquettish: { brow: 0.2,  browY: 2,  eye: 'wink',  smile: 0.8,  blush: 0.9 },
};

export class DrawnAvatar {
  constructor(canvas) {
    this.canvas = canvas;
    this.g = canvas.getContext('2d');
    this.expression = 'calm';
    this.mouth = 0;
    this.blink = 0;
    this.nextBlink = performance.now() + 2500;
  }

  // id: an emotion id of the persona (or its live2d_expression); unknown ids look neutral.
  setExpression(id) { this.expression = id || 'calm'; }

  face() { return FACES[this.expression] || FACES.neutral; }

  draw(now) {
    const { g, canvas } = this;
    const W = canvas.width, H = canvas.height, cx = W / 2, cy = H * 0.45;
    const f = this.face();
    if (now > this.nextBlink) { this.blink = 1; this.nextBlink = now + 2500 + Math.random() * 3000; }
    this.blink = Math.max(0, this.blink - 0.15);
    g.clearRect(0, 0, W, H);
    // hair behind: two long grey tails
    g.fillStyle = '#b9bcc6';
    for (const s of [-1, 1]) {
      g.beginPath();
      g.moveTo(cx + s * 70, cy - 40);
      g.quadraticCurveTo(cx + s * 150, cy + 60, cx + s * 105, H - 10);
      g.quadraticCurveTo(cx + s * 80, cy + 80, cx + s * 45, cy);
      g.fill();
    }
    // body
    g.fillStyle = '#e9f4f1';
    g.beginPath(); g.ellipse(cx, H - 20, 80, 70, 0, Math.PI, 0); g.fill();
    g.fillStyle = '#58b8a8';
    g.fillRect(cx - 12, H - 88, 24, 30);
    // face
    g.fillStyle = '#fde9dc';
    g.beginPath(); g.ellipse(cx, cy, 78, 88, 0, 0, Math.PI * 2); g.fill();
    if (f.tint) { g.fillStyle = f.tint; g.fill(); }
    // bangs
    g.fillStyle = '#c5c8d2';
    g.beginPath();
    g.moveTo(cx - 88, cy - 5);
    g.quadraticCurveTo(cx - 95, cy - 110, cx, cy - 108);
    g.quadraticCurveTo(cx + 95, cy - 110, cx + 88, cy - 5);
    for (let i = 4; i >= -4; i--) g.lineTo(cx + i * 20, cy - 45 + (i % 2 ? 14 : 0));
    g.fill();
    // green ornaments
    g.fillStyle = '#3fbf8f';
    for (const s of [-1, 1]) { g.beginPath(); g.arc(cx + s * 74, cy - 62, 11, 0, Math.PI * 2); g.fill(); }
    // blush
    g.fillStyle = `rgba(255,120,140,${0.15 + 0.35 * f.blush})`;
    for (const s of [-1, 1]) { g.beginPath(); g.ellipse(cx + s * 45, cy + 28, 14, 7, 0, 0, Math.PI * 2); g.fill(); }
    // eyes
    const ey = cy + 5;
    for (const s of [-1, 1]) this.eye(cx + s * 32, ey, f, s);
    // brows
    g.strokeStyle = '#8d909b'; g.lineWidth = 3; g.lineCap = 'round';
    for (const s of [-1, 1]) {
      const by = ey - 28 - f.browY;
      g.beginPath();
      g.moveTo(cx + s * 18, by - f.brow * 8 * 1);
      g.lineTo(cx + s * 46, by + f.brow * 8);
      g.stroke();
    }
    if (f.tear) { g.fillStyle = '#8fd0ff'; g.beginPath(); g.ellipse(cx - 40, ey + 22, 3, 6, 0, 0, Math.PI * 2); g.fill(); }
    this.mouthShape(cx, cy + 48, f);
  }

  eye(x, y, f, side) {
    const g = this.g;
    const closed = this.blink > 0.5 || (f.eye === 'wink' && side > 0);
    g.strokeStyle = '#334'; g.lineWidth = 3;
    if (closed || f.eye === 'arc') {
      g.beginPath();
      if (f.eye === 'arc' && !closed) g.arc(x, y + 6, 12, Math.PI * 1.15, Math.PI * 1.85);
      else g.arc(x, y - 4, 12, Math.PI * 0.2, Math.PI * 0.8);
      g.stroke();
      return;
    }
    const h = f.eye === 'round' ? 17 : f.eye === 'droop' ? 11 : 15;
    g.fillStyle = '#fff'; g.beginPath(); g.ellipse(x, y, 12, h, 0, 0, Math.PI * 2); g.fill();
    g.fillStyle = '#3aa68c'; g.beginPath(); g.ellipse(x, y + 2, 8, h - 4, 0, 0, Math.PI * 2); g.fill();
    g.fillStyle = '#123'; g.beginPath(); g.ellipse(x, y + 3, 4, h - 9, 0, 0, Math.PI * 2); g.fill();
    g.fillStyle = '#fff'; g.beginPath(); g.arc(x + 3, y - 4, 3, 0, Math.PI * 2); g.fill();
    if (f.eye === 'droop') { g.fillStyle = '#fde9dc'; g.fillRect(x - 13, y - h - 1, 26, 7); }
  }

  mouthShape(x, y, f) {
    const g = this.g;
    const open = this.mouth;
    g.strokeStyle = '#a34a4a'; g.lineWidth = 2.5;
    if (open > 0.04 || f.o) {
      const w = f.o ? 9 + 6 * open : 14 + 4 * open;
      const h = Math.max(f.o ? 9 : 2, 2 + 18 * open);
      g.fillStyle = '#c0485a';
      g.beginPath(); g.ellipse(x, y, w, h, 0, 0, Math.PI * 2); g.fill();
      g.fillStyle = '#ff8fa0';
      g.beginPath(); g.ellipse(x, y + h * 0.45, w * 0.6, h * 0.4, 0, 0, Math.PI * 2); g.fill();
      return;
    }
    g.beginPath();
    g.moveTo(x - 14, y);
    g.quadraticCurveTo(x, y + 12 * f.smile, x + 14, y);
    g.stroke();
  }
}
