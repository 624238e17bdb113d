/** The `sh` code blocks of README text's "## Quick start" section, in order. */
export function quickStart(readme: string): string[];
