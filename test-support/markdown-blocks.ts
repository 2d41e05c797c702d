// Test helper (never published): the fenced code blocks of a Markdown file, so documentation
// examples can be type-checked and run instead of rotting.

/** One fenced block: its language tag, its text and the line its fence opens on (1-based). */
export interface CodeBlock {
  readonly lang: string;
  readonly code: string;
  readonly line: number;
}

/** The fenced blocks (``` or ~~~, three or more) of `markdown`, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith(fence); i++) body.push(lines[i]!);
    blocks.push({ lang: open[2]!.toLowerCase(), code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}
