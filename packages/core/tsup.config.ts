import { packageBuild } from '../../tsup.shared.ts';

// Two entries: the application API, and the kit for adapter authors (`@finaegis/core/adapter`).
export default packageBuild({ entry: { index: 'src/index.ts', adapter: 'src/adapter/index.ts' } });
