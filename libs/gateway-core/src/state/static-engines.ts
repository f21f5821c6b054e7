import { ConfigError } from '@brix/config';
import { type EngineInfo } from '@brix/discovery';
import Type from 'typebox';
import { Compile } from 'typebox/compile';

const EngineList = Compile(
  Type.Array(
    Type.Object({
      id: Type.Optional(Type.String({ minLength: 1 })),
      model: Type.String({ minLength: 1 }),
      url: Type.String({ pattern: '^https?://' }),
      gpuType: Type.Optional(Type.String()),
      sidecarUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    }),
  ),
);

/**
 * Parses BRIX_ENGINES: either `model=url[,model=url…]` or a JSON array of {id?, model, url, gpuType?,
 * sidecarUrl?}. Engines without an id are named `<model>-<n>` in order of appearance.
 */
export function parseStaticEngines(text: string, variable = 'BRIX_ENGINES'): EngineInfo[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  let entries: Array<{ id?: string; model: string; url: string; gpuType?: string; sidecarUrl?: string }>;
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new ConfigError(variable, `invalid configuration: ${variable} is not valid JSON: ${(err as Error).message}`);
    }
    if (!EngineList.Check(parsed)) {
      const e = EngineList.Errors(parsed)[0];
      throw new ConfigError(
        variable,
        `invalid configuration: ${variable}${e?.instancePath ? ` at ${e.instancePath}` : ''} ${e?.message ?? 'is invalid'}`,
      );
    }
    entries = parsed;
  } else {
    entries = trimmed.split(',').map((pair) => {
      const at = pair.indexOf('=');
      const model = pair.slice(0, at).trim();
      const url = pair.slice(at + 1).trim();
      if (at <= 0 || !/^https?:\/\/\S+$/.test(url)) {
        throw new ConfigError(
          variable,
          `invalid configuration: ${variable} entry "${pair.trim()}" is not model=http(s)://host:port`,
        );
      }
      return { model, url };
    });
  }
  const counts = new Map<string, number>();
  return entries.map((e) => {
    const n = counts.get(e.model) ?? 0;
    counts.set(e.model, n + 1);
    return {
      id: e.id ?? `${e.model.replace(/[^A-Za-z0-9-]+/g, '-')}-${n}`,
      model: e.model,
      url: e.url.replace(/\/+$/, ''),
      ready: true,
      labels: {},
      ...(e.gpuType ? { gpuType: e.gpuType } : {}),
      ...(e.sidecarUrl ? { sidecarUrl: e.sidecarUrl.replace(/\/+$/, '') } : {}),
    };
  });
}
