/** Drawing helpers shared by the state chart and lineage pictures (internal). */

/** Font size of labels, px. */
export const FONT = 12;

/** Escapes text for SVG/HTML text and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Estimated width of `text` in px at `size` (sans-serif; wide enough for most fonts). */
export function textWidth(text: string, size = FONT): number {
  return Math.ceil([...text].length * size * 0.6);
}

/** `text` cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Layers of a directed graph for a top-to-bottom drawing: back edges (found by a depth-first
 * walk from `roots`, then from every unvisited node, in order) are set aside, and each node goes
 * one layer below the lowest of its parents (longest path). Returns the layer of each node.
 * Iterative and linear in the size of the graph, so a chain of any length can be laid out.
 */
export function layerNodes(
  nodes: readonly string[],
  edges: readonly (readonly [string, string])[],
  roots: readonly string[] = [],
): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const node of nodes) out.set(node, []);
  for (const [from, to] of edges) {
    if (from !== to && out.has(from) && out.has(to)) out.get(from)?.push(to);
  }
  /** The forward edges (all but back edges) out of each node, in the walk's order. */
  const forward = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  /** Nodes in the order the walk finished them: every forward edge goes to an earlier one. */
  const finished: string[] = [];
  for (const start of [...roots, ...nodes]) {
    if (state.has(start) || !out.has(start)) continue;
    // The walk's path: each node with the index of its next child to look at.
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 'open');
    forward.set(start, []);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [string, number];
      const [node, index] = top;
      const children = out.get(node) ?? [];
      if (index >= children.length) {
        stack.pop();
        state.set(node, 'done');
        finished.push(node);
        continue;
      }
      top[1] = index + 1;
      const next = children[index] as string;
      const s = state.get(next);
      if (s === 'open') continue; // a back edge
      forward.get(node)?.push(next);
      if (s === undefined) {
        state.set(next, 'open');
        forward.set(next, []);
        stack.push([next, 0]);
      }
    }
  }
  // Longest path over the forward edges (a DAG), in topological order (reverse finishing order).
  const layer = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (let i = finished.length - 1; i >= 0; i--) {
    const from = finished[i] as string;
    const want = (layer.get(from) ?? 0) + 1;
    for (const to of forward.get(from) ?? []) {
      if ((layer.get(to) ?? 0) < want) layer.set(to, want);
    }
  }
  return layer;
}

/** A box placed in a drawing. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** The arrowhead marker definition, with a page-unique id. */
export function arrowMarker(id: string): string {
  return `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker>`;
}

/**
 * A path from box `a` to box `b`: downwards (bottom to top), sideways within a row, or, for an
 * edge going back up, around the left side. Returns the path and a point for its label.
 */
export function edgePath(
  a: Box,
  b: Box,
  bend = 0,
  at = 0.5,
): { d: string; lx: number; ly: number } {
  const ax = a.x + a.w / 2;
  const bx = b.x + b.w / 2;
  if (a === b || (a.x === b.x && a.y === b.y)) {
    const x = a.x + a.w;
    const y = a.y + a.h / 2;
    return {
      d: `M${x},${y - 6} C${x + 30},${y - 24} ${x + 30},${y + 24} ${x},${y + 6}`,
      lx: x + 26,
      ly: y,
    };
  }
  if (b.y >= a.y + a.h) {
    const y1 = a.y + a.h;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    const dx = bend * 8;
    // The label sits on the curve at `at` (a cubic with both control points at mid-height).
    const t = at;
    const u = 1 - t;
    const ex = (ax + dx) * (u * u * u + 3 * u * u * t) + (bx + dx) * (3 * u * t * t + t * t * t);
    const ey = y1 * u * u * u + 3 * my * (u * u * t + u * t * t) + y2 * t * t * t;
    return {
      d: `M${ax + dx},${y1} C${ax + dx},${my} ${bx + dx},${my} ${bx + dx},${y2}`,
      lx: ex,
      ly: ey,
    };
  }
  if (Math.abs(a.y - b.y) < Math.min(a.h, b.h)) {
    const right = bx > ax;
    const x1 = right ? a.x + a.w : a.x;
    const x2 = right ? b.x : b.x + b.w;
    const y = a.y + Math.min(a.h, b.h) / 2 + bend * 6;
    return { d: `M${x1},${y} L${x2},${y}`, lx: (x1 + x2) / 2, ly: y - 4 };
  }
  // Back up: out of a's left side, around, into b's left side.
  const x = Math.min(a.x, b.x) - 16 - bend * 8;
  const y1 = a.y + a.h / 2;
  const y2 = b.y + b.h / 2;
  return {
    d: `M${a.x},${y1} C${x},${y1} ${x},${y2} ${b.x},${y2}`,
    lx: x + 2,
    ly: (y1 + y2) / 2,
  };
}

/**
 * A path from box `a` down to box `b` several rows below, around the right of the boxes in
 * between (whose right edge is at `right`).
 */
export function sidePath(
  a: Box,
  b: Box,
  right: number,
  bend = 0,
): { d: string; lx: number; ly: number; anchor: 'end' } {
  const x = right + 14 + bend * 8;
  const y1 = a.y + a.h / 2;
  const y2 = b.y + b.h / 2;
  const x1 = a.x + a.w;
  const x2 = b.x + b.w;
  return {
    d: `M${x1},${y1} C${x},${y1} ${x},${y2} ${x2},${y2}`,
    lx: x - 6,
    ly: (y1 + y2) / 2,
    anchor: 'end',
  };
}

/** An edge label: small text with a white halo so it stays readable over lines. */
export function edgeLabel(
  text: string,
  x: number,
  y: number,
  anchor: 'middle' | 'end' = 'middle',
): string {
  if (text === '') return '';
  return `<text x="${x}" y="${y}" class="edge-label" text-anchor="${anchor}">${escapeXml(text)}</text>`;
}

/** The CSS the pictures use (inlined in the page). */
export const SVG_STYLE = `
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: ${FONT}px; fill: #0f172a; }
svg .edge { fill: none; stroke: #475569; stroke-width: 1.3; }
svg .edge.dotted { stroke-dasharray: 4 3; }
svg .edge-label { font-size: 10px; fill: #334155; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
svg .state { fill: #ffffff; stroke: #64748b; stroke-width: 1.2; }
svg .compound { fill: #f8fafc; stroke: #94a3b8; stroke-width: 1.2; }
svg .region { fill: none; stroke: #94a3b8; stroke-dasharray: 5 4; }
svg .final-inner { fill: none; stroke: #64748b; stroke-width: 1; }
svg .active { stroke: #b45309; stroke-width: 2.5; }
svg .current { fill: #fde68a; stroke: #b45309; stroke-width: 3; }
svg .caption { font-size: 10px; fill: #475569; }
svg .title { font-weight: 600; }
svg .initial { fill: #0f172a; }
svg .context { fill: #eff6ff; stroke: #3b82f6; stroke-width: 1.2; }
svg .context-id { font-size: 10px; fill: #475569; }
`;
