/// A result code as carried in byte 5 of the as_msg header (PROTOCOL.md §7).
///
/// Raw values match the C client's `as_status.h` and the server's `proto.h`. The header stores
/// the raw byte (``MessageHeader/resultCodeRaw``) because a peer may send a code this enum does not
/// name; ``MessageHeader/resultCode`` maps it when it is known. Client-only negative codes never
/// appear on the wire and are not represented.
public enum ResultCode: UInt8, Sendable, CaseIterable {
    case ok = 0
    /// Generic server error (SERVER / UNKNOWN).
    case serverError = 1
    case keyNotFound = 2
    case generation = 3
    /// Malformed request, bad TTL, bad op mix, unsupported op (PARAMETER / REQUEST_INVALID).
    case parameter = 4
    case keyExists = 5
    case binExists = 6
    case clusterKeyMismatch = 7
    /// Out of memory or storage (SERVER_FULL / OUT_OF_SPACE).
    case serverFull = 8
    case timeout = 9
    case alwaysForbidden = 10
    /// Partition unavailable; also the code of a retry-this-partition marker (§9.2).
    case unavailable = 11
    case incompatibleType = 12
    case recordTooBig = 13
    case keyBusy = 14
    case scanAbort = 15
    case unsupportedFeature = 16
    case binNotFound = 17
    case deviceOverload = 18
    case keyMismatch = 19
    /// Unknown namespace (NAMESPACE / NAMESPACE_NOT_FOUND).
    case namespaceNotFound = 20
    case binName = 21
    case forbidden = 22
    case elementNotFound = 23
    case elementExists = 24
    case enterpriseOnly = 25
    case opNotApplicable = 26
    case filteredOut = 27
    case lostConflict = 28
    /// Invalid UTF-8 (C client 7.5 / server 8.1.3+).
    case invalidEncoding = 29
    case xdrKeyBusy = 32
    /// QUERY_END; in security replies "OK, last message".
    case queryEnd = 50
    case securityNotSupported = 51
    case securityNotEnabled = 52
    case securitySchemeNotSupported = 53
    case invalidCommand = 54
    case invalidField = 55
    case illegalState = 56
    case invalidUser = 60
    case userAlreadyExists = 61
    case invalidPassword = 62
    case expiredPassword = 63
    case forbiddenPassword = 64
    case invalidCredential = 65
    case expiredSession = 66
    case invalidRole = 70
    case roleAlreadyExists = 71
    case invalidPrivilege = 72
    case invalidWhitelist = 73
    case quotasNotEnabled = 74
    case invalidQuota = 75
    case notAuthenticated = 80
    case roleViolation = 81
    case notWhitelisted = 82
    case quotaExceeded = 83
    case ldapNotEnabled = 90
    case ldapSetup = 91
    case ldapTLSSetup = 92
    case ldapAuthentication = 93
    case ldapQuery = 94
    /// UDF error; the reply carries a `FAILURE` string bin.
    case udfError = 100
    case mrtBlocked = 120
    case mrtVersionMismatch = 121
    case mrtExpired = 122
    case mrtTooManyWrites = 123
    case mrtCommitted = 124
    case mrtAborted = 125
    case mrtAlreadyLocked = 126
    case mrtMonitorExists = 127
    case batchDisabled = 150
    case batchMaxRequestsExceeded = 151
    case batchQueuesFull = 152
    case invalidGeoJSON = 160
    case indexFound = 200
    case indexNotFound = 201
    case indexOutOfMemory = 202
    case indexNotReadable = 203
    case indexGeneric = 204
    case indexNameMaxLength = 205
    case indexMaxCount = 206
    case queryAborted = 210
    case queryQueueFull = 211
    case queryTimeout = 212
    case queryGeneric = 213
}

