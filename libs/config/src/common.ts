import Type from 'typebox';
import { setting } from './config';

/** Settings every Brix service takes. Spread into a service's own spec. */
export const commonSettings = {
  host: setting('BRIX_HOST', Type.String({ default: '127.0.0.1', minLength: 1 }), 'address to listen on (0.0.0.0 in containers)'),
  logLevel: setting(
    'BRIX_LOG_LEVEL',
    Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      { default: 'info' },
    ),
    'log level',
  ),
  natsUrl: setting(
    'NATS_URL',
    Type.String({ default: '' }),
    'NATS server URL(s), comma-separated; empty = in-memory bus (embedded mode)',
  ),
  adminToken: setting('BRIX_ADMIN_TOKEN', Type.String({ default: '' }), 'bearer token for /admin/*; empty = admin API refused'),
};
