import { packageBuild } from '../../tsup.shared.ts';

export default packageBuild({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  dts: { entry: { index: 'src/index.ts' } },
  // import.meta.url locates the shipped migrations folder; the CJS build needs it shimmed.
  shims: true,
});
