import type { ChartEdge, ChartNode, StateChart } from './state-chart.js';
import {
  arrowMarker,
  type Box,
  clip,
  edgeLabel,
  edgePath,
  escapeXml,
  layerNodes,
  sidePath,
  textWidth,
} from './svg-layout.js';

const PAD = 12;
const PAD_LEFT = 30; // room for edges going back up
const PAD_RIGHT = 34; // room for edges skipping rows
const GAP_X = 28;
const GAP_Y = 36;
const HEADER = 24;
const INITIAL = 14;

interface Placed {
  readonly node: ChartNode;
  readonly w: number;
  readonly h: number;
  /** Children at positions relative to this box. */
  readonly children: readonly {
    readonly placed: Placed;
    readonly x: number;
    readonly y: number;
    readonly row: number;
  }[];
}

function title(node: ChartNode): string {
  return node.caption === undefined ? node.key : `${node.key} · ${clip(node.caption, 40)}`;
}

/** Sizes and places a state and its children (recursively), rows top to bottom. */
function place(node: ChartNode, edges: ReadonlyMap<string, readonly ChartEdge[]>): Placed {
  if (node.children.length === 0) {
    const caption = node.caption === undefined ? 0 : textWidth(clip(node.caption, 40), 10);
    const w = Math.max(textWidth(node.key) + 24, caption + 20, 70);
    return { node, w, h: node.caption === undefined ? 30 : 42, children: [] };
  }
  const placed = node.children.map((child) => place(child, edges));
  const headerW = textWidth(title(node)) + 2 * PAD;
  if (node.type === 'parallel') {
    let x = PAD;
    const children = placed.map((p) => {
      const at = { placed: p, x, y: HEADER, row: 0 };
      x += p.w + 16;
      return at;
    });
    const w = Math.max(x - 16 + PAD, headerW);
    const h = HEADER + placed.reduce((most, p) => Math.max(most, p.h), 0) + PAD;
    return { node, w, h, children };
  }
  const keys = node.children.map((c) => c.key);
  const own = edges.get(node.path.join('.')) ?? [];
  const layers = layerNodes(
    keys,
    own.map((e) => [e.from, e.to] as const),
    node.initial === undefined ? [] : [node.initial],
  );
  const rows: Placed[][] = [];
  placed.forEach((p) => {
    const layer = layers.get(p.node.key) ?? 0;
    const row = rows[layer];
    if (row === undefined) rows[layer] = [p];
    else row.push(p);
  });
  const rowWidth = (row: readonly Placed[]) =>
    row.reduce((sum, p) => sum + p.w, 0) + GAP_X * (row.length - 1);
  // Not `Math.max(...rows)`: too many arguments for the stack in a long workflow.
  const contentW = rows.reduce((most, row) => Math.max(most, rowWidth(row)), 0);
  const w = Math.max(PAD_LEFT + contentW + PAD_RIGHT, headerW);
  const children: { placed: Placed; x: number; y: number; row: number }[] = [];
  let y = HEADER + (node.initial === undefined ? 0 : INITIAL);
  for (const [index, row] of rows.entries()) {
    if (row === undefined) continue;
    let x = PAD_LEFT + (contentW - rowWidth(row)) / 2;
    const rowH = row.reduce((most, p) => Math.max(most, p.h), 0);
    for (const p of row) {
      children.push({ placed: p, x, y: y + (rowH - p.h) / 2, row: index });
      x += p.w + GAP_X;
    }
    y += rowH + GAP_Y;
  }
  return { node, w, h: y - GAP_Y + PAD, children };
}

interface DrawContext {
  readonly out: string[];
  readonly edges: ReadonlyMap<string, readonly ChartEdge[]>;
  readonly active: ReadonlySet<string>;
  readonly marker: string;
}

