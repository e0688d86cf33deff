import { packageBuild } from '../../tsup.shared.ts';

// Two entries: the adapters, and the test hooks (`@finaegis/memory/testing`).
export default packageBuild({ entry: { index: 'src/index.ts', testing: 'src/testing.ts' } });
