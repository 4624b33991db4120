/**
 * Options of a benchmark, as given after its name: `--name=value` (a value may hold "="),
 * `--name=a,b,c` for lists, `--flag` for switches.
 */

/** The value of `--name=…`, or undefined when it is not given. */
export function option(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
}

/** The comma-separated values of `--name=…` (empty items dropped), or undefined. */
export function listOption(args: string[], name: string): string[] | undefined {
  return option(args, name)?.split(",").filter(Boolean);
}
