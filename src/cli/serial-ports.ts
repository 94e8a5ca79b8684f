/**
 * `mqttsn-gateway --list-serial-ports`: what `serialport` sees, with USB vendor / product ids
 * and the `/dev/serial/by-id/...` links udev makes. A by-id path names the dongle itself (make,
 * model, serial number), so it survives reboots and re-plugging in another USB socket, which
 * `/dev/ttyUSB0` does not.
 *
 * `serialport` lists through `udevadm`; where that is missing (containers, minimal images) the
 * same facts are read from sysfs instead.
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface SerialPortEntry {
  /** the device node, e.g. /dev/ttyUSB0 */
  path: string;
  /** stable links to it under /dev/serial/by-id */
  byId: string[];
  manufacturer?: string | undefined;
  product?: string | undefined;
  serialNumber?: string | undefined;
  /** USB vendor id, 4 hex digits */
  vendorId?: string | undefined;
  /** USB product id, 4 hex digits */
  productId?: string | undefined;
}

/** What `SerialPort.list()` returns, as far as it is used here. */
export interface ListedPort {
  path: string;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  pnpId?: string | undefined;
  vendorId?: string | undefined;
  productId?: string | undefined;
  /** the USB product string (sysfs only; serialport does not report it) */
  product?: string | undefined;
}

export interface SerialListing {
  ports: SerialPortEntry[];
  /** where the list came from */
  source: 'serialport' | 'sysfs';
  /** why serialport's own list was not used, when it was not */
  note?: string;
}

export interface ListOptions {
  /** default: serialport's `SerialPort.list` */
  list?: () => Promise<ListedPort[]>;
  /** default /dev/serial/by-id */
  byIdDir?: string;
  /** default /sys/class/tty */
  sysClassTty?: string;
  /** default /dev */
  devDir?: string;
}

// The kinds of tty serialport lists on Linux: UARTs, USB serial, CDC ACM, Bluetooth RFCOMM.
const SERIAL_TTY = /^(tty(S|WCH|ACM|USB|AMA|MFD|O|XRUSB)\d*|rfcomm\d+)/;

/** device path -> by-id links pointing at it */
async function byIdLinks(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out; // no by-id folder: no USB serial device plugged in, or no udev
  }
  for (const name of names.sort()) {
    const link = join(dir, name);
    try {
      const target = await realpath(link);
      out.set(target, [...(out.get(target) ?? []), link]);
    } catch {
      // a dangling link: the device went away while we looked
    }
  }
  return out;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** USB facts of a tty from sysfs: the nearest ancestor of its device that has an idVendor. */
async function usbFacts(ttyDir: string): Promise<Pick<SerialPortEntry, 'manufacturer' | 'product' | 'serialNumber' | 'vendorId' | 'productId'>> {
  let dir: string;
  try {
    dir = await realpath(join(ttyDir, 'device'));
  } catch {
    return {};
  }
  for (let i = 0; i < 6 && dir !== '/'; i++, dir = dirname(dir)) {
    const vendorId = await readText(join(dir, 'idVendor'));
    if (vendorId === undefined) continue;
    return {
      vendorId,
      productId: await readText(join(dir, 'idProduct')),
      manufacturer: await readText(join(dir, 'manufacturer')),
      product: await readText(join(dir, 'product')),
      serialNumber: await readText(join(dir, 'serial')),
    };
  }
  return {};
}

async function listFromSysfs(sysClassTty: string, devDir: string): Promise<ListedPort[]> {
  const out: ListedPort[] = [];
  for (const name of (await readdir(sysClassTty)).sort()) {
    if (!SERIAL_TTY.test(name)) continue;
    const dir = join(sysClassTty, name);
    try {
      await readlink(join(dir, 'device'));
    } catch {
      continue; // a virtual tty, not a port
    }
    // The 8250 driver makes ttyS0..ttyS31 whether or not a UART is there; type 0 means none.
    if (name.startsWith('ttyS') && (await readText(join(dir, 'type'))) === '0') continue;
    const usb = await usbFacts(dir);
    out.push({ path: join(devDir, name), ...usb });
  }
  return out;
}

