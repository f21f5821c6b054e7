import { connect } from 'node:net';
import { findNatsServer, NatsServerNotFoundError, startNatsServer } from './nats-server';

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('nats-server launcher', () => {
  it('names the missing binary and how to install it', () => {
    expect(() => findNatsServer({ NATS_SERVER_BIN: '/nonexistent/nats-server' })).toThrow(NatsServerNotFoundError);
    expect(() => findNatsServer({ NATS_SERVER_BIN: '/nonexistent/nats-server' })).toThrow(/apt-get install -y nats-server/);
  });

  it('starts on an ephemeral port, stops, and restarts on the same port', async () => {
    const server = await startNatsServer();
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.port).not.toBe(4222);
      expect(await canConnect(server.port)).toBe(true);
      await server.stop();
      expect(await canConnect(server.port)).toBe(false);
      await server.restart();
      expect(await canConnect(server.port)).toBe(true);
    } finally {
      await server.dispose();
    }
  });
});
