export type { Context, ContextRef } from './context.js';
