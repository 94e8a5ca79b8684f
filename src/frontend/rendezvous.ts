/**
 * Rendezvous (highest-random-weight) hashing: a device goes to the instance whose weight for it is
 * highest. Taking an instance out moves only the devices that instance had (every other device's
 * highest weight is unchanged), and bringing it back moves only those back: no table, no state
 * per device, and every front end with the same instance list picks the same instance.
 */

/** FNV-1a over bytes: cheap, and its weak high bits are mixed by {@link fmix32} before use. */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** MurmurHash3's finaliser: a bijection on 32 bits with full avalanche. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The index in `seeds` (one per instance, {@link fnv1a} of its name) with the highest weight for
 * `key`, among those `usable` allows; -1 when none is. Ties (1 in 2^32) go to the lower index.
 */
export function pickInstance(key: Uint8Array, seeds: readonly number[], usable: (i: number) => boolean): number {
  let best = -1;
  let bestWeight = -1;
  for (let i = 0; i < seeds.length; i++) {
    if (!usable(i)) continue;
    // The key hashed from the instance's seed: a weight of its own per (device, instance) pair.
    const w = fmix32(fnv1a(key, seeds[i]));
    if (w > bestWeight) {
      best = i;
      bestWeight = w;
    }
  }
  return best;
}
