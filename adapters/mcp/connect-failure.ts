import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { McpConnectError, type McpConnectFailureReason } from '../../src/errors.js';

/** What a connect was doing when it failed: `initialize` (with starting the transport), or listing. */
export type ConnectPhase = 'initialize' | 'list';

/** A failed connect, as the connectors read it. @internal */
export interface ConnectAttempt {
  /** What the connect rejected with. */
  readonly error: unknown;
  /** The transport it used, once made. */
  readonly transport: Transport | undefined;
  readonly phase: ConnectPhase;
  /** The first error the transport reported meanwhile (e.g. a stdout line that is not JSON-RPC). */
  readonly reported: unknown;
  /** The connect timeout, when it was what ended the attempt. */
  readonly timedOutAfterMs: number | undefined;
}

/** Why a connect failed, in the terms of {@link McpConnectError}. @internal */
export interface McpConnectFailure {
  readonly reason: McpConnectFailureReason;
  readonly detail: string;
  readonly httpStatus?: number;
  readonly exitCode?: number | null;
}

/** How a connector names its server and reads its transport's failures. @internal */
export interface McpServerDescription {
  /** The server in messages: a command line, a URL with its credentials masked. */
  readonly server: string;
  /** The transport's own reading of a failure; `undefined` leaves it to the generic one. */
  readonly explain?: (attempt: ConnectAttempt) => McpConnectFailure | undefined;
}

/** `text` on one line, at most `max` characters (an ellipsis marks a cut). */
export function shortText(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** What an error says, in short: a `ZodError`'s first issue rather than its JSON dump. */
export function shortMessage(error: unknown): string {
  const issues = (error as { issues?: unknown } | null)?.issues;
  if (error instanceof Error && error.name === 'ZodError' && Array.isArray(issues)) {
    const first = issues[0] as { path?: unknown[]; message?: string } | undefined;
    const path = first?.path?.length ? `${first.path.join('.')}: ` : '';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    return shortText(`${path}${first?.message ?? 'invalid'}${more}`);
  }
  if (error instanceof Error) return shortText(error.message);
  return shortText(String(error));
}

/** Whether `error` is a message that does not parse as JSON-RPC (bad JSON, or the wrong shape). */
export function isParseError(error: unknown): boolean {
  return error instanceof SyntaxError || (error instanceof Error && error.name === 'ZodError');
}

/** The request the phase waited for. */
export function phaseRequest(phase: ConnectPhase): string {
  return phase === 'initialize' ? 'initialize' : 'tools/list';
}

/** "; it sent what is not JSON-RPC: …" when the transport reported such a message. */
export function reportedNote(attempt: ConnectAttempt): string {
  const { reported } = attempt;
  if (reported === undefined || !isParseError(reported)) return '';
  return `; it sent what is not a JSON-RPC message (${shortMessage(reported)})`;
}

/** The generic reading of a failed connect, whatever the transport. */
function genericFailure(attempt: ConnectAttempt): McpConnectFailure {
  const { error, phase } = attempt;
  const request = phaseRequest(phase);
  const note = reportedNote(attempt);
  if (error instanceof McpError || (error instanceof Error && error.name === 'McpError')) {
    const { code } = error as McpError;
    if (code === ErrorCode.ConnectionClosed) {
      return {
        reason: 'exited',
        detail: `the connection closed before it answered ${request}${note}`,
      };
    }
    if (code === ErrorCode.RequestTimeout) {
      return {
        reason: note === '' ? 'timeout' : 'protocol',
        detail: `it did not answer ${request} in time${note}`,
      };
    }
    return {
      reason: 'protocol',
      detail: `it answered ${request} with JSON-RPC error ${code}: ${shortMessage(error)}`,
    };
  }
  if (isParseError(error)) {
    return {
      reason: 'protocol',
      detail: `its answer to ${request} is not a valid JSON-RPC message (${shortMessage(error)})`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (
    /^Server('s protocol version is not supported| sent invalid initialize result)/.test(message)
  ) {
    return { reason: 'protocol', detail: shortMessage(error) };
  }
  return { reason: 'transport', detail: `${shortMessage(error)}${note}` };
}

/** The {@link McpConnectError} of a failed connect, the original error as its `cause`. @internal */
export function connectError(
  description: McpServerDescription | undefined,
  attempt: ConnectAttempt,
): McpConnectError {
  const transportName = attempt.transport?.constructor?.name;
  const server = description?.server ?? `over ${transportName || 'a transport'}`;
  let failure: McpConnectFailure;
  if (attempt.timedOutAfterMs !== undefined) {
    const note = reportedNote(attempt);
    failure = {
      reason: note === '' ? 'timeout' : 'protocol',
      detail: `it did not answer ${phaseRequest(attempt.phase)} within the connect timeout of ${attempt.timedOutAfterMs} ms${note}`,
    };
  } else {
    failure = description?.explain?.(attempt) ?? genericFailure(attempt);
  }
  return new McpConnectError(server, failure.reason, failure.detail, {
    cause: attempt.error,
    ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
    ...(failure.exitCode === undefined ? {} : { exitCode: failure.exitCode }),
  });
}
