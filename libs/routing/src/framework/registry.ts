import { Compile, type Validator } from 'typebox/compile';
import Value from 'typebox/value';
import { describeSchemaError } from './config';
import { RoutingConfigError } from './errors';
import { type AnyPluginFactory, type Plugin, type PluginEnv, type PluginKind } from './plugin';

const TYPE_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * The plugin types a Router may instantiate. There is no global registry: build one, register the
 * built-ins (`registerBuiltinPlugins`) and any of your own, and hand it to the Router.
 */
export class Registry {
  private readonly factories = new Map<string, AnyPluginFactory>();
  private readonly validators = new Map<string, Validator>();

  /** Adds a plugin type. Its id must be kebab-case and unused. */
  register(factory: AnyPluginFactory): this {
    if (!TYPE_ID.test(factory.type)) throw new RangeError(`plugin type \`${factory.type}\` is not a kebab-case id`);
    if (this.factories.has(factory.type)) throw new RangeError(`plugin type \`${factory.type}\` is already registered`);
    this.factories.set(factory.type, factory);
    return this;
  }

  get(type: string): AnyPluginFactory | undefined {
    return this.factories.get(type);
  }

  /** Registered type ids, sorted; only those of one kind when given. */
  types(kind?: PluginKind): string[] {
    return [...this.factories.values()]
      .filter((f) => kind === undefined || f.kind === kind)
      .map((f) => f.type)
      .sort();
  }

  /**
   * Builds an instance: applies the schema's defaults to `params`, validates them and calls the factory.
   * `path` names the config location in errors (`plugins.my-prefix.params`).
   */
  instantiate(type: string, params: unknown, env: PluginEnv, path: string): Plugin {
    const factory = this.factories.get(type);
    if (!factory) throw new RoutingConfigError(path, `unknown plugin type \`${type}\` (registered: ${this.types().join(', ')})`);
    let validator = this.validators.get(type);
    if (!validator) {
      validator = Compile(factory.params);
      this.validators.set(type, validator);
    }
    const withDefaults = Value.Default(factory.params, structuredClone(params ?? {}));
    if (!validator.Check(withDefaults)) {
      const error = describeSchemaError(validator.Errors(withDefaults));
      throw new RoutingConfigError(`${path}${error.path}`, error.message);
    }
    const plugin = factory.create(withDefaults as never, env);
    if (plugin.kind !== factory.kind) {
      throw new RoutingConfigError(path, `factory \`${type}\` declared kind ${factory.kind} but built a ${plugin.kind}`);
    }
    return plugin;
  }
}
