// The RPC bearer token: where it comes from, and how a presented token is
// compared with it. No Fastify here (the simulator uses it too).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The generated token's file name inside jobmanager.storage.dir. */
export const TOKEN_FILE_NAME = 'rpc-token';

export class RpcTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcTokenError';
  }
}

export interface TokenSource {
  /** jobmanager.rpc.auth.token */
  token?: string | undefined;
  /** jobmanager.rpc.auth.token-file */
  tokenFile?: string | undefined;
  /** jobmanager.storage.dir: where a generated token is written. */
  storageDir: string;
}

export interface ResolvedToken {
  token: string;
  /** 'config' = given as a value; 'file' = read from an existing file; 'generated' = written now. */
  origin: 'config' | 'file' | 'generated';
  /** The file read or written (undefined when origin is 'config'). */
  path?: string;
  /** Set when an existing token file is readable by group or others. */
  warning?: string;
}

/** The default token file: `<storageDir>/rpc-token`. */
export function defaultTokenPath(storageDir: string): string {
  return resolve(join(storageDir, TOKEN_FILE_NAME));
}

/**
 * The token TaskManagers must present. Precedence: the configured value, then
 * the configured file, then `<storageDir>/rpc-token`. A missing file is created
 * with a fresh 256-bit token, mode 0600; an existing one is reused, so
 * restarts and local simulators keep working. Never logs or returns the token
 * anywhere but in `token`.
 */
export function resolveRpcToken(source: TokenSource): ResolvedToken {
  if (source.token !== undefined && source.token !== '') {
    const token = source.token.trim();
    if (token.length === 0) throw new RpcTokenError('jobmanager.rpc.auth.token is blank; give a non-empty token or leave it unset to generate one');
    return { token, origin: 'config' };
  }
  const path = source.tokenFile !== undefined && source.tokenFile !== ''
    ? resolve(source.tokenFile)
    : defaultTokenPath(source.storageDir);
  const existing = readTokenFileIfPresent(path);
  if (existing !== undefined) return existing;

  const token = randomBytes(32).toString('base64url');
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a token another process just wrote.
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      const raced = readTokenFileIfPresent(path);
      if (raced !== undefined) return raced;
    }
    throw new RpcTokenError(`cannot write the RPC token file ${path}: ${(err as Error).message} (set jobmanager.rpc.auth.token or jobmanager.rpc.auth.token-file to a writable path)`);
  }
  return { token, origin: 'generated', path };
}

function readTokenFileIfPresent(path: string): ResolvedToken | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RpcTokenError(`cannot read the RPC token file ${path}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (token.length === 0) {
    throw new RpcTokenError(`the RPC token file ${path} is empty; delete it to have a new token generated, or write a token into it`);
  }
  const result: ResolvedToken = { token, origin: 'file', path };
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    result.warning = `the RPC token file ${path} has mode ${mode.toString(8).padStart(4, '0')}; it should be readable by its owner only (chmod 600)`;
  }
  return result;
}

/** Reads a token file for a client (the simulator). Throws RpcTokenError with the path. */
export function readTokenFile(path: string): string {
  const found = readTokenFileIfPresent(resolve(path));
  if (found === undefined) throw new RpcTokenError(`the RPC token file ${resolve(path)} does not exist (start the JobManager first, or pass --token)`);
  return found.token;
}

/**
 * Constant-time check of a presented token. Both sides are hashed first so the
 * comparison runs on equal-length digests and leaks neither content nor length.
 */
export function createTokenVerifier(expected: string): (presented: string | undefined) => boolean {
  const expectedDigest = createHash('sha256').update(expected, 'utf8').digest();
  return (presented) => {
    if (presented === undefined) return false;
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    return timingSafeEqual(digest, expectedDigest);
  };
}

/** The token from an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
