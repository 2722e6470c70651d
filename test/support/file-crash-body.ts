/**
 * The body the crash writer saves under `checkpointId`: about `bytes` UTF-8 bytes, derived from the
 * id alone (multi-byte characters included), so the parent can check each record it finds intact.
 */
export function crashBody(checkpointId: string, bytes: number): string {
  const unit = `${checkpointId}|é€😀|`;
  const unitBytes = new TextEncoder().encode(unit).length;
  return `{"id":${JSON.stringify(checkpointId)},"pad":"${unit.repeat(Math.ceil(bytes / unitBytes))}"}`;
}
