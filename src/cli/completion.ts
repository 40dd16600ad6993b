// `pg-preflight completion bash|zsh`: a completion script generated from the parser's own
// command and option definitions and from the check registry, so that it lists exactly what this
// version accepts. The script is static (no call back into node on every Tab): completing stays
// instant, and it works where node is slow to start.
import yargs, { type Argv } from 'yargs';
import { EXIT } from '../errors.js';
import { allChecks } from '../registry.js';
import { TOOL } from '../version.js';
import type { Io } from './io.js';
import { optionsOfParser, type ParserDefinitions, type Shell, type YargsOptions } from './parser-definitions.js';

export { SHELLS, type Shell } from './parser-definitions.js';

/**
 * Arguments whose values are check ids. yargs knows them only as strings; this is the one fact
 * about them the definitions cannot carry.
 */
const CHECK_ID_ARGUMENTS = new Set(['only', 'skip', 'id']);

/** What may follow an option or stand at a positional place. */
export type ValueKind = { kind: 'words'; words: string[] } | { kind: 'check-ids' } | { kind: 'files' } | { kind: 'any' };

export interface CompletedOption {
  /** `--format` and its aliases (`-f`); a boolean that defaults to true also has `--no-NAME`. */
  names: string[];
  /** Undefined for a flag that takes no value. */
  value?: ValueKind;
}

export interface CompletedCommand {
  name: string;
  options: CompletedOption[];
  positionals: ValueKind[];
}

export interface CompletionModel {
  commands: CompletedCommand[];
  /** The command that runs when none is named. */
  defaultCommand: string;
  checkIds: string[];
}

function valueOf(name: string, o: YargsOptions): ValueKind | undefined {
  if (o.boolean.includes(name)) return undefined;
  if (CHECK_ID_ARGUMENTS.has(name)) return { kind: 'check-ids' };
  const choices = o.choices[name];
  if (choices && choices.length > 0) return { kind: 'words', words: choices.map(String) };
  if (o.string.includes(name)) return { kind: 'files' };
  return { kind: 'any' };
}

