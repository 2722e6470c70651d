import { MAIN_LANE } from '../../machines/workflow-plan.js';
import type { StepRoute } from '../../machines/workflow-types.js';
import type { Context, ContextRef } from '../context/context.js';
import { markValidatedJson } from '../context/validated-json.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { JsonObject } from '../json.js';
import { type StepIndex, stepLane, type WorkflowProgress } from './workflow-progress.js';

function refOf(context: Context): ContextRef {
  return { contextId: context.contextId, contextType: context.contextType };
}

/** A route as lineage metadata (JSON). */
function routeMetadata(route: StepRoute) {
  const { targetType, targetId, priority } = route.target;
  return { targetType, targetId, priority, ruleId: route.ruleId, reason: route.reason };
}

/**
 * Logs every new context that appears in a workflow's lanes into its `ContextFlowManager`, by
 * comparing each snapshot's lanes with the previous ones: a step's result comes from the lane's
 * previous context, a merge from every region context it names in `metadata.mergedFrom` (one
 * transition with several parents), the first main-lane context is an origin. A region lane
 * starts with the group's input, so its first step's result comes from that input. A routed
 * step's result names its target as the component (`<targetType>_<targetId>`, as the seed logs
 * it) and carries `metadata.route` (`targetType`, `targetId`, `priority`, `ruleId`, `reason`):
 * why the context went there.
 */
export class LaneLineage {
  readonly #flow: ContextFlowManager;
  readonly #index: StepIndex;
  #lanes = new Map<string, ContextRef>();
  /** The lanes object last observed: an unchanged one (most snapshots) has nothing new. */
  #seen: Readonly<Record<string, Context>> | undefined;
  /** Routed steps whose unchanged context was logged (see {@link #passedOn}). */
  readonly #passed = new Set<string>();

  constructor(flow: ContextFlowManager, index: StepIndex) {
    this.#flow = flow;
    this.#index = index;
  }

  /**
   * Logs a new run's input as the origin of its main lane, before its first snapshot: that
   * snapshot may already hold the first step's result instead (a first group with nothing to
   * run merges at once), which then comes from the input as any result does.
   */
  begin(input: Context): void {
    this.#logInput(input);
    this.#lanes = new Map([[MAIN_LANE, refOf(input)]]);
  }

  /** Takes the lanes as they are without logging anything (a restored snapshot). */
  seed(lanes: Readonly<Record<string, Context>>): void {
    this.#lanes = new Map(Object.entries(lanes).map(([lane, context]) => [lane, refOf(context)]));
    this.#seen = lanes;
  }

  /** Logs the contexts that are new in `lanes`; `progress` says which step completed where. */
  observe(
    lanes: Readonly<Record<string, Context>>,
    progress: WorkflowProgress,
    routes?: Readonly<Record<string, StepRoute>>,
  ): void {
    // XState keeps the context's `lanes` object unless an action assigned new lanes.
    if (lanes === this.#seen) return;
    this.#seen = lanes;
    const previous = this.#lanes;
    const known = new Map<string, ContextRef>();
    for (const ref of previous.values()) known.set(ref.contextId, ref);
    const next = new Map<string, ContextRef>();
    for (const [lane, context] of Object.entries(lanes)) {
      const ref = refOf(context);
      next.set(lane, ref);
      const before = previous.get(lane);
      if (before?.contextId === ref.contextId) {
        this.#passedOn(lane, context, before, progress, routes);
        continue;
      }
      if (before === undefined && known.has(ref.contextId)) continue; // a region's group input
      this.#log(lane, context, before, known, progress, routes);
      known.set(ref.contextId, ref);
    }
    this.#lanes = next;
  }

  #log(
    lane: string,
    context: Context,
    before: ContextRef | undefined,
    known: ReadonlyMap<string, ContextRef>,
    progress: WorkflowProgress,
    routes: Readonly<Record<string, StepRoute>> | undefined,
  ): void {
    const step = this.#completedStepIn(lane, progress);
    if (step === undefined && before === undefined && lane === MAIN_LANE) {
      this.#logInput(context);
      return;
    }
    const plan = step === undefined ? undefined : this.#index.plan.get(step);
    const mergedFrom = context.metadata.mergedFrom;
    const isMerge = plan?.metadata?.kind === 'parallel' && Array.isArray(mergedFrom);
    let parents: ContextRef[];
    if (isMerge) {
      // Regions that hand back the same context (the group's input, passed through) list it
      // once each in mergedFrom; the transition names each parent once.
      parents = [...new Set(mergedFrom as unknown[])].flatMap((id) => {
        const ref = typeof id === 'string' ? known.get(id) : undefined;
        return ref === undefined ? [] : [ref];
      });
    } else {
      parents = before === undefined ? this.#groupInput(lane) : [before];
    }
    const route = step === undefined ? undefined : routes?.[step];
    const metadata: JsonObject = { lane };
    if (plan) {
      metadata.stepId = plan.stepId;
      metadata.stepIndex = plan.stepIndex;
    }
    if (route !== undefined) metadata.route = routeMetadata(route);
    const routedTo =
      route === undefined ? undefined : `${route.target.targetType}_${route.target.targetId}`;
    const logged: JsonObject = isMerge
      ? { ...metadata, strategy: String(context.metadata.mergeStrategy) }
      : metadata;
    if (route === undefined) {
      // Strings and a plan index only: JSON by construction, so the log takes it as it is.
      markValidatedJson(Object.freeze(logged));
    }
    this.#flow.logTransition({
      toContext: context,
      componentName: routedTo ?? plan?.toolName ?? plan?.stepId ?? 'WorkflowRuntime',
      operation: isMerge ? 'merge' : (plan?.action ?? 'step'),
      fromContext: parents,
      metadata: logged,
    });
  }

  #logInput(input: Context): void {
    this.#flow.logTransition({
      toContext: input,
      componentName: 'WorkflowRuntime',
      operation: 'input',
      metadata: { lane: MAIN_LANE },
    });
  }

  /**
   * A routed step whose target gave the lane's context back unchanged: the decision is logged
   * all the same (the context went there, and came back as itself), once per step.
   */
  #passedOn(
    lane: string,
    context: Context,
    before: ContextRef,
    progress: WorkflowProgress,
    routes: Readonly<Record<string, StepRoute>> | undefined,
  ): void {
    if (routes === undefined) return;
    const step = this.#completedStepIn(lane, progress);
    if (step === undefined || this.#passed.has(step)) return;
    // The context routed is the one the lane holds: the target gave it back. (A region whose
    // target made a new context sits at its gate while other lanes change; nothing to log.)
    if (routes[step]?.contextId !== context.contextId) return;
    this.#passed.add(step);
    this.#log(lane, context, before, new Map(), progress, routes);
  }

  /** The step of `lane` that sits at its commit gate (it produced the lane's new context). */
  #completedStepIn(lane: string, progress: WorkflowProgress): string | undefined {
    for (const [stepId, phase] of progress.phases) {
      if (phase === 'commit' && stepLane(this.#index, stepId) === lane) return stepId;
    }
    return undefined;
  }

  /** The input of the group a region lane (`<groupId>.<regionId>`) belongs to. */
  #groupInput(lane: string): ContextRef[] {
    const groupId = lane.split('.')[0] ?? '';
    const input = this.#lanes.get(stepLane(this.#index, groupId));
    return input === undefined ? [] : [input];
  }
}
