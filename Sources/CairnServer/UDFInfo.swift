import CairnLua
import CairnWire
import Foundation
import Logging

/// The UDF registration info commands, answered as Aerospike CE answers them (its udf_cask):
///
/// - `udf-put:filename=F;content=BASE64;content-len=N[;udf-type=LUA];` -> `ok`, or `error=WORD`
///   (`invalid_filename`, `invalid_content_len`, `invalid_udf_type`, `invalid_content`,
///   `invalid_udf_content_len,>1M`, `invalid_base64_content`), or for a module that does not
///   compile `error=compile_error;file=F;line=N;message=BASE64`;
/// - `udf-get:filename=F;` -> `type=LUA;content=BASE64;`, or `error=not_found` / `error=empty`;
/// - `udf-list` -> `filename=F,hash=SHA1,type=LUA;` per module;
/// - `udf-remove:filename=F;` -> `ok` (also for a module that is not there).
///
/// Cairn also refuses names that would leave the module directory (a `/`, a leading dot) with
/// `error=invalid_filename`.
struct UDFInfo {
    let context: ServerContext
    let logger: Logger

    func value(_ command: InfoCommand) -> String {
        guard let pool = context.udf else {
            return InfoReply.errorValue(.unsupportedFeature, message: "UDFs are not enabled")
        }
        switch command.name {
        case "udf-put": return put(command, modules: pool.modules)
        case "udf-get": return get(command, modules: pool.modules)
        case "udf-list": return list(modules: pool.modules)
        default: return remove(command, modules: pool.modules)
        }
    }

    private func refuse(_ answer: String, _ reason: String) -> String {
        logger.warning("udf: \(reason)")
        return "error=\(answer)"
    }

    private func put(_ command: InfoCommand, modules: UDFModules) -> String {
        guard let filename = command.parameter("filename"), !filename.isEmpty else {
            return refuse("invalid_filename", "invalid or missing filename")
        }
        if let reason = UDFModules.validName(filename) { return refuse("invalid_filename", "\(filename): \(reason)") }
        guard let lengthText = command.parameter("content-len") else {
            return refuse("invalid_content_len", "invalid or missing content-len")
        }
        if let type = command.parameter("udf-type"), type != "LUA" {
            return refuse("invalid_udf_type", "invalid udf-type \(type)")
        }
        guard let length = UInt32(lengthText), length % 4 == 0 else {
            return refuse("invalid_content_len", "invalid content-len \(lengthText)")
        }
        guard let content = command.parameter("content"), content.utf8.count == Int(length) else {
            return refuse("invalid_content", "invalid or missing content")
        }
        if Int(length) / 4 * 3 > UDFModules.contentMax {
            return refuse("invalid_udf_content_len,>1M", "lua file size over 1 MiB")
        }
        guard let decoded = Data(base64Encoded: content) else {
            return refuse("invalid_base64_content", "invalid base64 content")
        }
        do {
            try modules.put(name: filename, content: Array(decoded))
        } catch {
            logger.warning("udf-put \(filename): \(error.reason)")
            return "error=\(error.answer)"
        }
        logger.info("UDF module \(modules.directory)/\(filename) registered")
        return InfoReply.ok
    }

    private func get(_ command: InfoCommand, modules: UDFModules) -> String {
        guard let filename = command.parameter("filename"), !filename.isEmpty, UDFModules.validName(filename) == nil else {
            return refuse("invalid_filename", "invalid or missing filename")
        }
        guard let module = modules.module(filename) else { return "error=not_found" }
        if module.content.isEmpty { return "error=empty" }
        return "type=LUA;content=\(InfoText.base64(module.content));"
    }

    private func list(modules: UDFModules) -> String {
        modules.all().map { "filename=\($0.name),hash=\(UDFModules.hash($0)),type=LUA;" }.joined()
    }

    private func remove(_ command: InfoCommand, modules: UDFModules) -> String {
        guard let filename = command.parameter("filename"), !filename.isEmpty else {
            return refuse("invalid_filename", "invalid or missing filename")
        }
        do {
            try modules.remove(name: filename)
        } catch {
            logger.warning("udf-remove \(filename): \(error.reason)")
            return "error=\(error.answer)"
        }
        logger.info("UDF module \(modules.directory)/\(filename) removed")
        return InfoReply.ok
    }
}
