"""Hot-key store backends: LMDB (embedded, one machine) and FoundationDB (distributed)."""
