/// CairnConfig: the aerospike.conf-syntax configuration parser and the embedded default.
public enum CairnConfigModule {}
