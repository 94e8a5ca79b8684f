/**
 * The small pieces behind the CLI's operator features, each on its own: the serial port listing
 * (on a fake sysfs and by-id folder), the unit file's quoting, the start-up messages, the
 * process logger.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { MqttSnError } from '../../src/errors.js';
import { createProcessLogger } from '../../src/observability/logger.js';
import { formatSerialPorts, listSerialPorts } from '../../src/cli/serial-ports.js';
import { checkSerialDevice, describeStartupError, errnoCode, groupName } from '../../src/cli/startup.js';
import { quoteExecArg, stopTimeoutSec, systemdUnit } from '../../src/cli/systemd.js';
import { tempDir } from '../cli/cli-process.js';

describe('serial port listing', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let byId: string;
  let dev: string;
  let sys: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    dev = join(dir, 'dev');
    byId = join(dev, 'serial', 'by-id');
    sys = join(dir, 'sys', 'class', 'tty');
    await mkdir(byId, { recursive: true });
    for (const name of ['ttyUSB0', 'ttyACM0', 'ttyS0', 'ttyS1', 'tty1']) await writeFile(join(dev, name), '');
    await symlink(join(dev, 'ttyUSB0'), join(byId, 'usb-FTDI_FT231X_USB_UART_DN01ABCD-if00-port0'));
    // sysfs: a USB serial adapter, a CDC ACM board, a real UART, a phantom UART and a console.
    const usbDevice = join(dir, 'sys', 'devices', 'usb1', '1-1');
    await mkdir(join(usbDevice, '1-1:1.0', 'ttyUSB0'), { recursive: true });
    for (const [file, text] of [['idVendor', '0403'], ['idProduct', '6015'], ['manufacturer', 'FTDI'], ['product', 'FT231X USB UART'], ['serial', 'DN01ABCD']]) {
      await writeFile(join(usbDevice, file!), `${text}\n`);
    }
    const acmDevice = join(dir, 'sys', 'devices', 'usb1', '1-2');
    await mkdir(join(acmDevice, '1-2:1.0'), { recursive: true });
    await writeFile(join(acmDevice, 'idVendor'), '2341\n');
    await writeFile(join(acmDevice, 'idProduct'), '0043\n');
    const uart = join(dir, 'sys', 'devices', 'platform', 'serial8250');
    await mkdir(uart, { recursive: true });
    const entries: Array<[string, string | undefined, string | undefined]> = [
      ['ttyUSB0', join(usbDevice, '1-1:1.0', 'ttyUSB0'), undefined],
      ['ttyACM0', join(acmDevice, '1-2:1.0'), undefined],
      ['ttyS0', uart, '4'],
      ['ttyS1', uart, '0'],
      ['tty1', undefined, undefined],
    ];
    for (const [name, device, type] of entries) {
      await mkdir(join(sys, name), { recursive: true });
      if (device !== undefined) await symlink(device, join(sys, name, 'device'));
      if (type !== undefined) await writeFile(join(sys, name, 'type'), `${type}\n`);
    }
  });
  after(() => cleanup());

  it('uses serialport\'s list, adding the by-id links that point at each port', async () => {
    const listing = await listSerialPorts({
      byIdDir: byId,
      list: () => Promise.resolve([{ path: join(dev, 'ttyUSB0'), vendorId: '0403', productId: '6015', manufacturer: 'FTDI', serialNumber: 'DN01ABCD', pnpId: 'usb-FTDI_FT231X_USB_UART_DN01ABCD-if00-port0' }]),
    });
    assert.equal(listing.source, 'serialport');
    assert.deepEqual(listing.ports, [
      {
        path: join(dev, 'ttyUSB0'),
        byId: [join(byId, 'usb-FTDI_FT231X_USB_UART_DN01ABCD-if00-port0')],
        manufacturer: 'FTDI',
        product: undefined,
        serialNumber: 'DN01ABCD',
        vendorId: '0403',
        productId: '6015',
      },
    ]);
    const text = formatSerialPorts(listing);
    assert.match(text, /ttyUSB0 {2}\(0403:6015, FTDI FT231X \(XBee USB adapters\), FTDI, serial DN01ABCD\)/);
    assert.ok(text.includes(`config: { "type": "serial", "path": "${join(byId, 'usb-FTDI_FT231X_USB_UART_DN01ABCD-if00-port0')}", "baudRate": 115200, "framing": "slip" }`));
    assert.match(text, /Use the by-id path/);
  });

  it('reads sysfs when serialport cannot list (no udevadm), skipping phantom UARTs and virtual ttys', async () => {
    const listing = await listSerialPorts({ byIdDir: byId, sysClassTty: sys, devDir: dev, list: () => Promise.reject(new Error('spawn udevadm ENOENT')) });
    assert.equal(listing.source, 'sysfs');
    assert.match(listing.note ?? '', /spawn udevadm ENOENT/);
    assert.deepEqual(
      listing.ports.map((p) => [p.path, p.vendorId, p.productId, p.byId.length]),
      [
        [join(dev, 'ttyACM0'), '2341', '0043', 0],
        [join(dev, 'ttyS0'), undefined, undefined, 0],
        [join(dev, 'ttyUSB0'), '0403', '6015', 1],
      ],
    );
    assert.equal(listing.ports.find((p) => p.path.endsWith('ttyUSB0'))?.product, 'FT231X USB UART');
  });

  it('says so plainly when there is nothing', () => {
    assert.match(formatSerialPorts({ ports: [], source: 'serialport' }), /^No serial ports found\.\nPlug the radio in/);
  });
});

describe('systemd unit', () => {
  const base = {
    execPath: '/usr/bin/node',
    nodeOptions: [],
    cliPath: '/opt/mqttsn-gateway/dist/src/cli.js',
    configPath: '/etc/mqttsn/gateway.config.json',
    workingDirectory: '/opt/mqttsn-gateway',
    user: 'pi',
    group: 'pi',
    graceMs: 5000,
  };

  it('runs the installed CLI on the config, as the user, in the dialout group', () => {
    const unit = systemdUnit(base);
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/mqttsn-gateway\/dist\/src\/cli\.js --config \/etc\/mqttsn\/gateway\.config\.json$/m);
    assert.match(unit, /^User=pi$/m);
    assert.match(unit, /^Group=pi$/m);
    assert.match(unit, /^SupplementaryGroups=dialout$/m);
    assert.match(unit, /^ReadWritePaths=\/opt\/mqttsn-gateway$/m);
    assert.match(unit, /^TimeoutStopSec=15$/m);
    assert.match(unit, /^EnvironmentFile=-\/etc\/default\/mqttsn-gateway$/m, 'secrets from an optional root-owned file');
    assert.match(unit, /^UMask=0077$/m, 'the store it creates is private to the service user');
  });

  it('quotes and escapes what systemd would otherwise split or expand', () => {
    assert.equal(quoteExecArg('/plain/path'), '/plain/path');
    assert.equal(quoteExecArg('/with space/x'), '"/with space/x"');
    assert.equal(quoteExecArg('100%'), '100%%');
    assert.equal(quoteExecArg('$HOME'), '$$HOME');
    assert.equal(quoteExecArg('a"b'), '"a\\"b"');
    assert.equal(quoteExecArg(''), '""');
    assert.equal(stopTimeoutSec(0), 10);
    assert.equal(stopTimeoutSec(1500), 12);
  });
});

describe('start-up messages', () => {
  it('finds the errno code anywhere in the cause chain', () => {
    const inner = Object.assign(new Error('bind EADDRINUSE 127.0.0.1:1884'), { code: 'EADDRINUSE' });
    const outer = new MqttSnError('MQTTSN_ERR_OPEN_FAILED', 'udp:127.0.0.1:1884: cannot bind: bind EADDRINUSE 127.0.0.1:1884', { cause: inner });
    assert.equal(errnoCode(outer), 'EADDRINUSE', 'a gateway code is not an errno');
    assert.equal(errnoCode(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), undefined);
    assert.equal(
      describeStartupError(outer),
      'udp:127.0.0.1:1884: cannot bind: address already in use: another program (or another gateway) has this port; stop it or choose another port in the config',
    );
  });

  it('keeps a message it has no advice for, first line only', () => {
    assert.equal(describeStartupError(new Error('something odd\n  at x')), 'something odd');
  });

  it('advises on privileged ports', () => {
    const err = new MqttSnError('MQTTSN_ERR_LISTEN_FAILED', 'local MQTT listener cannot listen on 0.0.0.0:883', { cause: Object.assign(new Error('listen EACCES'), { code: 'EACCES' }) });
    assert.match(describeStartupError(err), /^local MQTT listener cannot listen on 0\.0\.0\.0:883 \(permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE/);
  });

  it('tells a missing serial device from an openable one', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const present = join(dir, 'ttyUSB0');
      await writeFile(present, '');
      assert.equal(await checkSerialDevice(present), undefined);
      const missing = await checkSerialDevice(join(dir, 'ttyUSB9'));
      assert.equal(missing?.kind, 'missing');
    } finally {
      await cleanup();
    }
  });

  it('names groups from a group file', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = join(dir, 'group');
      await writeFile(file, 'root:x:0:\ndialout:x:20:pi\n');
      assert.equal(groupName(20, file), 'dialout');
      assert.equal(groupName(99, file), undefined);
      assert.equal(groupName(20, join(dir, 'none')), undefined);
    } finally {
      await cleanup();
    }
  });
});

describe('process logger', () => {
  function capture(): { stream: PassThrough; text: () => string } {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    return { stream, text: () => text };
  }

  it('writes JSON lines when not on a terminal, with the child bindings', () => {
    const out = capture();
    const logger = createProcessLogger({ level: 'info', destination: out.stream });
    logger.child({ part: 'gateway' }).info({ clientId: 'c1' }, 'client connected');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'client connected');
    assert.equal(line.part, 'gateway');
    assert.equal(line.clientId, 'c1');
    assert.equal(line.level, 30);
  });

  it('writes one readable line per record when pretty', () => {
    const out = capture();
    const logger = createProcessLogger({ level: 'info', destination: out.stream, pretty: true });
    logger.child({ part: 'gateway' }).info({ clientId: 'c1' }, 'client connected');
    const text = out.text();
    assert.match(text, /INFO.*client connected/);
    assert.equal(text.trim().split('\n').length, 1);
    assert.equal(text.includes('"level"'), false);
  });

  it('changes the level of every child at once (SIGHUP)', () => {
    const out = capture();
    const logger = createProcessLogger({ level: 'info', destination: out.stream });
    const child = logger.child({ part: 'transport' }).child({ transport: 'udp:x' });
    child.debug({}, 'hidden');
    logger.level = 'debug';
    child.debug({}, 'shown');
    assert.equal(out.text().includes('hidden'), false);
    assert.ok(out.text().includes('shown'));
  });
});
