import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { credentialsFrom, Secret } from './credentials';

describe('Secret', () => {
  it.each([
    ['String()', (s: Secret) => String(s)],
    ['a template string', (s: Secret) => `token=${s}`],
    ['JSON (what pino writes)', (s: Secret) => JSON.stringify({ token: s })],
    ['util.inspect (console.log)', (s: Secret) => inspect({ token: s })],
  ])('never shows its value through %s', (_case, show) => {
    const out = show(new Secret('hf_supersecret'));
    expect(out).not.toContain('hf_supersecret');
    expect(out).toContain('redacted');
  });

  it('gives its value only through reveal()', () => {
    expect(new Secret('v').reveal()).toBe('v');
  });
});

describe('credentialsFrom', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brix-secrets-'));

  it('reads mounted secret files, and re-reads them so rotation takes effect', async () => {
    writeFileSync(join(dir, 'hf-token'), 'hf_one\n');
    writeFileSync(join(dir, 'aws-access-key-id'), 'AKID');
    writeFileSync(join(dir, 'aws-secret-access-key'), 'SECRET');
    const provider = credentialsFrom({ secretsDir: dir });
    const first = await provider();
    expect(first.huggingFaceToken?.reveal()).toBe('hf_one');
    expect(first.s3?.accessKeyId.reveal()).toBe('AKID');
    expect(first.s3?.sessionToken).toBeUndefined();
    writeFileSync(join(dir, 'hf-token'), 'hf_two');
    expect((await provider()).huggingFaceToken?.reveal()).toBe('hf_two');
  });

  it('prefers values from the environment over files', async () => {
    const c = await credentialsFrom({ env: { huggingFaceToken: 'hf_env' }, secretsDir: dir })();
    expect(c.huggingFaceToken?.reveal()).toBe('hf_env');
  });

  it('has no S3 credentials unless both key id and secret are set', async () => {
    expect((await credentialsFrom({ env: { awsAccessKeyId: 'AKID' } })()).s3).toBeUndefined();
  });

  it('treats a missing secrets directory as no credentials', async () => {
    expect(await credentialsFrom({ secretsDir: join(dir, 'nope') })()).toEqual({});
  });
});
