// The version this JobManager reports where Flink reports its own
// (`flink-version`, `flink-commit` / `flink-revision`): the package version
// and, when the build/image sets it, JOBMANAGER_REVISION.
import { readFileSync } from 'node:fs';
import { REVISION_ENV } from '../../config/keys.js';

function packageVersion(): string {
  try {
    // app/http/rest/version.ts and dist/http/rest/version.js are both three levels below the package root.
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const JOBMANAGER_VERSION = packageVersion();
export const JOBMANAGER_REVISION = process.env[REVISION_ENV] ?? 'unknown';
