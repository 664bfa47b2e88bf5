/**
 * Plots and pages shared by `report.html` and `e3 compare`: Vega-Lite → SVG, graph diagrams,
 * self-contained HTML, and a headless-browser check.
 */
export * from './vega-svg.js';
export * from './graph-diagram.js';
export * from './html-page.js';
export * from './browser.js';
