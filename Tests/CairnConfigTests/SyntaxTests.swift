import Testing

@testable import CairnConfig

@Suite struct SyntaxTests {
    /// Every line of `text` followed by a comment line and a blank line, and every non-brace
    /// line given a trailing comment.
    private func sprinkled(_ text: String) -> String {
        var lines = ["", "   # leading comment { with braces }", "\t", ""]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingPrefix(while: { $0 == " " })
            let comment = trimmed.isEmpty ? "" : "   # note: } { # ;"
            lines.append(String(line) + comment)
            lines.append("# between lines")
            lines.append("")
            lines.append("  \t  ")
        }
        return lines.joined(separator: "\n")
    }

    @Test func commentsAndBlankLinesAnywhere() throws {
        let text = sprinkled(realisticConfigText)
        let parsed = try CairnConfiguration.parse(text: text, fileName: "sprinkled.conf")
        #expect(parsed == realisticConfigValue)
    }

    @Test func hashStartsACommentEvenInsideAWord() throws {
        let text =
            "network {\n    service {\n        port 3000#comment\n    }\n}#x\n"
            + "namespace test {\n    storage-engine memory {\n        data-size 1G# no space\n    }\n}\n"
        let parsed = try CairnConfiguration.parse(text: text, fileName: "hash.conf")
        #expect(parsed.network.service.port == 3000)
    }

    @Test func lexerNumbersLinesAndDropsComments() throws {
        let lines = try ConfigLexer.lines(of: "# c\n\na b\r\n  c\t d # e\n#\n", fileName: "x")
        #expect(lines == [ConfigLine(number: 3, words: ["a", "b"]), ConfigLine(number: 4, words: ["c", "d"])])
    }

    @Test func lastLineNumberIgnoresTheFinalLineBreak() {
        #expect(ConfigLexer.lastLineNumber(of: "") == 1)
        #expect(ConfigLexer.lastLineNumber(of: "a") == 1)
        #expect(ConfigLexer.lastLineNumber(of: "a\n") == 1)
        #expect(ConfigLexer.lastLineNumber(of: "a\nb") == 2)
        #expect(ConfigLexer.lastLineNumber(of: "a\n\n") == 2)
    }

    @Test func treeKeepsLinesNamesAndArguments() throws {
        let text = "namespace test {\n    default-ttl 30d\n    set s {\n    }\n}\n"
        let lines = try ConfigLexer.lines(of: text, fileName: "x")
        let nodes = try ConfigTreeBuilder.build(lines: lines, lastLineNumber: 5, fileName: "x")
        let set = ConfigNode(line: 3, name: "set", arguments: ["s"], kind: .stanza(children: []))
        let ttl = ConfigNode(line: 2, name: "default-ttl", arguments: ["30d"], kind: .parameter)
        #expect(
            nodes == [ConfigNode(line: 1, name: "namespace", arguments: ["test"], kind: .stanza(children: [ttl, set]))])
        #expect(nodes.first?.title == "namespace test")
    }

    @Test func deepNestingIsBounded() throws {
        let depth = ConfigLimits.stanzaDepthMax + 1
        let text = String(repeating: "a {\n", count: depth) + String(repeating: "}\n", count: depth)
        let error = try #require(parseError(text))
        #expect(error.line == depth)
        #expect(error.message == "stanzas are nested more than \(ConfigLimits.stanzaDepthMax) deep")
    }

    @Test func nonASCIIPathsArePreserved() throws {
        let text = deviceText(["        file /données/tést.dat", "        filesize 1G"])
        let parsed = try CairnConfiguration.parse(text: text, fileName: "utf8.conf")
        #expect(parsed.namespaces.first?.storage.backing?.paths == ["/données/tést.dat"])
    }

    @Test func suggestionsNeedACloseName() {
        let known = ["write-block-size", "flush-max-ms", "post-write-cache"]
        #expect(NameSuggester.closest(to: "flush-max-msec", among: known) == "flush-max-ms")
        #expect(NameSuggester.closest(to: "write-blocksize", among: known) == "write-block-size")
        #expect(NameSuggester.closest(to: "turbo", among: known) == nil)
        #expect(NameSuggester.closest(to: String(repeating: "x", count: 100), among: known) == nil)
    }
}

@Suite struct ByteOrderMarkTests {
    @Test func leadingByteOrderMarkIsSkipped() throws {
        let text = "\u{FEFF}" + CairnConfiguration.embeddedDefaultText
        #expect(try CairnConfiguration.parse(text: text, fileName: "bom.conf") == CairnConfiguration.embeddedDefault)
    }
}
