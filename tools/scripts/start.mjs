#!/usr/bin/env node
// `npm start`: runs the Brix stack locally on embedded defaults (in-memory bus, local engines).
console.log('Brix: no services yet. The local stack (gateway, engine-sim replicas, sidecars) arrives with the next issues.');
