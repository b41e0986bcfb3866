/// CairnEngine: namespaces over storage and index — record semantics, TTL and expiry, deletes,
/// truncation and restart modes.
public enum CairnEngineModule {}
