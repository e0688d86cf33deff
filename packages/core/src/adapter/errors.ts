/** The `{ name, message, stack }` stored with a dead letter. */
export function describeError(error: unknown): { name: string; message: string; stack?: string } {
  if (error instanceof Error) {
    return error.stack === undefined
      ? { name: error.name, message: error.message }
      : { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * The one way errors are rendered into log context and error messages: `Name: message`, followed by
 * the causes (`← Name: message`), at most `depth` deep. Never throws.
 */
export function formatCause(error: unknown, depth = 3): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let level = 0; level < depth && current !== undefined && current !== null; level++) {
    const { name, message } = describeError(current);
    parts.push(`${name}: ${message}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' ← ');
}
