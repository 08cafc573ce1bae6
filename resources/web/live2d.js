// Optional Live2D avatar via pixi.js + pixi-live2d-display. Off unless a model is configured: the
// server's web.live2d_dir / web.live2d_model arrive in hello.persona.live2d {model_url, libs_url}
// (the server serves that directory at live2d/); the page's ?live2d=MODEL_URL and
// ?live2d_libs=BASE_URL override them (e.g. to try a model hosted elsewhere).
// The libraries are not in the page: Live2D Cubism Core (live2dcubismcore.min.js, proprietary; the
// user supplies it), pixi.min.js (pixi.js 6) and cubism4.min.js (pixi-live2d-display 0.4; both put
// there by packaging/install-live2d-libs.sh) are loaded as classic scripts from the libs URL unless
// already on the page. Anything missing -> the caller keeps the drawn avatar and shows our note.

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
  return q.get('live2d') || hello?.persona?.live2d?.model_url || '';
}

export function live2dLibsUrl(hello) {
  const q = new URLSearchParams(location.search);
  return q.get('live2d_libs') || hello?.persona?.live2d?.libs_url || 'live2d/lib/';
}

export class Live2DAvatar {
  // Resolves to a Live2DAvatar, or throws an Error that says why (with `key`, the page's string for it).
  static async create(canvas, modelUrl, libsUrl, expressions) {
    const base = libsUrl;
    const lib = (f) => new URL(f, new URL(base, document.baseURI)).toString();
    if (!window.Live2DCubismCore) {
      await loadScript(lib('live2dcubismcore.min.js')).catch(() => {
        throw Object.assign(new Error('Live2D Cubism Core is not installed'), { key: 'live2d.noCore' });
      });
    }
    if (!window.PIXI) await loadScript(lib('pixi.min.js'));
    if (!window.PIXI?.live2d) await loadScript(lib('cubism4.min.js'));
    if (!window.PIXI?.live2d) throw new Error('pixi-live2d-display did not load');
    const app = new window.PIXI.Application({ view: canvas, backgroundAlpha: 0, autoStart: true });
    const model = await window.PIXI.live2d.Live2DModel.from(modelUrl);
    // Fit the model's canvas into ours, centred (a model's own canvas is often wider than the figure).
    const scale = Math.min(canvas.width / model.width, canvas.height / model.height);
    model.scale.set(scale);
    model.anchor.set(0.5, 0.5);
    model.position.set(canvas.width / 2, canvas.height / 2);
    app.stage.addChild(model);
    return new Live2DAvatar(app, model, expressions);
  }

  constructor(app, model, expressions) {
    this.app = app;
    this.model = model;
    this.expressions = expressions; // emotion id -> live2d_expression
    this.mouth = 0;
    this.expression = 'calm';
    // Set again right before the model is rendered: motions and physics update parameters too, and
    // an idle motion must not close her mouth while she speaks.
    model.internalModel?.on?.('beforeModelUpdate', () => this.draw());
  }

  setExpression(id) {
    this.expression = id;
    const name = this.expressions.get(id) || id;
    try { this.model.expression(name); } catch { /* the model lacks it */ }
  }

  // The mouth follows the voice (the page's frame loop sets this.mouth from the audio level).
  draw() {
    const core = this.model.internalModel?.coreModel;
    if (core) core.setParameterValueById('ParamMouthOpenY', this.mouth);
  }

  // What the model shows now (tests read it through window.__tianyi.live2d).
  state() {
    const core = this.model.internalModel?.coreModel;
    const em = this.model.internalModel?.motionManager?.expressionManager;
    const index = em ? em.expressions.indexOf(em.currentExpression) : -1;
    return {
      mouthParam: core ? core.getParameterValueById('ParamMouthOpenY') : null,
      expression: index >= 0 ? em.definitions[index]?.Name ?? null : null,
      emotion: this.expression,
    };
  }
}
