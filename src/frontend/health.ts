/**
 * Whether each gateway instance behind the front end is alive, told apart from merely busy.
 *
 * Every `intervalMs` each instance is probed with SEARCHGW, which a gateway answers with GWINFO
 * (MQTT-SN 1.2 §6.1), from a socket connected to that instance alone, so the kernel reports an
 * ICMP port unreachable for it. The rule:
 *
 * - **Proof of life:** any datagram from the instance (a GWINFO, or any answer to a device).
 * - **Proof of death:** the instance's port refused a probe (nothing listens on it: the process
 *   is gone). Silent for `missedProbes` intervals with a refusal since it last spoke: out.
 * - **Silence alone is not proof:** a process stalled by load (a long GC, a starved CPU) and a
 *   lost host look the same from here, and moving a live instance's devices makes two instances
 *   take the same upstream client id in turn. Silent for `silentProbes` intervals without a
 *   refusal: out.
 *
 * With the defaults (1 s, 3, 10) a killed process leaves the hash within 4 s, a lost host or a
 * process stalled for longer than 10 s within 11 s. Intervals are counted in ticks of the front
 * end's own timer, so a front end that is itself stalled counts fewer, not more. One datagram
 * brings an instance back at once. All start in, so a front end serves from its first packet.
 */
export interface HealthOptions {
  intervalMs: number;
  /** silent intervals, with a refused probe among them, before an instance is out */
  missedProbes: number;
  /** silent intervals without a refusal before an instance is out; at least missedProbes */
  silentProbes: number;
}

export class InstanceHealth {
  private readonly missed: number[];
  private readonly heard: boolean[];
  /** a probe was refused since the instance last spoke */
  private readonly refused: boolean[];
  private readonly isUp: boolean[];

  constructor(
    count: number,
    private readonly options: HealthOptions,
    private readonly onChange: (index: number, up: boolean, why: 'refused' | 'silent' | 'heard') => void,
  ) {
    if (options.silentProbes < options.missedProbes) throw new RangeError(`front end: health.silentProbes (${options.silentProbes}) is below health.missedProbes (${options.missedProbes})`);
    this.missed = new Array<number>(count).fill(0);
    this.heard = new Array<boolean>(count).fill(false);
    this.refused = new Array<boolean>(count).fill(false);
    this.isUp = new Array<boolean>(count).fill(true);
  }

  up(i: number): boolean {
    return this.isUp[i]!;
  }

  /** Something arrived from instance `i`. */
  heardFrom(i: number): void {
    this.heard[i] = true;
    this.missed[i] = 0;
    this.refused[i] = false;
    if (!this.isUp[i]) {
      this.isUp[i] = true;
      this.onChange(i, true, 'heard');
    }
  }

  /** The kernel reported instance `i`'s port unreachable (ICMP) for a probe. */
  refusedBy(i: number): void {
    this.refused[i] = true;
  }

  /** One interval has passed: count it against every instance not heard from during it. */
  tick(): void {
    for (let i = 0; i < this.missed.length; i++) {
      if (this.heard[i]) {
        this.heard[i] = false;
        continue;
      }
      const missed = ++this.missed[i]!;
      const limit = this.refused[i] ? this.options.missedProbes : this.options.silentProbes;
      if (this.isUp[i] && missed >= limit) {
        this.isUp[i] = false;
        this.onChange(i, false, this.refused[i] ? 'refused' : 'silent');
      }
    }
  }

  anyUp(): boolean {
    return this.isUp.includes(true);
  }
}
