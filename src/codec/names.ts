/** Reverse tables of the wire-number constants, derived so that a number and its name cannot drift apart. */

/** code -> name for every byte value; `undefined` where no name has that code (the first name wins). */
export function namesByCode<K extends string>(codes: Readonly<Record<K, number>>): ReadonlyArray<K | undefined> {
  const table = new Array<K | undefined>(256).fill(undefined);
  for (const [name, code] of Object.entries(codes) as Array<[K, number]>) table[code] ??= name;
  return table;
}
