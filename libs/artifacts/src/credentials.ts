import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';

/**
 * A credential that cannot leak by accident: printing, logging (pino serialises with toJSON),
 * template strings and `util.inspect` all show `[redacted]`. Only {@link Secret.reveal} gives the value,
 * and only code that sends it to its one destination calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

export interface S3Credentials {
  readonly accessKeyId: Secret;
  readonly secretAccessKey: Secret;
  readonly sessionToken?: Secret;
}

export interface Credentials {
  /** Sent as `Authorization: Bearer` to the Hugging Face endpoint host only (never to redirect targets). */
  readonly huggingFaceToken?: Secret;
  /** Signs S3 requests; absent means anonymous requests. */
  readonly s3?: S3Credentials;
}

/** Called before each use, so rotated secret files take effect without a restart. */
export type CredentialProvider = () => Promise<Credentials>;

export const noCredentials: CredentialProvider = async () => ({});

/** Values taken from the environment by the service's config (never read here from process.env). */
export interface CredentialEnv {
  huggingFaceToken?: string;
  awsAccessKeyId?: string;
  awsSecretAccessKey?: string;
  awsSessionToken?: string;
}

/** File names looked up in the mounted secrets directory (a Kubernetes Secret mounted as a volume). */
export const SECRET_FILES = {
  huggingFaceToken: 'hf-token',
  awsAccessKeyId: 'aws-access-key-id',
  awsSecretAccessKey: 'aws-secret-access-key',
  awsSessionToken: 'aws-session-token',
} as const;

/**
 * Credentials from environment values first, then from files in `secretsDir`. Files are read on every
 * call; a missing file means "not set". Nothing is logged.
 */
export function credentialsFrom(options: {
  env?: CredentialEnv;
  secretsDir?: string;
  readText?: (path: string) => Promise<string>;
}): CredentialProvider {
  const env = options.env ?? {};
  const readText = options.readText ?? ((p: string) => readFile(p, 'utf8'));
  const fromFile = async (key: keyof typeof SECRET_FILES): Promise<string | undefined> => {
    if (!options.secretsDir) return undefined;
    try {
      const v = (await readText(join(options.secretsDir, SECRET_FILES[key]))).trim();
      return v || undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read the secret file ${SECRET_FILES[key]} in the secrets directory`, { cause: err });
    }
  };
  const value = async (key: keyof typeof SECRET_FILES) => (env[key] ? env[key] : await fromFile(key));
  return async () => {
    const [hf, id, secret, session] = await Promise.all([
      value('huggingFaceToken'),
      value('awsAccessKeyId'),
      value('awsSecretAccessKey'),
      value('awsSessionToken'),
    ]);
    return {
      ...(hf ? { huggingFaceToken: new Secret(hf) } : {}),
      ...(id && secret
        ? {
            s3: {
              accessKeyId: new Secret(id),
              secretAccessKey: new Secret(secret),
              ...(session ? { sessionToken: new Secret(session) } : {}),
            },
          }
        : {}),
    };
  };
}
