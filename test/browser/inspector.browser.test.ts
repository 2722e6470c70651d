import { createBrowserInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { createRuntime, type Runtime } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import {
  childNames,
  documentWorkflow,
  registeredDefinition,
  rootOf,
  snapshotsOf,
} from '../inspection/helpers.js';

// @statelyai/inspect's browser inspector on the runtime's `inspect` option, in real Chromium. The
// inspector posts to a window it opens, or to an iframe it points at `url` (by default the hosted
// Stately app). Here the iframe loads a local stand-in for that app (a `data:` URL: no network,
// and an opaque origin, so it is cross-origin to this page like stately.ai is): it answers the
// handshake as the app does (`{ type: '@statelyai.connected' }` posted to its parent, which makes
// the inspector flush what it buffered and post every event after), and echoes each message it
// gets back to this page, where the test collects them.

/** The type of the stand-in's echo: `{ type: ECHO, data }`, `data` being what it received. */
const ECHO = 'stately-stand-in.received';
/** Asks a stand-in mounted with `connect: 'when-asked'` to answer the handshake now. */
const CONNECT_NOW = 'stately-stand-in.connect';

/** The stand-in's page: the Stately side of the handshake, and an echo of every message. */
function standInHtml(connect: 'on-load' | 'when-asked'): string {
  const script = `
    const connect = () => parent.postMessage({ type: '@statelyai.connected' }, '*');
    addEventListener('message', (event) => {
      if (event.source !== parent) return;
      if (event.data && event.data.type === '${CONNECT_NOW}') return connect();
      parent.postMessage({ type: '${ECHO}', data: event.data }, '*');
    });
    ${connect === 'on-load' ? "addEventListener('load', connect);" : ''}
  `;
  return `<!doctype html><html><body><script>${script}</script></body></html>`;
}

interface StandIn {
  iframe: HTMLIFrameElement;
  /** The stand-in's URL, to give the inspector. */
  url: string;
  /** Every message the stand-in received, in order. */
  received: unknown[];
  /** Whether the stand-in has answered the handshake. */
  connected: () => boolean;
  remove: () => void;
}

/** Mounts an empty iframe for the inspector to point at the stand-in (it sets `src` itself). */
function mountStandIn(connect: 'on-load' | 'when-asked'): StandIn {
  const iframe = document.createElement('iframe');
  document.body.append(iframe);
  const received: unknown[] = [];
  let connected = false;
  const onMessage = (event: MessageEvent) => {
    if (event.source !== iframe.contentWindow) return;
    const data = event.data as { type?: unknown; data?: unknown } | null;
    if (data?.type === '@statelyai.connected') connected = true;
    else if (data?.type === ECHO) received.push(data.data);
  };
  window.addEventListener('message', onMessage);
  return {
    iframe,
    url: `data:text/html;charset=utf-8,${encodeURIComponent(standInHtml(connect))}`,
    received,
    connected: () => connected,
    remove() {
      window.removeEventListener('message', onMessage);
      iframe.remove();
    },
  };
}

/** Resolves on the iframe's next `load`: after the inspector's own listener took its window. */
const nextLoad = (iframe: HTMLIFrameElement) =>
  new Promise<void>((resolve) => iframe.addEventListener('load', () => resolve(), { once: true }));

/** The Stately inspection events among the stand-in's messages (as `createBrowserReceiver` tells). */
const inspectionEvents = (received: readonly unknown[]) =>
  received.filter(
    (m): m is StatelyInspectionEvent =>
      typeof m === 'object' &&
      m !== null &&
      typeof (m as { type?: unknown }).type === 'string' &&
      typeof (m as { _version?: unknown })._version === 'string',
  );

/** Runs the document workflow to the end: its steps, the wait for approval, the approval. */
async function runDocument(runtime: Runtime, taskId: string): Promise<void> {
  const suspended = new Promise<void>((resolve) => {
    const stop = runtime.subscribe((e) => {
      if (e.type === 'status.changed' && e.status === 'suspended') {
        stop();
        resolve();
      }
    });
  });
  const run = await runtime.start(documentWorkflow(), { text: 'a b c' }, { taskId });
  await suspended;
  await runtime.send(taskId, { type: 'approval', data: { ok: true } });
  await run.result;
}

/** Checks that `events` hold the whole run of the document workflow, from registration to end. */
function expectWholeRun(events: readonly StatelyInspectionEvent[]): void {
  const root = rootOf(events, 'document');
  expect(root).toBeDefined();
  // Registered with its machine definition, which the Stately app draws.
  const definition = registeredDefinition(events, root);
  expect(definition.id).toBe('document');
  expect(Object.keys(definition.states).sort()).toEqual([
    'analyze',
    'approve',
    'done',
    'failed',
    'parse',
  ]);
  // The step actors it invokes, as its children.
  expect(childNames(events, root)).toEqual(['runStep.parse', 'runStep.count', 'runStep.tone']);
  // The events it received: the external approval and the runtime's own.
  const sent = events.flatMap((e) =>
    e.type === '@xstate.event' && e.sessionId === root ? [e.event.type] : [],
  );
  expect(sent).toContain('approval');
  expect(sent).toContain('workflow.committed');
  // Its snapshots, through the wait for approval to the final one.
  const values = snapshotsOf(events, root).map((e) => (e.snapshot as { value?: unknown }).value);
  expect(values).toContainEqual({ approve: 'waiting' });
  const final = snapshotsOf(events, root).at(-1);
  expect(final?.snapshot).toMatchObject({ status: 'done', value: 'done' });
  expect(final?.rootId).toBe(root);
}

const finished = (events: readonly StatelyInspectionEvent[]) =>
  snapshotsOf(events, rootOf(events, 'document')).some(
    (e) => (e.snapshot as { status?: string }).status === 'done',
  );

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe("@statelyai/inspect's browser inspector on the runtime's inspect option (Chromium)", () => {
  it('posts a real run to the inspector iframe once it answers the handshake, and disconnects on stop', async () => {
    const standIn = mountStandIn('on-load');
    cleanups.push(() => standIn.remove());
    const inspector = createBrowserInspector({ iframe: standIn.iframe, url: standIn.url });
    let stopped = false;
    cleanups.push(() => {
      if (!stopped) inspector.stop();
    });
    expect(standIn.iframe.getAttribute('src')).toBe(standIn.url);
    await nextLoad(standIn.iframe);
    await expect.poll(standIn.connected, { timeout: 5_000 }).toBe(true);

    const runtime = createRuntime({ store: createMemoryStore(), inspect: inspector.inspect });
    cleanups.push(() => runtime.close());
    await runDocument(runtime, 'browser_inspect_1');

    // The inspector posts on idle callbacks: wait for the final snapshot to come through.
    await expect
      .poll(() => finished(inspectionEvents(standIn.received)), { timeout: 10_000 })
      .toBe(true);
    const events = inspectionEvents(standIn.received);
    expectWholeRun(events);
    // Nothing but inspection events was posted to the app while connected.
    expect(events).toHaveLength(standIn.received.length);

    inspector.stop();
    stopped = true;
    await expect
      .poll(() => standIn.received.at(-1), { timeout: 5_000 })
      .toEqual({ type: '@statelyai.disconnected' });
  });

  it('buffers a run made before the app connects and hands it over on the handshake', async () => {
    const standIn = mountStandIn('when-asked');
    cleanups.push(() => standIn.remove());
    // The buffer keeps the latest `maxDeferredEvents` (200 by default); this run posts a few dozen.
    const inspector = createBrowserInspector({ iframe: standIn.iframe, url: standIn.url });
    cleanups.push(() => inspector.stop());
    await nextLoad(standIn.iframe);

    const runtime = createRuntime({ store: createMemoryStore(), inspect: inspector.inspect });
    cleanups.push(() => runtime.close());
    await runDocument(runtime, 'browser_inspect_2');
    // Let the idle callbacks hand the whole run to the inspector: none of it is posted yet.
    await new Promise((resolve) => requestIdleCallback(resolve, { timeout: 2_000 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(standIn.connected()).toBe(false);
    expect(standIn.received).toEqual([]);

    standIn.iframe.contentWindow?.postMessage({ type: CONNECT_NOW }, '*');
    await expect.poll(standIn.connected, { timeout: 5_000 }).toBe(true);
    await expect
      .poll(() => finished(inspectionEvents(standIn.received)), { timeout: 10_000 })
      .toBe(true);
    expectWholeRun(inspectionEvents(standIn.received));
  });
});