function draw(p: Placed, x: number, y: number, ctx: DrawContext, region: boolean): void {
  const { node } = p;
  const path = node.path.join('.');
  const isActive = node.path.length > 0 && ctx.active.has(path);
  const leaf = node.children.length === 0;
  const base = leaf ? 'state' : region ? 'region' : 'compound';
  const cls = isActive ? `${base} ${leaf ? 'current' : 'active'}` : base;
  const tip = node.description ?? node.caption;
  ctx.out.push(`<g data-state="${escapeXml(path)}">`);
  if (tip !== undefined) ctx.out.push(`<title>${escapeXml(`${node.key}: ${tip}`)}</title>`);
  const radius = leaf ? 8 : 6;
  ctx.out.push(
    `<rect x="${x}" y="${y}" width="${p.w}" height="${p.h}" rx="${radius}" class="${cls}"/>`,
  );
  if (node.type === 'final') {
    ctx.out.push(
      `<rect x="${x + 3}" y="${y + 3}" width="${p.w - 6}" height="${p.h - 6}" rx="6" class="final-inner"/>`,
    );
  }
  if (leaf) {
    const cy = node.caption === undefined ? y + p.h / 2 + 4 : y + 17;
    ctx.out.push(
      `<text x="${x + p.w / 2}" y="${cy}" text-anchor="middle" class="title">${escapeXml(node.key)}</text>`,
    );
    if (node.caption !== undefined) {
      ctx.out.push(
        `<text x="${x + p.w / 2}" y="${y + 32}" text-anchor="middle" class="caption">${escapeXml(clip(node.caption, 40))}</text>`,
      );
    }
    ctx.out.push('</g>');
    return;
  }
  ctx.out.push(`<text x="${x + PAD}" y="${y + 16}" class="title">${escapeXml(title(node))}</text>`);
  const boxes = new Map<string, Box>();
  const rows = new Map<string, number>();
  let right = x;
  for (const child of p.children) {
    const box = { x: x + child.x, y: y + child.y, w: child.placed.w, h: child.placed.h };
    boxes.set(child.placed.node.key, box);
    rows.set(child.placed.node.key, child.row);
    right = Math.max(right, box.x + box.w);
    draw(child.placed, box.x, box.y, ctx, node.type === 'parallel');
  }
  const initial = node.initial === undefined ? undefined : boxes.get(node.initial);
  if (initial !== undefined) {
    const cx = initial.x + initial.w / 2;
    ctx.out.push(`<circle cx="${cx}" cy="${initial.y - INITIAL + 3}" r="4" class="initial"/>`);
    ctx.out.push(
      `<path d="M${cx},${initial.y - INITIAL + 7} L${cx},${initial.y}" class="edge" marker-end="url(#${ctx.marker})"/>`,
    );
  }
  const pairs = new Map<string, number>();
  for (const edge of ctx.edges.get(path) ?? []) {
    const a = boxes.get(edge.from);
    const b = boxes.get(edge.to);
    if (a === undefined || b === undefined) continue;
    const pair = `${edge.from}\u0000${edge.to}`;
    const bend = pairs.get(pair) ?? 0;
    pairs.set(pair, bend + 1);
    const skips = (rows.get(edge.to) ?? 0) - (rows.get(edge.from) ?? 0) > 1;
    const route: { d: string; lx: number; ly: number; anchor?: 'end' } = skips
      ? sidePath(a, b, right, bend)
      : edgePath(a, b, bend);
    const anchor = route.anchor ?? 'middle';
    ctx.out.push(`<path d="${route.d}" class="edge" marker-end="url(#${ctx.marker})"/>`);
    ctx.out.push(edgeLabel(edge.label, route.lx, route.ly + bend * 11, anchor));
  }
  ctx.out.push('</g>');
}

/**
 * The state chart as an inline SVG (internal): compound states as nested boxes whose children
 * are laid out in layers from their initial state, parallel regions side by side (dashed),
 * transitions as arrows labelled with their event, active states highlighted.
 */
export function renderStateChartSvg(
  chart: StateChart,
  active: ReadonlySet<string>,
  idPrefix: string,
  rootTitle: string,
): string {
  const edges = new Map<string, ChartEdge[]>();
  for (const edge of chart.edges) {
    const key = edge.parent.join('.');
    const list = edges.get(key);
    if (list === undefined) edges.set(key, [edge]);
    else list.push(edge);
  }
  const root = { ...chart.root, key: rootTitle, caption: undefined };
  const placed = place(root, edges);
  const marker = `${idPrefix}-arrow`;
  const out: string[] = [];
  draw(placed, 1, 1, { out, edges, active, marker }, false);
  const w = Math.ceil(placed.w + 2);
  const h = Math.ceil(placed.h + 2);
  return [
    `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeXml(`State chart of ${rootTitle}`)}">`,
    `<defs>${arrowMarker(marker)}</defs>`,
    ...out,
    '</svg>',
  ].join('\n');
}
