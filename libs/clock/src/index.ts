// Public surface of @brix/clock: the Clock port (wall and virtual) and a seeded PRNG.
export * from './clock';
export * from './rng';