extension ResultCode: CustomStringConvertible {
    /// The upper-case name used in PROTOCOL.md §7 and the C client, e.g. `KEY_NOT_FOUND`.
    public var name: String {
        switch self {
        case .ok: "OK"
        case .serverError: "SERVER_ERROR"
        case .keyNotFound: "KEY_NOT_FOUND"
        case .generation: "GENERATION"
        case .parameter: "PARAMETER"
        case .keyExists: "KEY_EXISTS"
        case .binExists: "BIN_EXISTS"
        case .clusterKeyMismatch: "CLUSTER_KEY_MISMATCH"
        case .serverFull: "SERVER_FULL"
        case .timeout: "TIMEOUT"
        case .alwaysForbidden: "ALWAYS_FORBIDDEN"
        case .unavailable: "UNAVAILABLE"
        case .incompatibleType: "INCOMPATIBLE_TYPE"
        case .recordTooBig: "RECORD_TOO_BIG"
        case .keyBusy: "KEY_BUSY"
        case .scanAbort: "SCAN_ABORT"
        case .unsupportedFeature: "UNSUPPORTED_FEATURE"
        case .binNotFound: "BIN_NOT_FOUND"
        case .deviceOverload: "DEVICE_OVERLOAD"
        case .keyMismatch: "KEY_MISMATCH"
        case .namespaceNotFound: "NAMESPACE_NOT_FOUND"
        case .binName: "BIN_NAME"
        case .forbidden: "FORBIDDEN"
        case .elementNotFound: "ELEMENT_NOT_FOUND"
        case .elementExists: "ELEMENT_EXISTS"
        case .enterpriseOnly: "ENTERPRISE_ONLY"
        case .opNotApplicable: "OP_NOT_APPLICABLE"
        case .filteredOut: "FILTERED_OUT"
        case .lostConflict: "LOST_CONFLICT"
        case .invalidEncoding: "INVALID_ENCODING"
        case .xdrKeyBusy: "XDR_KEY_BUSY"
        case .queryEnd: "QUERY_END"
        case .securityNotSupported: "SECURITY_NOT_SUPPORTED"
        case .securityNotEnabled: "SECURITY_NOT_ENABLED"
        case .securitySchemeNotSupported: "SECURITY_SCHEME_NOT_SUPPORTED"
        case .invalidCommand: "INVALID_COMMAND"
        case .invalidField: "INVALID_FIELD"
        case .illegalState: "ILLEGAL_STATE"
        case .invalidUser: "INVALID_USER"
        case .userAlreadyExists: "USER_ALREADY_EXISTS"
        case .invalidPassword: "INVALID_PASSWORD"
        case .expiredPassword: "EXPIRED_PASSWORD"
        case .forbiddenPassword: "FORBIDDEN_PASSWORD"
        case .invalidCredential: "INVALID_CREDENTIAL"
        case .expiredSession: "EXPIRED_SESSION"
        case .invalidRole: "INVALID_ROLE"
        case .roleAlreadyExists: "ROLE_ALREADY_EXISTS"
        case .invalidPrivilege: "INVALID_PRIVILEGE"
        case .invalidWhitelist: "INVALID_WHITELIST"
        case .quotasNotEnabled: "QUOTAS_NOT_ENABLED"
        case .invalidQuota: "INVALID_QUOTA"
        case .notAuthenticated: "NOT_AUTHENTICATED"
        case .roleViolation: "ROLE_VIOLATION"
        case .notWhitelisted: "NOT_WHITELISTED"
        case .quotaExceeded: "QUOTA_EXCEEDED"
        case .ldapNotEnabled: "LDAP_NOT_ENABLED"
        case .ldapSetup: "LDAP_SETUP"
        case .ldapTLSSetup: "LDAP_TLS_SETUP"
        case .ldapAuthentication: "LDAP_AUTHENTICATION"
        case .ldapQuery: "LDAP_QUERY"
        case .udfError: "UDF_ERROR"
        case .mrtBlocked: "MRT_BLOCKED"
        case .mrtVersionMismatch: "MRT_VERSION_MISMATCH"
        case .mrtExpired: "MRT_EXPIRED"
        case .mrtTooManyWrites: "MRT_TOO_MANY_WRITES"
        case .mrtCommitted: "MRT_COMMITTED"
        case .mrtAborted: "MRT_ABORTED"
        case .mrtAlreadyLocked: "MRT_ALREADY_LOCKED"
        case .mrtMonitorExists: "MRT_MONITOR_EXISTS"
        case .batchDisabled: "BATCH_DISABLED"
        case .batchMaxRequestsExceeded: "BATCH_MAX_REQUESTS_EXCEEDED"
        case .batchQueuesFull: "BATCH_QUEUES_FULL"
        case .invalidGeoJSON: "INVALID_GEOJSON"
        case .indexFound: "INDEX_FOUND"
        case .indexNotFound: "INDEX_NOT_FOUND"
        case .indexOutOfMemory: "INDEX_OOM"
        case .indexNotReadable: "INDEX_NOT_READABLE"
        case .indexGeneric: "INDEX_GENERIC"
        case .indexNameMaxLength: "INDEX_NAME_MAXLEN"
        case .indexMaxCount: "INDEX_MAXCOUNT"
        case .queryAborted: "QUERY_ABORTED"
        case .queryQueueFull: "QUERY_QUEUE_FULL"
        case .queryTimeout: "QUERY_TIMEOUT"
        case .queryGeneric: "QUERY_GENERIC"
        }
    }

    public var description: String { "\(name)(\(rawValue))" }
}