function flag(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** The options a builder declares, read back from a parser it was applied to. */
function optionsOf(o: YargsOptions, positionals: Set<string>, globals: string[], top: YargsOptions): CompletedOption[] {
  const aliases = new Set(Object.values(o.alias).flat());
  const names = [...new Set([...Object.keys(o.key), ...globals])].filter((k) => !aliases.has(k) && !positionals.has(k) && !o.hiddenOptions.includes(k));
  return names.map((name) => {
    // A global option's aliases (-V) live on the top-level parser, not the command's.
    const all = [flag(name), ...(o.alias[name] ?? (globals.includes(name) ? top.alias[name] : undefined) ?? []).map(flag)];
    // yargs reads --no-NAME as NAME=false; it is only worth offering for what is on by default.
    if (o.boolean.includes(name) && o.default[name] === true) all.push(`--no-${name}`);
    const value = valueOf(name, o);
    return value ? { names: all, value } : { names: all };
  });
}

export function completionModel(defs: ParserDefinitions): CompletionModel {
  const { handlers, defaultCommand, options: top } = defs;
  // Options every command has: --help (and --version, were it on).
  const globals = ['help', 'version'].filter((k) => top.key[k]);
  const commands = Object.entries(handlers).map(([name, h]): CompletedCommand => {
    const positionalNames = [...h.demanded, ...h.optional].map((p) => p.cmd[0]!);
    const fresh = yargs([]).help(false).version(false);
    const built = typeof h.builder === 'function' ? h.builder(fresh) ?? fresh : fresh.options(h.builder as never);
    const o = optionsOfParser(built);
    return {
      name,
      options: optionsOf(o, new Set(positionalNames), globals, top),
      positionals: positionalNames.map((p) => valueOf(p, o) ?? { kind: 'any' }),
    };
  });
  const fallback = Object.entries(handlers).find(([, h]) => h === defaultCommand)?.[0];
  return { commands, defaultCommand: fallback ?? '', checkIds: allChecks().map((c) => c.id) };
}

/** A shell word in single quotes: nothing inside is expanded. */
function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function kindWord(v: ValueKind): string {
  switch (v.kind) {
    case 'words': return `words ${v.words.join(' ')}`;
    case 'check-ids': return 'ids';
    case 'files': return 'files';
    default: return 'any';
  }
}

/** The part both shells share: POSIX-style functions that print the candidates for one word. */
function candidatesFunctions(m: CompletionModel): string {
  const flagCases = m.commands.map((c) => `    ${sq(c.name)}) printf '%s\\n' ${sq(c.options.flatMap((o) => o.names).join(' '))} ;;`);
  const valueCases = m.commands.flatMap((c) =>
    c.options.filter((o) => o.value).map((o) => `    ${o.names.map((n) => sq(`${c.name} ${n}`)).join('|')}) printf '%s\\n' ${sq(kindWord(o.value!))} ;;`),
  );
  const positionalCases = m.commands.flatMap((c) => c.positionals.map((p, i) => `    ${sq(`${c.name} ${i}`)}) printf '%s\\n' ${sq(kindWord(p))} ;;`));
  return `_pg_preflight_commands=${sq(m.commands.map((c) => c.name).join(' '))}
_pg_preflight_default_command=${sq(m.defaultCommand)}
_pg_preflight_check_ids=${sq(m.checkIds.join(' '))}

# The flags of command $1.
_pg_preflight_flags() {
  case "$1" in
${flagCases.join('\n')}
  esac
}

# What the value of option $2 of command $1 is (words ..., ids, files, any); status 1: no value.
_pg_preflight_value() {
  case "$1 $2" in
${valueCases.join('\n')}
    *) return 1 ;;
  esac
}

# What positional argument $2 (from 0) of command $1 is; status 1: there is none.
_pg_preflight_positional() {
  case "$1 $2" in
${positionalCases.join('\n')}
    *) return 1 ;;
  esac
}

# Prints each of the words after $1 $2 that starts with $1, prefixed with $2.
_pg_preflight_match() {
  local cur="$1" prefix="$2" w
  shift 2
  for w in "$@"; do
    case "$w" in "$cur"*) printf '%s\\n' "$prefix$w" ;; esac
  done
}

# Candidates for a value of kind $1 typed so far as $2; status 2 asks the shell for file names.
_pg_preflight_emit() {
  local kind="$1" cur="$2" prefix="$3" done
  case "$kind" in
    ids)
      # --only and --skip take a comma-separated list: complete the id after the last comma.
      case "$cur" in *,*) done="\${cur%,*},"; cur="\${cur##*,}" ;; *) done="" ;; esac
      _pg_preflight_match "$cur" "$prefix$done" $_pg_preflight_check_ids ;;
    words\\ *) _pg_preflight_match "$cur" "$prefix" \${kind#words } ;;
    files) return 2 ;;
  esac
  return 0
}

# Prints the candidates for word number $1 (from 0) of the command line given as the other
# arguments. Shared by the bash and zsh functions below.
_pg_preflight_candidates() {
  if [ -n "\${ZSH_VERSION-}" ]; then setopt localoptions ksharrays shwordsplit noglob; fi
  local cword="$1"
  shift
  local -a ws
  ws=("$@")
  local cur="\${ws[cword]-}" cmd="" expecting="" prefix="" pos=0 i=1 w next kind
  # Walk the words before the cursor: find the command, count positionals, skip option values.
  while [ "$i" -lt "$cword" ]; do
    w="\${ws[i]}"
    case "$w" in
      --*=*) ;;
      -?*)
        if _pg_preflight_value "\${cmd:-$_pg_preflight_default_command}" "$w" >/dev/null; then
          # bash splits "--format=json" at the "=" into three words.
          next=$((i + 1))
          if [ "\${ws[next]-}" = "=" ]; then next=$((next + 1)); fi
          if [ "$next" -eq "$cword" ]; then expecting="$w"; fi
          i="$next"
        fi ;;
      *)
        case " $_pg_preflight_commands " in
          *" $w "*) if [ -z "$cmd" ] && [ "$pos" -eq 0 ]; then cmd="$w"; else pos=$((pos + 1)); fi ;;
          *) pos=$((pos + 1)) ;;
        esac ;;
    esac
    i=$((i + 1))
  done
  local c="\${cmd:-$_pg_preflight_default_command}"
  if [ -z "$expecting" ]; then
    case "$cur" in
      --*=*) expecting="\${cur%%=*}"; prefix="$expecting="; cur="\${cur#*=}" ;;
    esac
  fi
  if [ -n "$expecting" ]; then
    kind="$(_pg_preflight_value "$c" "$expecting")" || return 0
    _pg_preflight_emit "$kind" "$cur" "$prefix"
    return
  fi
  case "$cur" in
    -*) _pg_preflight_match "$cur" "" $(_pg_preflight_flags "$c"); return 0 ;;
  esac
  if [ -z "$cmd" ] && [ "$pos" -eq 0 ]; then
    _pg_preflight_match "$cur" "" $_pg_preflight_commands
    return 0
  fi
  kind="$(_pg_preflight_positional "$c" "$pos")" || return 0
  _pg_preflight_emit "$kind" "$cur" ""
}`;
}

function header(shell: Shell): string {
  const install =
    shell === 'bash'
      ? ['#   source <(pg-preflight completion bash)                     # this shell', '#   pg-preflight completion bash > /etc/bash_completion.d/pg-preflight   # every shell']
      : ['#   source <(pg-preflight completion zsh)         # in ~/.zshrc, after compinit'];
  return [
    `# ${shell} completion for ${TOOL.name} ${TOOL.version}: its commands, flags, and check ids for`,
    '# --only, --skip and explain. Generated from its own definitions; regenerate after an upgrade.',
    ...install,
  ].join('\n');
}

export function completionScript(shell: Shell, model: CompletionModel): string {
  const wrapper =
    shell === 'bash'
      ? `_pg_preflight_completion() {
  local out st
  out="$(_pg_preflight_candidates "$COMP_CWORD" "\${COMP_WORDS[@]}")"
  st=$?
  COMPREPLY=()
  if [ "$st" -eq 2 ]; then
    compopt -o filenames 2>/dev/null
    out="$(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}")"
  fi
  if [ -n "$out" ]; then mapfile -t COMPREPLY <<<"$out"; fi
  return 0
}
complete -F _pg_preflight_completion pg-preflight`
      : `_pg_preflight() {
  local out st
  local -a reply
  out="$(_pg_preflight_candidates $((CURRENT - 1)) "\${words[@]}")"
  st=$?
  if (( st == 2 )); then _files; return; fi
  reply=("\${(@f)out}")
  reply=(\${reply:#})
  (( \${#reply} )) && compadd -- "\${reply[@]}"
}
if (( \${+functions[compdef]} )); then
  compdef _pg_preflight pg-preflight
else
  print -u2 'pg-preflight completion: run "autoload -Uz compinit && compinit" before loading this'
fi`;
  return `${header(shell)}\n\n${candidatesFunctions(model)}\n\n${wrapper}\n`;
}

export function completionCommand(shell: Shell, defs: ParserDefinitions, io: Io): number {
  io.stdout(completionScript(shell, completionModel(defs)));
  return EXIT.ok;
}
