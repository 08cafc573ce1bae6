// Optional Live2D avatar via pixi.js + pixi-live2d-display. Off unless a model URL is given:
// the page's ?live2d=MODEL_URL (a .model3.json), or a future hello.persona.live2d_model_url.
// The libraries are not shipped: Live2D Cubism Core (live2dcubismcore.min.js, proprietary; the user
// supplies it), pixi.min.js (pixi.js 6) and cubism4.min.js (pixi-live2d-display) are loaded as
// classic scripts from ?live2d_libs=BASE_URL (default "live2d/" next to the page) unless already
// on the page. Anything missing -> the caller keeps the drawn avatar and shows our note.

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('could not load ' + src));
    document.head.appendChild(s);
  });
}

export function live2dModelUrl(hello) {
  const q = new URLSearchParams(location.search);
  return q.get('live2d') || hello?.persona?.live2d_model_url || '';
}

export class Live2DAvatar {
  // Resolves to a Live2DAvatar, or throws an Error whose message explains the fallback.
  static async create(canvas, modelUrl, expressions) {
    const base = new URLSearchParams(location.search).get('live2d_libs') || 'live2d/';
    const lib = (f) => new URL(f, new URL(base, document.baseURI)).toString();
    if (!window.Live2DCubismCore) {
      await loadScript(lib('live2dcubismcore.min.js')).catch(() => {
        throw new Error('Live2D Cubism Core is not installed (live2dcubismcore.min.js is supplied by you, see docs); showing the drawn avatar.');
      });
    }
    if (!window.PIXI) await loadScript(lib('pixi.min.js'));
    if (!window.PIXI?.live2d) await loadScript(lib('cubism4.min.js'));
    const app = new window.PIXI.Application({ view: canvas, backgroundAlpha: 0, autoStart: true });
    const model = await window.PIXI.live2d.Live2DModel.from(modelUrl);
    const scale = Math.min(canvas.width / model.width, canvas.height / model.height);
    model.scale.set(scale);
    app.stage.addChild(model);
    return new Live2DAvatar(app, model, expressions);
  }

  constructor(app, model, expressions) {
    this.app = app;
    this.model = model;
    this.expressions = expressions; // emotion id -> live2d_expression
    this.mouth = 0;
    this.expression = 'calm';
  }

  setExpression(id) {
    this.expression = id;
    const name = this.expressions.get(id) || id;
    try { this.model.expression(name); } catch { /* the model lacks it */ }
  }

  draw() {
    const core = this.model.internalModel?.coreModel;
    if (core) core.setParameterValueById('ParamMouthOpenY', this.mouth);
  }
}
