import {
  createWebSocketInspector,
  createWebSocketReceiver,
  type StatelyInspectionEvent,
} from '@statelyai/inspect';
import { createRuntime, type Runtime, readRecording, replayRecording } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  childNames,
  documentWorkflow,
  registeredDefinition,
  rootOf,
  snapshotsOf,
} from './helpers.js';

/**
 * A local relay like `@statelyai/inspect/server` (without its HTTP page): every message a client
 * sends is kept and passed on to the other clients. Bound to 127.0.0.1 on a free port.
 */
async function startRelay() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const received: StatelyInspectionEvent[] = [];
  const clients = new Set<WebSocket>();
  server.on('connection', (socket) => {
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    socket.on('message', (data) => {
      const text = String(data);
      received.push(JSON.parse(text) as StatelyInspectionEvent);
      for (const other of clients) if (other !== socket) other.send(text);
    });
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    clients,
    async close() {
      for (const socket of server.clients) socket.terminate();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/** Polls `check` until it holds (20 ms steps), failing after `ms`. */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function untilSuspended(runtime: Runtime): Promise<void> {
  return new Promise((resolve) => {
    const stop = runtime.subscribe((e) => {
      if (e.type === 'status.changed' && e.status === 'suspended') {
        stop();
        resolve();
      }
    });
  });
}

/** Whether `events` hold the final `done` snapshot of the root actor `rootId`. */
function finished(events: readonly StatelyInspectionEvent[], rootId: string | undefined): boolean {
  return events.some(
    (e) =>
      e.type === '@xstate.snapshot' &&
      e.sessionId === rootId &&
      (e.snapshot as { status?: string }).status === 'done',
  );
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe("@statelyai/inspect's WebSocket inspector on the runtime's inspect option", () => {
  it('receives a real run over a local WebSocket: actors, events, snapshots, the final state', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close());
    // A second client, as the Stately inspector page would be, gets the relayed events.
    const relayed: StatelyInspectionEvent[] = [];
    createWebSocketReceiver({ server: relay.url }).subscribe((e) => relayed.push(e));
    await until(() => relay.clients.size === 1, 'the receiver to connect');

    const inspector = createWebSocketInspector({ url: relay.url });
    cleanups.push(() => inspector.stop());
    const runtime = createRuntime({ store: createMemoryStore(), inspect: inspector.inspect });
    cleanups.push(() => runtime.close());
    const suspended = untilSuspended(runtime);
    const run = await runtime.start(documentWorkflow(), { text: 'a b c' }, { taskId: 'ws_1' });
    await suspended;
    await runtime.send('ws_1', { type: 'approval', data: { ok: true } });
    await run.result;

    const events = relay.received;
    await until(() => rootOf(events, 'document') !== undefined, 'the workflow actor');
    const root = rootOf(events, 'document');
    await until(() => finished(events, root), 'the final snapshot');

    // The workflow actor is registered with its machine definition (what the visualizer draws).
    const definition = registeredDefinition(events, root);
    expect(definition.id).toBe('document');
    // (safe-stable-stringify sorts the keys)
    expect(Object.keys(definition.states)).toEqual([
      'analyze',
      'approve',
      'done',
      'failed',
      'parse',
    ]);
    // Invoked step actors reach the inspector too, as children of the workflow actor.
    expect(childNames(events, root)).toEqual(['runStep.parse', 'runStep.count', 'runStep.tone']);
    const sent = events.flatMap((e) => (e.type === '@xstate.event' ? [e.event.type] : []));
    expect(sent).toContain('approval');
    expect(sent).toContain('workflow.committed');
    const final = snapshotsOf(events, root).at(-1);
    expect(final?.snapshot).toMatchObject({ status: 'done', value: 'done' });
    expect(final?.rootId).toBe(root);

    await until(() => relayed.length === events.length, 'the relayed events');
    expect(relayed).toEqual(events);
  });

  it('reaches the actor of a resumed run, and a recording replays into it with fresh ids', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close());
    const inspector = createWebSocketInspector({ url: relay.url });
    cleanups.push(() => inspector.stop());
    const store = createMemoryStore();
    const workflow = documentWorkflow();

    const first = createRuntime({ store, record: true });
    const suspended = untilSuspended(first);
    const run = await first.start(workflow, { text: 'a b' }, { taskId: 'ws_2' });
    run.result.catch(() => undefined);
    await suspended;
    await first.close(); // as if the process stopped here

    const second = createRuntime({ store, workflows: [workflow], inspect: inspector.inspect });
    cleanups.push(() => second.close());
    const resumed = await second.resume('ws_2');
    await second.send('ws_2', { type: 'approval', data: { ok: true } });
    await resumed.result;
    await until(() => rootOf(relay.received, 'document') !== undefined, 'the workflow actor');
    const root = rootOf(relay.received, 'document');
    await until(() => finished(relay.received, root), 'the resumed run to finish');
    const values = snapshotsOf(relay.received, root).map(
      (e) => (e.snapshot as { value?: unknown }).value,
    );
    // Restored at the approval, then to the end: the earlier steps did not run again.
    expect(values[0]).toEqual({ approve: 'waiting' });
    expect(values.at(-1)).toBe('done');

    // The first run's recording, replayed into the same inspector later.
    const before = relay.received.length;
    const recording = await readRecording(store, 'ws_2');
    const delivered = replayRecording(recording, inspector.inspect);
    await until(() => relay.received.length === before + delivered, 'the replayed events');
    const replayed = relay.received.slice(before);
    const session = recording.sessions[0]?.id;
    for (const e of replayed) expect(e.sessionId.startsWith(`ws_2/${session}/`)).toBe(true);
    const replayedRoot = replayed[0];
    expect(replayedRoot).toMatchObject({ type: '@xstate.actor', name: 'document' });
    expect(JSON.parse((replayedRoot as { definition: string }).definition).id).toBe('document');
    const last = replayed.flatMap((e) => (e.type === '@xstate.snapshot' ? [e] : [])).at(-1);
    expect(last?.snapshot).toMatchObject({ value: { approve: 'waiting' } });
  });
});
