/** The instrumentation scope of every tracer and meter this package makes. */
export const SCOPE_NAME = '@finaegis/opentelemetry';
