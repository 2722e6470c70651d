export type { ContextTransition } from './context-transition.js';