async function defaultList(): Promise<ListedPort[]> {
  const { SerialPort } = await import('serialport');
  return SerialPort.list();
}

export async function listSerialPorts(options: ListOptions = {}): Promise<SerialListing> {
  const byIdDir = options.byIdDir ?? '/dev/serial/by-id';
  const sysClassTty = options.sysClassTty ?? '/sys/class/tty';
  const devDir = options.devDir ?? '/dev';
  let listed: ListedPort[];
  let source: SerialListing['source'] = 'serialport';
  let note: string | undefined;
  try {
    listed = await (options.list ?? defaultList)();
  } catch (err) {
    note = `serialport could not list ports (${err instanceof Error ? err.message : String(err)}); read from sysfs instead`;
    source = 'sysfs';
    try {
      listed = await listFromSysfs(sysClassTty, devDir);
    } catch {
      listed = [];
    }
  }
  const links = await byIdLinks(byIdDir);
  const ports = listed.map((p): SerialPortEntry => {
    const full = resolve(p.path);
    const byId = [...(links.get(full) ?? [])];
    // serialport's pnpId is the by-id name; keep it even when the folder could not be read.
    if (p.pnpId !== undefined && p.pnpId !== '') {
      const fromPnp = join(byIdDir, basename(p.pnpId));
      if (!byId.includes(fromPnp)) byId.push(fromPnp);
    }
    return {
      path: p.path,
      byId,
      manufacturer: p.manufacturer,
      product: p.product,
      serialNumber: p.serialNumber,
      vendorId: p.vendorId?.toLowerCase(),
      productId: p.productId?.toLowerCase(),
    };
  });
  ports.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
  return note === undefined ? { ports, source } : { ports, source, note };
}

/** Well-known USB serial chips on radio dongles, to help tell which port is which. */
const KNOWN_CHIPS: Record<string, string> = {
  '0403:6001': 'FTDI FT232R',
  '0403:6015': 'FTDI FT231X (XBee USB adapters)',
  '0403:6010': 'FTDI FT2232',
  '10c4:ea60': 'Silicon Labs CP210x',
  '1a86:7523': 'WCH CH340',
  '1a86:55d4': 'WCH CH9102',
  '067b:2303': 'Prolific PL2303',
  '2341:0043': 'Arduino Uno',
  '239a:800b': 'Adafruit Feather',
};

/** The listing as text for a person: one block per port, with the config line to paste. */
export function formatSerialPorts(listing: SerialListing): string {
  const lines: string[] = [];
  if (listing.note !== undefined) lines.push(`note: ${listing.note}`, '');
  if (listing.ports.length === 0) {
    lines.push(
      'No serial ports found.',
      'Plug the radio in and run this again; "dmesg | tail" shows whether the kernel saw it',
      '(look for ttyUSB or ttyACM).',
    );
    return `${lines.join('\n')}\n`;
  }
  for (const p of listing.ports) {
    const ids = p.vendorId !== undefined && p.productId !== undefined ? `${p.vendorId}:${p.productId}` : undefined;
    const what = [ids, ids !== undefined ? KNOWN_CHIPS[ids] : undefined, p.manufacturer, p.product, p.serialNumber !== undefined ? `serial ${p.serialNumber}` : undefined]
      .filter((x): x is string => x !== undefined && x !== '')
      .join(', ');
    lines.push(what === '' ? p.path : `${p.path}  (${what})`);
    for (const link of p.byId) lines.push(`  by-id: ${link}`);
    const stable = p.byId[0] ?? p.path;
    lines.push(`  config: { "type": "serial", "path": ${JSON.stringify(stable)}, "baudRate": 115200, "framing": "slip" }`);
    lines.push('');
  }
  if (listing.ports.some((p) => p.byId.length > 0)) {
    lines.push('Use the by-id path in gateway.config.json: it names the device, not the USB socket it is in.');
  } else {
    lines.push('No /dev/serial/by-id links: udev makes them for USB devices; a built-in UART (ttyS0, ttyAMA0) keeps its name anyway.');
  }
  return `${lines.join('\n')}\n`;
}
