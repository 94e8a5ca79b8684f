/**
 * Whether each gateway instance behind the front end is alive, from the traffic it sends back.
 * Every `intervalMs` each instance is probed with SEARCHGW, which a gateway answers with GWINFO
 * (MQTT-SN 1.2 §6.1); any datagram from an instance (that GWINFO, a reply to a device) counts as
 * alive. An instance heard from in none of the last `missedProbes` intervals is out: with the
 * defaults (1 s, 3) a dead instance leaves the hash within (missedProbes + 1) x intervalMs = 4 s.
 * One datagram brings it back at once. All start in, so a front end serves from its first packet.
 */
export interface HealthOptions {
  intervalMs: number;
  missedProbes: number;
}

export class InstanceHealth {
  private readonly missed: number[];
  private readonly heard: boolean[];

  constructor(
    count: number,
    private readonly options: HealthOptions,
    private readonly onChange: (index: number, up: boolean) => void,
  ) {
    this.missed = new Array<number>(count).fill(0);
    this.heard = new Array<boolean>(count).fill(false);
  }

  up(i: number): boolean {
    return this.missed[i]! < this.options.missedProbes;
  }

  /** Something arrived from instance `i`. */
  heardFrom(i: number): void {
    this.heard[i] = true;
    if (this.missed[i] === 0) return;
    const wasUp = this.up(i);
    this.missed[i] = 0;
    if (!wasUp) this.onChange(i, true);
  }

  /** One interval has passed: count it against every instance not heard from during it. */
  tick(): void {
    for (let i = 0; i < this.missed.length; i++) {
      if (this.heard[i]) this.heard[i] = false;
      else {
        const wasUp = this.up(i);
        this.missed[i]!++;
        if (wasUp && !this.up(i)) this.onChange(i, false);
      }
    }
  }

  anyUp(): boolean {
    return this.missed.some((_m, i) => this.up(i));
  }
}
