/// CairnServer: the network server (info commands, transactions, batch and scan streaming).
public enum CairnServerModule {}
