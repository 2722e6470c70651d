import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the OS temp folder for one test, and its removal. */
export async function makeTempDir(
  label: string,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `mcp-orch-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
