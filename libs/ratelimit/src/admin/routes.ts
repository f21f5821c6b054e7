import { type HttpApp } from '@brix/http';
import { CreateUserBody, KeyParams, UpdateUserBody, UserParams } from '../schemas';
import { type UserDirectory, userView } from '../users/user-directory';

/**
 * The users-and-keys admin API. Everything lives under /admin, so the app factory's bearer guard
 * (BRIX_ADMIN_TOKEN) protects it. A secret key appears in exactly two answers — user creation and key
 * issue — and nowhere else, ever.
 *
 *   POST   /admin/users                  {name, rpm, tpm, models?} → 201 {user…, api_key, key}
 *   GET    /admin/users                  → {object: "list", data: [user…]}
 *   GET    /admin/users/:name            → user
 *   PATCH  /admin/users/:name            {rpm?, tpm?, models?|null} → user
 *   DELETE /admin/users/:name            → 204 (the user's keys go too)
 *   POST   /admin/users/:name/keys       → 201 {id, prefix, created_at, api_key}
 *   GET    /admin/users/:name/keys       → {object: "list", data: [{id, prefix, created_at}…]}
 *   DELETE /admin/users/:name/keys/:id   → 204
 */
export function registerUserRoutes(app: HttpApp, directory: UserDirectory): void {
  app.post('/admin/users', { schema: { body: CreateUserBody } }, async (request, reply) => {
    const { user, key } = await directory.createUser(request.body);
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ ...userView(user), api_key: key.apiKey, key: key.view });
  });

  app.get('/admin/users', async () => {
    const users = await directory.listUsers();
    return { object: 'list', data: users.map(userView) };
  });

  app.get('/admin/users/:name', { schema: { params: UserParams } }, async (request) =>
    userView(await directory.getUser(request.params.name)),
  );

  app.patch('/admin/users/:name', { schema: { params: UserParams, body: UpdateUserBody } }, async (request) =>
    userView(await directory.updateUser(request.params.name, request.body)),
  );

  app.delete('/admin/users/:name', { schema: { params: UserParams } }, async (request, reply) => {
    await directory.deleteUser(request.params.name);
    return reply.code(204).send();
  });

  app.post('/admin/users/:name/keys', { schema: { params: UserParams } }, async (request, reply) => {
    const key = await directory.issueKey(request.params.name);
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ ...key.view, api_key: key.apiKey });
  });

  app.get('/admin/users/:name/keys', { schema: { params: UserParams } }, async (request) => ({
    object: 'list',
    data: await directory.listKeys(request.params.name),
  }));

  app.delete('/admin/users/:name/keys/:id', { schema: { params: KeyParams } }, async (request, reply) => {
    await directory.revokeKey(request.params.name, request.params.id);
    return reply.code(204).send();
  });
}
