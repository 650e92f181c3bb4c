// The application's two entry points, rendering everything and refreshing
// from the API, filled in by main.js: views call them without importing
// main.js (which imports every view).

const hooks = { render: () => {}, refresh: async () => {} };

/** wire sets the functions that render every view and refresh the data. */
export function wire(render, refresh) {
  hooks.render = render;
  hooks.refresh = refresh;
}

/** renderAll renders every view from the state. */
export function renderAll() {
  hooks.render();
}

/** refresh fetches every figure from the API, then renders. */
export function refresh() {
  return hooks.refresh();
}
