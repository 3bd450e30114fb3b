// The environment contract: every key (and alias) as an environment variable
// (upper-cased, `.` and `-` turned into `_`), declared as a JSON schema and
// read through env-schema. The given env object is copied, never mutated, and
// process.env is not read here (callers pass it in, tests pass their own).
import envSchema from 'env-schema';
import { CONFIG_FILE_ENV, envVarName, KEYS, REVISION_ENV } from './keys.js';

export interface EnvConfigEntry {
  /** The key or alias this variable stands for. */
  readonly name: string;
  readonly envVar: string;
  readonly value: string;
  readonly origin: string;
}

export interface EnvSource {
  readonly entries: readonly EnvConfigEntry[];
  readonly configFile: string | undefined;
  /** `JOBMANAGER_*` variables that match no key (for "did you mean" warnings). */
  readonly unknown: readonly string[];
}

/** Env var name -> key or alias it stands for. */
function envNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const spec of KEYS) {
    for (const name of [spec.key, ...spec.aliases]) names.set(envVarName(name), name);
  }
  return names;
}

const ENV_NAMES = envNames();

/** All env var names the JobManager reads, for "did you mean" suggestions. */
export function knownEnvVarNames(): string[] {
  return [...ENV_NAMES.keys(), CONFIG_FILE_ENV];
}

/** The JSON schema of the environment contract (all strings; parsed by key kind later). */
export function envJsonSchema(): { type: 'object'; properties: Record<string, { type: 'string'; description: string }> } {
  const properties: Record<string, { type: 'string'; description: string }> = {};
  for (const [envVar, name] of ENV_NAMES) properties[envVar] = { type: 'string', description: name };
  properties[CONFIG_FILE_ENV] = { type: 'string', description: 'path of appsettings.json' };
  return { type: 'object', properties };
}

// Kubernetes service links: a Service named e.g. "jobmanager" gives every pod in
// the namespace JOBMANAGER_SERVICE_HOST, JOBMANAGER_SERVICE_PORT,
// JOBMANAGER_PORT, JOBMANAGER_PORT_8081_TCP_ADDR... They are not configuration
// and must not produce warnings. They always come with <NAME>_SERVICE_HOST.
function isServiceLink(name: string, serviceNames: readonly string[]): boolean {
  return serviceNames.some(
    (svc) => name.startsWith(`${svc}_SERVICE_`) || name === `${svc}_PORT` || name.startsWith(`${svc}_PORT_`),
  );
}

export function readEnvSource(env: Readonly<Record<string, string | undefined>>): EnvSource {
  const data: Record<string, string> = {};
  // An empty variable counts as unset: templates and `docker run -e X=` produce
  // them for "not configured", and there is no other way to express that.
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string' && value.trim() !== '') data[name] = value;

  // env: false -> env-schema reads only `data`, not process.env; it validates a
  // merged copy and strips undeclared variables from that copy.
  const known = envSchema<Record<string, string | undefined>>({
    schema: envJsonSchema(),
    data,
    env: false,
    dotenv: false,
  });

  const entries: EnvConfigEntry[] = [];
  for (const [envVar, name] of ENV_NAMES) {
    const value = known[envVar];
    if (value !== undefined) entries.push({ name, envVar, value, origin: `env ${envVar}` });
  }
  const serviceNames = Object.keys(data)
    .filter((v) => v.endsWith('_SERVICE_HOST'))
    .map((v) => v.slice(0, -'_SERVICE_HOST'.length));
  const unknown = Object.keys(data).filter(
    (v) =>
      v.startsWith('JOBMANAGER_') && !ENV_NAMES.has(v) && v !== CONFIG_FILE_ENV && v !== REVISION_ENV && !isServiceLink(v, serviceNames),
  );
  return { entries, configFile: known[CONFIG_FILE_ENV], unknown };
}
