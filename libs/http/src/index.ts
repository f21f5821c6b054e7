// Public surface of @brix/http: the fastify app factory every service starts from.
export * from './app';
