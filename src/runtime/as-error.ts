/** `value` if it is an `Error`, else an `Error` with its text (what a rejection reported). */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
