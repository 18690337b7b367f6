/** Placeholder until this package's issue lands. @packageDocumentation */
export {};
