/**
 * The browser example's workflow: a small trip-planning agent team. An intake agent reads the
 * request, three agents (weather, sights, food) look things up in parallel (one parallel XState
 * state, merged when the last one finishes), a planner drafts the itinerary and a critic reviews
 * it. The agents are deterministic local functions with a delay, so a run takes a few seconds
 * (time to reload the page mid-run) and always ends with the same itinerary.
 */
import {
  type Context,
  createContext,
  defineWorkflow,
  type TaskStep,
  type Workflow,
} from 'mcp-orchestration';

/** What the user asks for. */
export type TripRequest = { destination: string; days: number };

/** The data that flows through the workflow, filled in step by step. */
type Trip = {
  request: TripRequest;
  findings?: Record<string, string[]>;
  itinerary?: string[];
  review?: string;
};

/** Called when a step's work starts, with its idempotency key (`task:step:attempt`). */
export type OnWork = (stepId: string, idempotencyKey: string) => void;

/** Options of {@link createTripWorkflow}. */
export interface TripWorkflowOptions {
  /** How long each agent works, in ms. Default: 900. */
  readonly stepMs?: number;
  /** Told about every step attempt that starts (the page counts them). Default: none. */
  readonly onWork?: OnWork;
}

/** What each agent "knows": a tiny local corpus standing in for tools and models. */
const knowledge: Record<string, string[]> = {
  weather: ['Mild mornings, showers after 4 pm: plan museums for the afternoons.'],
  sights: ['Old town walking tour', 'Harbour and lighthouse', 'Botanical garden'],
  food: ['Market hall for lunch', 'Fish soup at the harbour', 'Pastry shop by the cathedral'],
};

/** Waits `ms`, or rejects when the step is aborted (timeout, page closing, shutdown). */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** The request in the run's input, cleaned up: a destination, and 1 to 7 days. */
function readRequest(input: unknown): TripRequest {
  const { destination, days } = (input ?? {}) as Partial<TripRequest>;
  const name =
    typeof destination === 'string' && destination.trim() !== '' ? destination : 'Lisbon';
  const count = typeof days === 'number' && Number.isFinite(days) ? Math.round(days) : 3;
  return { destination: name.trim(), days: Math.min(7, Math.max(1, count)) };
}

/** A new immutable context for the step's result, its id derived from the task and step. */
function next(taskId: string, stepId: string, data: Trip): Context {
  return createContext('TripContext', data, { contextId: `${taskId}.${stepId}` });
}

/**
 * The trip-planning workflow: `intake` → `research` (`weather` ∥ `sights` ∥ `food`) → `draft`
 * → `review`.
 */
export function createTripWorkflow(options: TripWorkflowOptions = {}): Workflow {
  const stepMs = options.stepMs ?? 900;

  /** A task step that does `ms` of "work" then computes the next trip data. */
  function agent(
    stepId: string,
    name: string,
    compute: (trip: Trip) => Trip,
    factor = 1,
  ): TaskStep {
    return {
      stepId,
      name,
      run: async (context, _step, { taskId, idempotencyKey, signal }) => {
        options.onWork?.(stepId, idempotencyKey);
        await work(stepMs * factor, signal);
        return next(taskId, stepId, compute(context.data as Trip));
      },
    };
  }

  const lookUp =
    (topic: string) =>
    (trip: Trip): Trip => ({
      request: trip.request,
      findings: { [topic]: knowledge[topic] ?? [] },
    });

  return defineWorkflow({
    id: 'trip-planner',
    version: '1',
    name: 'Trip planner',
    description: 'Read the request, research in parallel with three agents, draft, review.',
    steps: [
      // The input context's data is the request itself.
      agent('intake', 'Read the request', (input) => ({ request: readRequest(input) })),
      {
        stepId: 'research',
        name: 'Research in parallel',
        parallel: {
          weather: [agent('weather', 'Weather agent', lookUp('weather'), 0.8)],
          sights: [agent('sights', 'Sights agent', lookUp('sights'), 1.2)],
          food: [agent('food', 'Food agent', lookUp('food'))],
        },
      },
      agent('draft', 'Draft the itinerary', (trip) => {
        const sights = trip.findings?.sights ?? [];
        const food = trip.findings?.food ?? [];
        const itinerary = Array.from({ length: trip.request.days }, (_, day) => {
          const sight = sights[day % Math.max(1, sights.length)] ?? 'Free time';
          const meal = food[day % Math.max(1, food.length)] ?? 'Local food';
          return `Day ${day + 1} in ${trip.request.destination}: ${sight}; ${meal}`;
        });
        return { ...trip, itinerary };
      }),
      agent('review', 'Review the plan', (trip) => {
        const weather = trip.findings?.weather?.[0] ?? '';
        const days = trip.itinerary?.length ?? 0;
        return { ...trip, review: `${days} days planned, one sight a day. ${weather}` };
      }),
    ],
  });
}
