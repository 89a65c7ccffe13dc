"""Every option of every `attend` command shows its default in --help (issue: defaults that just work).

Walks `attend --help` and each subcommand's --help (nested ones too). An option that takes a
value passes when its line shows a default ("=VALUE"), says REQUIRED, or its description says
"(default: ...)" or what 0 means ("0: ..."). Flags (no value) are off unless given and pass.
Usage: check_help_defaults.py ATTEND_BINARY
"""
import re
import subprocess
import sys

binary = sys.argv[1]


def help_text(command):
    return subprocess.run([binary, *command, "--help"], capture_output=True, text=True, check=True).stdout


def sections(text):
    """(options, subcommands): each option as (usage column, description) joined over wrapped lines."""
    options, subcommands, section, current = [], [], None, None
    for line in text.splitlines():
        if re.match(r"^(Options|Positionals):", line):
            section = "options"
            continue
        if line.startswith("Subcommands:"):
            section = "subcommands"
            continue
        if section == "subcommands" and re.match(r"^  \S", line):
            subcommands.append(line.split()[0])
        elif section == "options":
            if re.match(r"^  \S", line):  # a new option: its usage, then maybe its description
                usage, _, description = line[2:].partition("  ")
                current = [usage.strip(), description.strip()]
                options.append(current)
            elif line.strip() and current is not None:  # the description, on the next line(s)
                current[1] += " " + line.strip()
    return options, subcommands


failures, checked = [], 0
pending = [[]]
while pending:
    command = pending.pop()
    options, subcommands = sections(help_text(command))
    pending += [command + [name] for name in subcommands]
    for usage, description in options:
        if usage.startswith("-h,--help"):
            continue
        takes_value = re.search(r"\b(TEXT|INT|UINT|FLOAT)\b", usage)
        if not takes_value:
            continue  # a flag
        checked += 1
        # CLI11 pads the usage to 30 columns: a usage of 29 leaves one space before the description.
        text = usage + " " + description
        shown = "=" in usage or "REQUIRED" in usage or "default" in text or re.search(r"\(0: ", text)
        if not shown:
            failures.append(f"attend {' '.join(command)}: {usage!r} shows no default ({description!r})")

print(f"{checked} options checked")
if failures:
    print("\n".join(failures))
    sys.exit(1)
