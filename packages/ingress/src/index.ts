export * from './app.js';
export * from './run.js';
