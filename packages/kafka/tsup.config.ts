import { packageBuild } from '../../tsup.shared.ts';

// Two entries: the transport, and the test hooks (`@finaegis/kafka/testing`).
export default packageBuild({ entry: { index: 'src/index.ts', testing: 'src/testing.ts' } });
