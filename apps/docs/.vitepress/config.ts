import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DefaultTheme, defineConfig } from 'vitepress';

// The API sidebar comes from TypeDoc (scripts/api-reference.ts writes it with the pages).
const apiSidebarFile = join(import.meta.dirname, '../src/api/typedoc-sidebar.json');
const apiSidebar: DefaultTheme.SidebarItem[] = existsSync(apiSidebarFile)
  ? (JSON.parse(readFileSync(apiSidebarFile, 'utf8')) as DefaultTheme.SidebarItem[])
  : [];

const guideSidebar: DefaultTheme.SidebarItem[] = [
  {
    text: 'Getting started',
    items: [
      { text: 'In memory, in five minutes', link: '/getting-started/' },
      { text: 'On BullMQ and Redis', link: '/getting-started/bullmq-redis' },
      { text: 'On Kafka and PostgreSQL', link: '/getting-started/kafka-postgres' },
    ],
  },
  {
    text: 'From the guide',
    items: [
      { text: 'What surprises', link: '/guide/#what-surprises-coming-from-the-guide' },
      { text: 'Overview', link: '/guide/#overview' },
      { text: 'Architecture Components', link: '/guide/#architecture-components' },
      { text: 'CQRS Implementation', link: '/guide/#cqrs-implementation' },
      { text: 'Domain Events', link: '/guide/#domain-events' },
      { text: 'Configuration', link: '/guide/#configuration' },
      { text: 'Testing', link: '/guide/#testing' },
      { text: 'Best Practices', link: '/guide/#best-practices' },
      { text: 'Performance Considerations', link: '/guide/#performance-considerations' },
      { text: 'Monitoring', link: '/guide/#monitoring' },
      { text: 'Migration Guide', link: '/guide/#migration-guide' },
      { text: 'Troubleshooting', link: '/guide/#troubleshooting' },
    ],
  },
  {
    text: 'Concepts',
    items: [
      { text: 'Units of work and after commit', link: '/concepts/units-of-work' },
      { text: 'Delivery guarantees', link: '/concepts/delivery' },
      { text: 'Ordering', link: '/concepts/ordering' },
      { text: 'Retries and dead letters', link: '/concepts/retries-and-dead-letters' },
      { text: 'The outbox', link: '/concepts/outbox' },
      { text: 'Caching', link: '/concepts/caching' },
      { text: 'Event sourcing', link: '/concepts/event-sourcing' },
      { text: 'Process managers', link: '/concepts/process-managers' },
    ],
  },
  {
    text: 'Recipes',
    items: [
      { text: 'Outbox with Kafka', link: '/recipes/outbox-with-kafka' },
      { text: 'Scaling workers', link: '/recipes/scaling-workers' },
      { text: 'Redriving dead letters', link: '/recipes/redrive' },
      { text: 'Cache invalidation', link: '/recipes/cache-invalidation' },
      { text: 'Upcasting old events', link: '/recipes/upcasting' },
      { text: 'Adding telemetry', link: '/recipes/telemetry' },
      { text: 'Testing with the kit', link: '/recipes/testing' },
      { text: 'A third-party adapter', link: '/recipes/third-party-adapter' },
    ],
  },
  { text: 'Benchmarks', link: '/benchmarks' },
];

export default defineConfig({
  title: 'FinAegis CQRS',
  description:
    'Command, query and event buses for TypeScript with units of work, transactions, event sourcing and real transports.',
  srcDir: 'src',
  cleanUrls: false,
  lastUpdated: false,
  // Everything the site needs is in the build: no fonts or scripts from elsewhere.
  head: [],
  markdown: { theme: { light: 'github-light', dark: 'github-dark' } },
  // The local search index of ~300 pages is one large chunk; that is expected.
  vite: { build: { chunkSizeWarningLimit: 4096 } },
  themeConfig: {
    nav: [
      { text: 'Getting started', link: '/getting-started/' },
      { text: 'From the guide', link: '/guide/' },
      { text: 'Concepts', link: '/concepts/units-of-work' },
      { text: 'Recipes', link: '/recipes/outbox-with-kafka' },
      { text: 'API', link: '/api/' },
      { text: 'Benchmarks', link: '/benchmarks' },
    ],
    sidebar: {
      '/api/': [{ text: 'API reference', link: '/api/', items: apiSidebar }],
      '/': guideSidebar,
    },
    outline: { level: [2, 3] },
    search: { provider: 'local' },
  },
});
