// "From the guide" covers every section of the Infrastructure Development Guide: the guide's
// headings below its title, with their levels, must appear on the page in the guide's order (the
// page may add headings of its own between them). The list is kept here, so that the check needs
// no file outside the repository; where the guide itself lies beside the repository
// (`../shared/seed/infrastructure-guide.md`, as in CI), the list is compared with it too.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { headings, read } from './markdown';
import { type Finding, fromRoot, pagesDir, repoRoot } from './workspace';

/** The page that maps the guide onto the TypeScript API. */
export const guidePage = join(pagesDir, 'guide/index.md');
/** Where the guide lies when the repository sits beside the project's shared folder. */
export const guideSource = join(repoRoot, '../shared/seed/infrastructure-guide.md');

/** The guide's sections: `[level, heading]`, in order (its title excluded). */
export const GUIDE_SECTIONS: ReadonlyArray<readonly [number, string]> = [
  [2, 'Overview'],
  [2, 'Architecture Components'],
  [3, 'Domain Layer (`app/Domain/`)'],
  [3, 'Infrastructure Layer (`app/Infrastructure/`)'],
  [2, 'CQRS Implementation'],
  [3, 'Command Pattern'],
  [4, '1. Define Command'],
  [4, '2. Create Handler'],
  [4, '3. Register Handler'],
  [4, '4. Dispatch Command'],
  [3, 'Query Pattern'],
  [4, '1. Define Query'],
  [4, '2. Create Handler'],
  [4, '3. Execute Query'],
  [2, 'Domain Events'],
  [3, 'Event Definition'],
  [3, 'Event Publishing'],
  [3, 'Event Handling'],
  [2, 'Configuration'],
  [3, 'Environment Variables'],
  [3, 'Configuration File'],
  [2, 'Testing'],
  [3, 'Unit Testing Commands'],
  [3, 'Testing Event Publishing'],
  [2, 'Best Practices'],
  [3, '1. Command Design'],
  [3, '2. Query Optimization'],
  [3, '3. Event Handling'],
  [3, '4. Error Handling'],
  [3, '5. Transaction Management'],
  [2, 'Performance Considerations'],
  [3, 'Command Bus'],
  [3, 'Query Bus'],
  [3, 'Event Bus'],
  [2, 'Monitoring'],
  [3, 'Metrics to Track'],
  [3, 'Logging'],
  [2, 'Migration Guide'],
  [3, 'From Direct Service Calls to CQRS'],
  [3, 'Adding Event Sourcing'],
  [2, 'Troubleshooting'],
  [3, 'Commands Not Executing'],
  [3, 'Queries Not Caching'],
  [3, 'Events Not Processing'],
];

/** The sections of `markdown` (levels 2 to 4), as `[level, heading]`. */
export function sectionsOf(markdown: string): Array<readonly [number, string]> {
  return headings(markdown)
    .filter((h) => h.depth >= 2 && h.depth <= 4)
    .map((h) => [h.depth, h.text] as const);
}

/** The guide's sections the page lacks (in order), each with the one before it as a pointer. */
export function missingSections(
  page: ReadonlyArray<readonly [number, string]>,
  sections: ReadonlyArray<readonly [number, string]> = GUIDE_SECTIONS,
): string[] {
  const missing: string[] = [];
  let at = 0;
  let previous = '(the start)';
  for (const [level, text] of sections) {
    const found = page.findIndex(([l, t], i) => i >= at && l === level && t === text);
    const label = `${'#'.repeat(level)} ${text}`;
    if (found < 0) missing.push(`${label} (after ${previous})`);
    else at = found + 1;
    previous = label;
  }
  return missing;
}

/** Checks the page against the list, and the list against the guide when it is at hand. */
export function checkGuideCoverage(): { findings: Finding[]; sections: number; comparedWithGuide: boolean } {
  const findings: Finding[] = [];
  const where = fromRoot(guidePage);
  if (!existsSync(guidePage)) {
    return {
      findings: [{ where, message: 'the "From the guide" page is missing' }],
      sections: 0,
      comparedWithGuide: false,
    };
  }
  for (const section of missingSections(sectionsOf(read(guidePage))))
    findings.push({
      where,
      message: `the guide's section ${section} is not on the page (same heading, same level, guide order)`,
    });
  const comparedWithGuide = existsSync(guideSource);
  if (comparedWithGuide) {
    const guide = sectionsOf(read(guideSource));
    const listed = GUIDE_SECTIONS.map(([l, t]) => `${l} ${t}`).join('\n');
    const actual = guide.map(([l, t]) => `${l} ${t}`).join('\n');
    if (listed !== actual)
      findings.push({
        where: 'apps/docs/scripts/guide-coverage.ts',
        message: `GUIDE_SECTIONS no longer matches the guide's headings:\n${actual}`,
      });
  }
  return { findings, sections: GUIDE_SECTIONS.length, comparedWithGuide };
}
