import { InvalidArtifactSourceError, SchemeNotAllowedError } from '../errors';
import { SUPPORTED_SCHEMES } from '../policy/policy';
import { type ArtifactSourcePlugin, type ParsedSource } from './types';

/**
 * The source plugins one store knows, by scheme. An explicit instance, filled in one place
 * (sources/index.ts), never a global.
 */
export class SourceRegistry {
  private readonly byScheme = new Map<string, ArtifactSourcePlugin>();
  private readonly byId = new Map<string, ArtifactSourcePlugin>();

  register(plugin: ArtifactSourcePlugin): this {
    if (this.byId.has(plugin.id)) throw new RangeError(`an artifact source plugin "${plugin.id}" is already registered`);
    for (const s of plugin.schemes)
      if (this.byScheme.has(s)) throw new RangeError(`scheme "${s}" already has a plugin (${this.byScheme.get(s)!.id})`);
    this.byId.set(plugin.id, plugin);
    for (const s of plugin.schemes) this.byScheme.set(s, plugin);
    return this;
  }

  plugin(id: string): ArtifactSourcePlugin {
    const p = this.byId.get(id);
    if (!p) throw new RangeError(`no artifact source plugin "${id}"`);
    return p;
  }

  /** Parses a URI with the plugin of its scheme. A bare absolute path is a `file` source. */
  parse(uri: string): ParsedSource {
    if (typeof uri !== 'string' || uri.trim() === '') throw new InvalidArtifactSourceError(String(uri), 'it is empty');
    const trimmed = uri.trim();
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed);
    const scheme = m ? m[1]!.toLowerCase() : trimmed.startsWith('/') ? 'file' : undefined;
    if (!scheme)
      throw new InvalidArtifactSourceError(
        trimmed,
        'expected a URI (file://, http(s)://, s3://, huggingface://) or an absolute path',
      );
    const plugin = this.byScheme.get(scheme);
    if (!plugin) throw new SchemeNotAllowedError(scheme, [...SUPPORTED_SCHEMES]);
    return plugin.parse(trimmed);
  }
}
