// What the completion command needs of the parser, taken before parsing (running a command
// resets yargs' command list). Kept apart from completion.ts so that every start of the CLI
// does not load the check registry for it.
import type { Argv } from 'yargs';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export interface YargsOptions {
  key: Record<string, boolean>;
  alias: Record<string, string[]>;
  boolean: string[];
  number: string[];
  string: string[];
  choices: Record<string, string[]>;
  default: Record<string, unknown>;
  hiddenOptions: string[];
}

export interface CommandHandler {
  original: string;
  builder: ((y: Argv) => Argv) | Record<string, unknown>;
  demanded: { cmd: string[] }[];
  optional: { cmd: string[] }[];
}

/** What completion needs of the parser, taken before parsing: running a command resets both. */
export interface ParserDefinitions {
  handlers: Record<string, CommandHandler>;
  defaultCommand?: CommandHandler;
  options: YargsOptions;
}

/**
 * The registered commands and the top-level options. yargs has no public call that lists the
 * commands; getCommandHandlers() is what its own help output reads. test/completion.test.ts
 * compares the script with --help, so a yargs release that changes this fails there, not on a
 * user's Tab key.
 */
export function parserDefinitions(parser: Argv): ParserDefinitions {
  const instance = (parser as unknown as { getInternalMethods(): { getCommandInstance(): { getCommandHandlers(): Record<string, CommandHandler>; defaultCommand?: CommandHandler } } })
    .getInternalMethods()
    .getCommandInstance();
  return { handlers: instance.getCommandHandlers(), defaultCommand: instance.defaultCommand, options: optionsOfParser(parser) };
}

/** Parser.getOptions() is public in yargs but missing from @types/yargs. */
export function optionsOfParser(parser: Argv): YargsOptions {
  return (parser as unknown as { getOptions(): YargsOptions }).getOptions();
}

