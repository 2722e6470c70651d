import {
  arrowMarker,
  type Box,
  clip,
  edgeLabel,
  edgePath,
  escapeXml,
  layerNodes,
  textWidth,
} from './svg-layout.js';

interface LineageNode {
  readonly id: string;
  readonly lines: readonly string[];
}

interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly pruned: boolean;
}

const NODE = /^\s+(n\d+)\["(.*)"\]$/;
const EDGE = /^\s+(n\d+) (-->|-\.->)\|"(.*)"\| (n\d+)$/;

/** Undoes `escapeMermaidLabel`: `#NN;` entities back to characters, `<br/>` to line breaks. */
function decode(label: string): string[] {
  return label
    .split('<br/>')
    .map((line) => line.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(+code)));
}

/** The nodes and edges of a lineage flowchart written by `ContextFlowManager.toMermaid`. */
export function parseLineageMermaid(text: string): { nodes: LineageNode[]; edges: LineageEdge[] } {
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  for (const line of text.split('\n')) {
    const node = NODE.exec(line);
    if (node !== null) {
      nodes.push({ id: node[1] as string, lines: decode(node[2] as string) });
      continue;
    }
    const edge = EDGE.exec(line);
    if (edge !== null) {
      edges.push({
        from: edge[1] as string,
        to: edge[4] as string,
        label: decode(edge[3] as string).join(' '),
        pruned: edge[2] === '-.->',
      });
    }
  }
  return { nodes, edges };
}

const GAP_X = 36;
const GAP_Y = 56;
const MARGIN = 16;

/**
 * The lineage as an inline SVG (internal): contexts as boxes (type over id) in layers, each
 * one below its parents, edges labelled `component: operation`, pruned lineage dotted.
 */
export function renderLineageSvg(mermaid: string, idPrefix: string, title: string): string {
  const { nodes, edges } = parseLineageMermaid(mermaid);
  const layers = layerNodes(
    nodes.map((n) => n.id),
    edges.map((e) => [e.from, e.to] as const),
  );
  const size = new Map(
    nodes.map((n) => {
      const [type = '', id = ''] = n.lines;
      const w = Math.max(textWidth(clip(type, 36)) + 24, textWidth(clip(id, 40), 10) + 24, 90);
      return [n.id, { w, h: 40 }];
    }),
  );
  const rows: LineageNode[][] = [];
  for (const n of nodes) {
    const layer = layers.get(n.id) ?? 0;
    const row = rows[layer];
    if (row === undefined) rows[layer] = [n];
    else row.push(n);
  }
  // Within a row, order by the mean position of the parents (fewer crossings).
  const order = new Map<string, number>();
  const parents = new Map<string, string[]>();
  for (const e of edges) {
    const list = parents.get(e.to);
    if (list === undefined) parents.set(e.to, [e.from]);
    else list.push(e.from);
  }
  for (const row of rows) {
    if (row === undefined) continue;
    const key = (n: LineageNode) => {
      const ps = (parents.get(n.id) ?? []).map((p) => order.get(p) ?? 0);
      return ps.length === 0 ? 0 : ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    row.sort((a, b) => key(a) - key(b));
    row.forEach((n, i) => {
      order.set(n.id, i);
    });
  }
  const rowWidth = (row: readonly LineageNode[]) =>
    row.reduce((sum, n) => sum + (size.get(n.id)?.w ?? 0), 0) + GAP_X * (row.length - 1);
  // Not `Math.max(...rows)`: too many arguments for the stack in a long lineage.
  const contentW = rows.reduce((most, row) => Math.max(most, rowWidth(row)), 0);
  const boxes = new Map<string, Box>();
  let y = MARGIN;
  for (const row of rows) {
    if (row === undefined) continue;
    let x = MARGIN + 20 + (contentW - rowWidth(row)) / 2;
    for (const n of row) {
      const { w, h } = size.get(n.id) ?? { w: 90, h: 40 };
      boxes.set(n.id, { x, y, w, h });
      x += w + GAP_X;
    }
    y += 40 + GAP_Y;
  }
  const marker = `${idPrefix}-arrow`;
  const out: string[] = [];
  for (const n of nodes) {
    const box = boxes.get(n.id);
    if (box === undefined) continue;
    const [type = '', id = ''] = n.lines;
    const cx = box.x + box.w / 2;
    out.push(`<g data-context="${escapeXml(id)}"><title>${escapeXml(`${type} ${id}`)}</title>`);
    out.push(
      `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="6" class="context"/>`,
    );
    out.push(
      `<text x="${cx}" y="${box.y + 17}" text-anchor="middle" class="title">${escapeXml(clip(type, 36))}</text>`,
    );
    out.push(
      `<text x="${cx}" y="${box.y + 32}" text-anchor="middle" class="context-id">${escapeXml(clip(id, 40))}</text></g>`,
    );
  }
  const outDegree = new Map<string, number>();
  for (const e of edges) outDegree.set(e.from, (outDegree.get(e.from) ?? 0) + 1);
  const pairs = new Map<string, number>();
  for (const e of edges) {
    const a = boxes.get(e.from);
    const b = boxes.get(e.to);
    if (a === undefined || b === undefined) continue;
    const pair = `${e.from}-${e.to}`;
    const bend = pairs.get(pair) ?? 0;
    pairs.set(pair, bend + 1);
    // Labels apart: near the child when a context fans out, near the parent at a merge.
    const fanOut = (outDegree.get(e.from) ?? 0) > 1;
    const fanIn = (parents.get(e.to)?.length ?? 0) > 1;
    const at = fanOut ? 0.72 : fanIn ? 0.28 : 0.5;
    const { d, lx, ly } = edgePath(a, b, bend, at);
    const cls = e.pruned ? 'edge dotted' : 'edge';
    out.push(`<path d="${d}" class="${cls}" marker-end="url(#${marker})"/>`);
    out.push(edgeLabel(e.label, lx, ly + 3));
  }
  const w = Math.ceil(contentW + 2 * MARGIN + 40);
  const h = Math.ceil(Math.max(y - GAP_Y + MARGIN, 60));
  const empty =
    nodes.length === 0
      ? `<text x="${MARGIN}" y="${MARGIN + 20}" class="caption">No contexts recorded.</text>`
      : '';
  return [
    `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeXml(title)}">`,
    `<defs>${arrowMarker(marker)}</defs>`,
    ...out,
    empty,
    '</svg>',
  ].join('\n');
}
