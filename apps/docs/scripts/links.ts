// The internal link check, on the built site: every <a href> that stays on the site must reach a
// page that exists and, when it names an anchor (`#...`), a heading or element with that id there.
// VitePress already fails on a link to a missing page; this also catches missing anchors, links
// written as HTML, and links inside the generated API reference. Links that leave the site are not
// followed (the build runs without a network).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { read } from './markdown';
import type { Finding } from './workspace';

/** Every `.html` file under `dir`. */
function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return htmlFiles(path);
    return entry.endsWith('.html') ? [path] : [];
  });
}

/** The ids a page defines (`id="..."`, `name="..."`), decoded. */
export function anchorsOf(html: string): Set<string> {
  const ids = new Set<string>();
  for (const match of html.matchAll(/\s(?:id|name)="([^"]*)"/g)) ids.add(decodeEntities(match[1] ?? ''));
  return ids;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The `href` of every `<a>` of a page (the document's own content and the site's navigation). */
export function linksOf(html: string): string[] {
  return [...html.matchAll(/<a\s[^>]*?href="([^"]*)"/g)].map((m) => decodeEntities(m[1] ?? ''));
}

/** Whether a link leaves the site (and is therefore not checked). */
function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//');
}

/**
 * Checks every internal link of the built site in `distDir`. `sourceOf` names the page a finding
 * belongs to (its markdown file) from a built file's path relative to `distDir`.
 */
export function checkLinks(
  distDir: string,
  sourceOf: (htmlPath: string) => string,
): { findings: Finding[]; links: number } {
  const findings: Finding[] = [];
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    let set = anchors.get(file);
    if (set === undefined) {
      set = anchorsOf(read(file));
      anchors.set(file, set);
    }
    return set;
  };
  let links = 0;
  for (const file of htmlFiles(distDir)) {
    const page = relative(distDir, file).split('\\').join('/');
    if (page === '404.html') continue;
    for (const href of new Set(linksOf(read(file)))) {
      if (href === '' || isExternal(href)) continue;
      links += 1;
      const [pathPart = '', hash] = href.split('#', 2);
      let target = file;
      if (pathPart !== '') {
        let path = decodeURIComponent(pathPart.split('?')[0] ?? '');
        path = path.startsWith('/') ? join(distDir, path) : join(file, '..', path);
        if (path.endsWith('/')) path = join(path, 'index.html');
        if (!existsSync(path) && existsSync(`${path}.html`)) path = `${path}.html`;
        if (!existsSync(path) || statSync(path).isDirectory()) {
          findings.push({ where: sourceOf(page), message: `links to ${href}, which is no page of the site` });
          continue;
        }
        target = path;
      }
      if (hash !== undefined && hash !== '' && target.endsWith('.html')) {
        const id = decodeURIComponent(hash);
        if (!anchorsIn(target).has(id)) {
          const where = relative(distDir, target).split('\\').join('/');
          findings.push({
            where: sourceOf(page),
            message: `links to ${href}, but ${where} has no anchor "${id}"`,
          });
        }
      }
    }
  }
  return { findings, links };
}
