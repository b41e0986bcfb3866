// cairnctl: start | coldstart | status | restart | stop | info (built in the daemon issue).
print("cairnctl \(CairnctlVersion.string)")
enum CairnctlVersion { static let string = "0.1.0" }
