import type { WorkflowMachine } from '../../machines/define-workflow.js';
import {
  type PersistedRouterHandle,
  startPersistedRouter,
} from '../../machines/router/persist-router.js';
import { assertRouterMachineOptions } from '../../machines/router/router-machine.js';
import { startRouter } from '../../machines/router/start-router.js';
import { hasRoutedSteps, withRouting } from '../../machines/router/with-routing.js';
import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import { isMachineWorkflow } from './machine-workflow.js';
import type { DefinedRuntimeWorkflow, RuntimeOptions, RuntimeWorkflow } from './runtime-types.js';

/**
 * The routing of a runtime's routed steps (internal to `createRuntime`): one router actor for
 * the runtime, started at the first workflow with routed steps (restored from the store unless
 * `routerActor.persist` is false), and each such workflow's machine with routing provided.
 */
export class RuntimeRouting {
  readonly #options: RuntimeOptions;
  /** The router actor, once a routed workflow asked for it. */
  #targets: Promise<PersistedRouterHandle> | undefined;
  /** Workflow → its machine with routing provided (only workflows with routed steps). */
  #routed = new WeakMap<DefinedRuntimeWorkflow, WorkflowMachine>();

  /**
   * Checks the targets and the router actor's limits at once (`InvalidIdError`, `TypeError`),
   * though the router starts at the first routed run.
   */
  constructor(options: RuntimeOptions) {
    const { idleTimeoutMs, maxChildren } = options.routerActor ?? {};
    assertRouterMachineOptions({
      targets: options.targets ?? [],
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
      ...(maxChildren === undefined ? {} : { maxChildren }),
    });
    this.#options = options;
  }

  /**
   * The machine a defined workflow runs as: with routing provided when it has routed steps and
   * the runtime has a `router` (without one, its routed steps fail with `NoRouterError`).
   * Nothing for a hand-written machine, which has no routed steps.
   */
  async machineFor(
    workflow: RuntimeWorkflow,
    manager: CheckpointManager,
  ): Promise<{ machine?: WorkflowMachine }> {
    const { router } = this.#options;
    if (router === undefined || isMachineWorkflow(workflow) || !hasRoutedSteps(workflow)) {
      return {};
    }
    let machine = this.#routed.get(workflow);
    if (machine === undefined) {
      const targets = await this.#router(manager);
      machine = this.#routed.get(workflow) ?? withRouting(workflow, { router, targets });
      this.#routed.set(workflow, machine);
    }
    return { machine };
  }

  /**
   * Stops the router actor, if one was started (it is started again when asked for, and the
   * machines that held it are made again with the new one).
   */
  async close(): Promise<void> {
    const targets = this.#targets;
    this.#targets = undefined;
    this.#routed = new WeakMap();
    await (await targets?.catch(() => undefined))?.close();
  }

  /**
   * The router actor, started once. A start that failed (a corrupt router record, say) is tried
   * again at the next one.
   */
  #router(manager: CheckpointManager): Promise<PersistedRouterHandle> {
    if (this.#targets === undefined) {
      const { persist = true, ...actor } = this.#options.routerActor ?? {};
      const { inspect } = this.#options;
      const options = {
        targets: this.#options.targets ?? [],
        ...actor,
        ...(inspect === undefined ? {} : { inspect }),
      };
      let starting: Promise<PersistedRouterHandle>;
      if (persist) {
        starting = startPersistedRouter({ ...options, manager });
      } else {
        const handle = startRouter(options);
        const close = async () => handle.stop();
        starting = Promise.resolve({ ...handle, taskId: '', flush: async () => {}, close });
      }
      this.#targets = starting;
      starting.catch(() => {
        if (this.#targets === starting) this.#targets = undefined;
      });
    }
    return this.#targets;
  }
}
