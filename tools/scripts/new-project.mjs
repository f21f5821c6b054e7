#!/usr/bin/env node
// Scaffolds a project the way every Brix project is laid out:
//   node tools/scripts/new-project.mjs lib contracts --tags type:contracts,scope:shared
//   node tools/scripts/new-project.mjs app gateway --tags type:app,scope:gateway
// Libs get the path alias @brix/<name>; apps get a `build` target that bundles src/main.ts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [kind, name, ...rest] = process.argv.slice(2);
const tagsArg = rest[rest.indexOf('--tags') + 1];
if (!['lib', 'app'].includes(kind) || !name || !tagsArg) {
  console.error('usage: new-project.mjs lib|app <name> --tags type:x,scope:y');
  process.exit(2);
}
const root = join(kind === 'lib' ? 'libs' : 'apps', name);
if (existsSync(root)) {
  console.error(`${root} already exists`);
  process.exit(2);
}
const up = relative(root, '.');
const write = (file, text) => {
  mkdirSync(join(root, file, '..'), { recursive: true });
  writeFileSync(join(root, file), text);
};
const tags = tagsArg.split(',');
const targets = { lint: {}, typecheck: {}, test: {} };
targets.build =
  kind === 'lib'
    ? {
        executor: 'nx:run-commands',
        options: { command: `tsc -p ${root}/tsconfig.lib.json` },
        outputs: [`{workspaceRoot}/dist/${root}`],
      }
    : {
        executor: 'nx:run-commands',
        options: { command: `node tools/scripts/bundle-app.mjs ${name}` },
        outputs: [`{workspaceRoot}/dist/${root}`],
      };

write(
  'package.json',
  JSON.stringify(
    { name: `@brix/${name}`, version: '0.1.0', private: true, main: kind === 'lib' ? './src/index.ts' : './src/main.ts' },
    null,
    2,
  ) + '\n',
);
write(
  'project.json',
  JSON.stringify(
    {
      name,
      $schema: `${up}/node_modules/nx/schemas/project-schema.json`,
      sourceRoot: `${root}/src`,
      projectType: kind === 'lib' ? 'library' : 'application',
      tags,
      targets,
    },
    null,
    2,
  ) + '\n',
);
write('tsconfig.json', JSON.stringify({ extends: `${up}/tsconfig.base.json`, include: ['src/**/*.ts'] }, null, 2) + '\n');
if (kind === 'lib') {
  write(
    'tsconfig.lib.json',
    JSON.stringify(
      {
        extends: './tsconfig.json',
        compilerOptions: { outDir: `${up}/dist/${root}`, rootDir: `${up}` },
        exclude: ['src/**/*.spec.ts'],
      },
      null,
      2,
    ) + '\n',
  );
  write('src/index.ts', `// Public surface of @brix/${name}.\n`);
} else {
  write('src/main.ts', `// Wires config → adapters → buildApp(deps) → listen.\n`);
}
write(
  'jest.config.cjs',
  `module.exports = {\n  ...require('${up}/jest.preset.cjs'),\n  displayName: '${name}',\n  rootDir: __dirname,\n};\n`,
);
if (kind === 'lib') {
  const base = JSON.parse(readFileSync('tsconfig.base.json', 'utf8'));
  base.compilerOptions.paths[`@brix/${name}`] = [`${root}/src/index.ts`];
  base.compilerOptions.paths = Object.fromEntries(
    Object.entries(base.compilerOptions.paths).sort(([a], [b]) => a.localeCompare(b)),
  );
  writeFileSync('tsconfig.base.json', JSON.stringify(base, null, 2) + '\n');
}
console.log(`created ${root}`);
