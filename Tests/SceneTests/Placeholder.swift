// Placeholder until this module's first file lands; delete when adding real sources.
