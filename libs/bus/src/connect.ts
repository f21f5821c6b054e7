import { MemoryBus } from './memory/memory-bus';
import { NatsBus } from './nats/nats-bus';
import { type Bus, type HandlerErrorReporter } from './port';

export interface ConnectBusOptions {
  /** NATS server URL(s); without it the bus is in-memory (embedded mode). */
  natsUrl?: string;
  /** Connection name, e.g. "gateway-7f9c". */
  name?: string;
  onHandlerError?: HandlerErrorReporter;
}

/** Picks the adapter for the mode a service runs in: NATS when a URL is configured, in-memory otherwise. */
export async function connectBus(options: ConnectBusOptions): Promise<Bus> {
  if (options.natsUrl)
    return NatsBus.connect({ servers: options.natsUrl, name: options.name, onHandlerError: options.onHandlerError });
  return new MemoryBus({ onHandlerError: options.onHandlerError });
}
