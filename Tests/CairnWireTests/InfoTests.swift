import Testing
@testable import CairnWire

@Suite struct InfoTests {
    func parse(_ text: String) throws -> InfoRequest {
        try InfoRequest.parse(body: Array(text.utf8))
    }

    @Test func commandForms() throws {
        let request = try parse(
            "namespace/test\ntruncate:namespace=test;set=demo\nuser-agent-set:value=MSxweXRob24=\nsets/test/demo\nstatus;\nget-config:context=namespace;id=test\n"
        )
        let commands = request.commands
        #expect(commands.count == 6)
        #expect(commands[0].name == "namespace")
        #expect(commands[0].arguments == ["test"])
        #expect(commands[0].parameters.isEmpty)
        #expect(commands[1].name == "truncate")
        #expect(commands[1].parameter("namespace") == "test")
        #expect(commands[1].parameter("set") == "demo")
        #expect(commands[1].parameter("lut") == nil)
        #expect(commands[2].name == "user-agent-set")
        #expect(commands[2].parameter("value") == "MSxweXRob24=")
        #expect(commands[3].name == "sets")
        #expect(commands[3].arguments == ["test", "demo"])
        #expect(commands[4].name == "status")
        #expect(commands[4].parameters.isEmpty)
        #expect(commands[5].parameters == [InfoParameter(key: "context", value: "namespace"), InfoParameter(key: "id", value: "test")])
        #expect(commands.map(\.line) == [
            "namespace/test", "truncate:namespace=test;set=demo", "user-agent-set:value=MSxweXRob24=",
            "sets/test/demo", "status;", "get-config:context=namespace;id=test",
        ])
    }

    @Test func argumentsThenParameters() {
        let command = InfoCommand(line: "a/b/c:k=v;flag;x=1=2")
        #expect(command.name == "a")
        #expect(command.arguments == ["b", "c"])
        #expect(command.parameters == [
            InfoParameter(key: "k", value: "v"), InfoParameter(key: "flag", value: ""), InfoParameter(key: "x", value: "1=2"),
        ])
    }

    @Test func emptyBodyIsSummary() throws {
        let request = try parse("")
        #expect(request.isSummary)
        #expect(InfoRequest.summaryCommandNames.contains("node"))
        #expect(InfoRequest.summaryCommandNames.last == "partition-generation")
    }

    @Test func unterminatedLastLineIsProcessed() throws {
        #expect(try parse("node\nbuild").commands.map(\.name) == ["node", "build"])
    }

    @Test func emptyLinesAreKeptForPositionalAnswers() throws {
        let request = try parse("node\n\nbuild\n")
        #expect(request.commands.map(\.line) == ["node", "", "build"])
        #expect(try parse("\n").commands.map(\.line) == [""])
    }

    @Test func invalidUTF8AndLimits() {
        #expect(throws: InfoError.invalidUTF8(line: 1)) {
            try InfoRequest.parse(body: Array("node\n".utf8) + [0xFF, 0x0A])
        }
        let limits = InfoLimits(commandCountMax: 2, lineSizeBytesMax: 4)
        #expect(throws: InfoError.commandCountAboveLimit(count: 3, max: 2)) {
            try InfoRequest.parse(body: Array("a\nb\nc\n".utf8), limits: limits)
        }
        #expect(throws: InfoError.lineTooLong(line: 0, sizeBytes: 5, max: 4)) {
            try InfoRequest.parse(body: Array("abcde\n".utf8), limits: limits)
        }
    }

    @Test func replyEchoesLinesInRequestOrder() throws {
        let request = try parse("peers-clear-std\nnode\n")
        let answers = request.commands.map { command in
            InfoAnswer(line: command.line, value: command.name == "node" ? "BB9A1B2C3D4E5F6" : "1,3000,[]")
        }
        #expect(try InfoReply.body(answers) == Array("peers-clear-std\t1,3000,[]\nnode\tBB9A1B2C3D4E5F6\n".utf8))
    }

    @Test func invalidValuesWriteNothing() {
        var writer = WireWriter()
        #expect(throws: InfoError.separatorInAnswer(answer: 1)) {
            try writer.appendInfoReplyFrame([InfoAnswer(line: "a", value: "ok"), InfoAnswer(line: "b", value: "x\ty")])
        }
        #expect(writer.isIdle)
        #expect(writer.bytes.isEmpty)
        #expect(throws: InfoError.separatorInAnswer(answer: 0)) {
            try InfoReply.body([InfoAnswer(line: "a", value: "x\ny")])
        }
    }

    @Test func errorValues() {
        #expect(InfoReply.unrecognizedCommand == "ERROR:4:unrecognized command")
        #expect(InfoReply.errorValue(.serverError, message: "boom") == "ERROR::boom")
        #expect(InfoReply.errorValue(.namespaceNotFound, message: "missing 'namespace'") == "ERROR:20:missing 'namespace'")
    }
}
