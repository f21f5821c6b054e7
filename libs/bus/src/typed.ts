import { type Contract, type ContractDecodeError } from '@brix/contracts';
import { type Static, type TSchema } from 'typebox';
import { type Bus, type SubscribeOptions, type Subscription } from './port';

/** Counts messages dropped because they failed to decode; prom-client's Counter satisfies it. */
export interface InvalidMessageCounter {
  inc(labels: { contract: string; reason: string }): void;
}

export interface TypedSubscribeOptions extends SubscribeOptions {
  /** Subject or pattern; defaults to the contract's pattern (every subject of the contract). */
  subject?: string;
  counter?: InvalidMessageCounter;
  /** Told about every dropped message, for logging. */
  onInvalid?: (error: ContractDecodeError, subject: string) => void;
}

/** Validates, encodes and publishes one message of `contract`. */
export function publishEvent<S extends TSchema, P extends object>(
  bus: Bus,
  contract: Contract<S, P>,
  params: P,
  message: Static<S>,
): void {
  bus.publish(contract.subject(params), contract.encode(message));
}

/**
 * Subscribes to messages of `contract`. A message that fails to decode is counted, reported to
 * `onInvalid` and dropped; the subscription carries on with the next message.
 */
export function subscribeEvents<S extends TSchema, P extends object>(
  bus: Bus,
  contract: Contract<S, P>,
  handler: (message: Static<S>, subject: string) => void | Promise<void>,
  options: TypedSubscribeOptions = {},
): Subscription {
  return bus.subscribe(
    options.subject ?? contract.pattern,
    (msg) => {
      const result = contract.tryDecode(msg.data);
      if (!result.ok) {
        options.counter?.inc({ contract: contract.name, reason: result.error.reason });
        options.onInvalid?.(result.error, msg.subject);
        return;
      }
      return handler(result.value, msg.subject);
    },
    { queue: options.queue },
  );
}
