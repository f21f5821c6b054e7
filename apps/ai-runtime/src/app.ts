import { type HttpApp } from '@brix/http';
import { buildRuntime, type RuntimeDeps } from '@brix/runtime-core';

export type AiRuntimeDeps = RuntimeDeps;

/** The sidecar's HTTP app (the logic lives in @brix/runtime-core); tests use `app.inject()`. */
export function buildApp(deps: AiRuntimeDeps): HttpApp {
  return buildRuntime(deps).app;
}
