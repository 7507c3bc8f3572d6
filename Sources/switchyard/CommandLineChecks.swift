import ArgumentParser
import Foundation
import SwitchyardCore

/// Mistakes in a command line that swift-argument-parser lets through or answers unhelpfully, found before it parses:
/// a single-value option given twice (the parser keeps the last, so `--ami A --ami B` would release B without a
/// word) and a mistyped sub-command (`switchyard statsu`: "did you mean status?").
enum CommandLineChecks {
    /// The usage error in `arguments` (without the program name), if any.
    static func problem(_ arguments: [String], root: ParsableCommand.Type) -> String? {
        unknownCommand(arguments, root: root) ?? repeatedOption(arguments, root: root)
    }

    /// The sub-command path's first word that names no sub-command, with the nearest one.
    static func unknownCommand(_ arguments: [String], root: ParsableCommand.Type) -> String? {
        var command = root
        var path = [root._commandName]
        for word in arguments {
            if word.hasPrefix("-") { return nil }
            let subcommands: [ParsableCommand.Type] = command.configuration.subcommands
            if subcommands.isEmpty || word == "help" { return nil }
            var names: [String] = []
            for subcommand in subcommands { names.append(subcommand._commandName) }
            guard let index = names.firstIndex(of: word) else {
                let hint = Spelling.closest(word, in: names).map { ": did you mean \($0)?" } ?? ""
                return "\(path.joined(separator: " ")) has no command \(word)\(hint) (commands: \(names.joined(separator: ", ")))"
            }
            command = subcommands[index]
            path.append(word)
        }
        return nil
    }

    /// The first option that takes one value and is given more than once, naming both values.
    static func repeatedOption(_ arguments: [String], root: ParsableCommand.Type) -> String? {
        let given = options(in: arguments)
        // The usual case, no name twice, costs no look at the commands' definitions.
        guard Set(given.map(\.name)).count < given.count else { return nil }
        guard let single = singleValueOptions(arguments, root: root) else { return nil }
        var seen: [String: (spelling: String, value: String?)] = [:]
        for option in given {
            guard let identity = single[option.name] else { continue }
            if let first = seen[identity] {
                let values = [first.value, option.value].compactMap { $0 }
                let both = values.count == 2 ? " (\(values[0]), then \(values[1]))" : ""
                return "\(option.name) is given more than once\(both); it takes one value: give it once"
            }
            seen[identity] = (option.name, option.value)
        }
        return nil
    }

    /// Each `--name`/`-n` before a `--`, with the value it is given (`--name=value` or the next word).
    static func options(in arguments: [String]) -> [(name: String, value: String?)] {
        var found: [(String, String?)] = []
        for (index, word) in arguments.enumerated() {
            if word == "--" { break }
            guard word.hasPrefix("-"), word.count > 1, !word.hasPrefix("---") else { continue }
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            let next = index + 1 < arguments.count && !arguments[index + 1].hasPrefix("-") ? arguments[index + 1] : nil
            found.append((parts[0], parts.count == 2 ? parts[1] : next))
        }
        return found
    }

    /// For the command the arguments name: each spelling of each single-value option, to one name per option
    /// (`-n` and `--name` are the same option). From swift-argument-parser's own description of the commands.
    static func singleValueOptions(_ arguments: [String], root: ParsableCommand.Type) -> [String: String]? {
        guard let data = root._dumpHelp().data(using: .utf8),
              let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              var command = top["command"] as? [String: Any] else { return nil }
        for word in arguments {
            guard !word.hasPrefix("-"),
                  let next = (command["subcommands"] as? [[String: Any]])?.first(where: { $0["commandName"] as? String == word })
            else { break }
            command = next
        }
        var single: [String: String] = [:]
        for argument in command["arguments"] as? [[String: Any]] ?? [] {
            guard argument["kind"] as? String == "option", argument["isRepeating"] as? Bool == false,
                  let names = argument["names"] as? [[String: Any]] else { continue }
            let spellings = names.compactMap { name -> String? in
                guard let text = name["name"] as? String else { return nil }
                return (name["kind"] as? String == "long" ? "--" : "-") + text
            }
            for spelling in spellings { single[spelling] = spellings.first }
        }
        return single
    }
}
