// One-off generator for package skeletons (kept so new packages get the same shape).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const [, , name, dir, description, depsJson = '{}', peersJson = '{}', devJson = '{}'] = process.argv;
mkdirSync(`${dir}/src`, { recursive: true });
mkdirSync(`${dir}/test`, { recursive: true });
const pkg = {
  name,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.cts',
  files: ['dist'],
  engines: { node: '>=20.11' },
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    test: 'vitest run',
    'check:package': 'publint --strict && attw --pack . --profile node16',
  },
  dependencies: JSON.parse(depsJson),
  peerDependencies: JSON.parse(peersJson),
  devDependencies: JSON.parse(devJson),
  publishConfig: { access: 'public' },
};
for (const k of ['dependencies', 'peerDependencies', 'devDependencies'])
  if (Object.keys(pkg[k]).length === 0) delete pkg[k];
if (!existsSync(`${dir}/package.json`))
  writeFileSync(`${dir}/package.json`, `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  `${dir}/tsconfig.json`,
  `${JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { baseUrl: '../..' }, include: ['src', 'test', '*.ts'] }, null, 2)}\n`,
);
writeFileSync(
  `${dir}/tsconfig.build.json`,
  `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { noEmit: false }, include: ['src'] }, null, 2)}\n`,
);
writeFileSync(
  `${dir}/tsup.config.ts`,
  `import { packageBuild } from '../../tsup.shared.ts';

export default packageBuild();
`,
);
writeFileSync(
  `${dir}/vitest.config.ts`,
  `import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig(import.meta.dirname);
`,
);
