// YAML parsed together with the line of every key, so that a rules-file error can name the line.
// js-yaml has no AST, but its `listener` option reports each node opening and closing: a node's
// children arrive between the two, and in a mapping they alternate key, value.
import yaml from 'js-yaml';

export type YamlPath = readonly (string | number)[];

export interface LocatedYaml {
  data: unknown;
  /** 1-based line of the key at `path` (or of the sequence item); the nearest parent's when unknown. */
  lineOf(path: YamlPath): number | undefined;
}

interface Node {
  kind: string | null;
  result: unknown;
  /** 0-based line where the node closed: for a scalar, the line it is on. */
  line: number;
  children: Node[];
}

const SEP = '\u0000';

function firstLine(node: Node): number {
  if ((node.kind === 'mapping' || node.kind === 'sequence') && node.children.length > 0) return firstLine(node.children[0]!);
  return node.line;
}

function index(node: Node, path: string[], lines: Map<string, number>): void {
  if (node.kind === 'mapping') {
    for (let i = 0; i + 1 < node.children.length; i += 2) {
      const key = node.children[i]!;
      const keyPath = [...path, String(key.result)];
      lines.set(keyPath.join(SEP), key.line + 1);
      index(node.children[i + 1]!, keyPath, lines);
    }
  } else if (node.kind === 'sequence') {
    node.children.forEach((item, i) => {
      const itemPath = [...path, String(i)];
      lines.set(itemPath.join(SEP), firstLine(item) + 1);
      index(item, itemPath, lines);
    });
  }
}

/** Parses YAML (throws js-yaml's YAMLException, which carries `mark.line`) and indexes key lines. */
export function loadYamlWithLines(text: string, filename: string): LocatedYaml {
  const stack: Node[][] = [[]];
  const data = yaml.load(text, {
    filename,
    listener(event, state) {
      if (event === 'open') {
        stack.push([]);
        return;
      }
      const children = stack.pop() ?? [];
      stack[stack.length - 1]?.push({ kind: state.kind, result: state.result, line: state.line, children });
    },
  });
  const lines = new Map<string, number>();
  const root = stack[0]?.[0];
  if (root) index(root, [], lines);
  return {
    data,
    lineOf(path) {
      for (let n = path.length; n > 0; n--) {
        const line = lines.get(path.slice(0, n).map(String).join(SEP));
        if (line !== undefined) return line;
      }
      return root ? firstLine(root) + 1 : undefined;
    },
  };
}
