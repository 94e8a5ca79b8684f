import { stat } from 'node:fs';
import type { SerialPort } from 'serialport';
import { TransportError, TransportErrorCode } from '../errors.js';
import type { Logger } from './log.js';
import type { StatusEvent, TransportState } from './types.js';

/** How a serial adapter finds and keeps its device. */
export interface SerialLinkOptions {
  /** device path, e.g. `/dev/ttyUSB0` or a stable `/dev/serial/by-id/...` link */
  path: string;
  baudRate: number;
  reconnect?: {
    /** first delay before reopening a lost or absent device; default 500 ms */
    initialMs?: number;
    /** the delay doubles after each failed attempt up to this; default 30 000 ms */
    maxMs?: number;
  };
  /**
   * How often to check that the device node still exists and is the same device; default
   * 1000 ms. The binding does not always notice a lost device by itself: a pty whose other side
   * went away reads as endless 0-byte reads, not as an error.
   */
  presenceCheckMs?: number;
  /**
   * Bytes that may wait to go out on the line; a write beyond is refused (shed) rather than
   * queued. Default: 64 KiB, or two seconds of the line at `baudRate` (10 bits a byte) when that
   * is more.
   */
  maxWriteBufferBytes?: number;
}

/**
 * The default write buffer: 64 KiB, room for a burst of several hundred small frames (a wake-up
 * flushing a sleep buffer, a fan-out) on any line, and a bound on memory, not latency; on a line
 * faster than 320 kbaud, two seconds of it.
 */
export function defaultWriteBuffer(baudRate: number): number {
  return Math.max(64 * 1024, Math.ceil((baudRate / 10) * 2));
}

export interface LinkHooks {
  data(chunk: Buffer): void;
  status(state: TransportState, extra?: Omit<StatusEvent, 'state'>): void;
  /** the open device went away; a `reopening` status with the same error follows */
  lost(error: Error): void;
  /** an error the port reported while open */
  error(error: Error): void;
  log: Logger;
}

/**
 * One serial device with a life of its own: it may be absent at start, unplugged and plugged
 * back. Opening failures and losses never reject or throw; they become `reopening` statuses and
 * a retry after an exponential backoff that resets once the device is open again.
 */
export class SerialLink {
  private port: SerialPort | undefined;
  private wanted = false;
  private opening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private presenceTimer: NodeJS.Timeout | undefined;
  private deviceId: number | undefined;
  private delay: number;
  private attempt = 0;
  private readonly initialDelay: number;
  private readonly maxDelay: number;
  private readonly presenceMs: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly options: SerialLinkOptions,
    private readonly hooks: LinkHooks,
  ) {
    this.initialDelay = options.reconnect?.initialMs ?? 500;
    this.maxDelay = options.reconnect?.maxMs ?? 30_000;
    this.presenceMs = options.presenceCheckMs ?? 1000;
    this.maxBuffered = options.maxWriteBufferBytes ?? defaultWriteBuffer(options.baudRate);
    this.delay = this.initialDelay;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  /** Resolves after the first attempt, whatever its outcome. */
  async open(): Promise<void> {
    if (this.wanted) return this.opening;
    this.wanted = true;
    this.delay = this.initialDelay;
    this.attempt = 0;
    this.hooks.status('opening');
    await this.tryOpen();
  }

  async close(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopPresence();
    await this.opening;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen === true) await closePort(port);
    this.hooks.status('closed');
  }

  write(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (port === undefined || !port.isOpen) {
      // A closed SerialPort would queue the bytes and send them, stale, after a reopen.
      return Promise.reject(new TransportError(TransportErrorCode.NOT_OPEN, 'device not open'));
    }
    // A device that reads slower than we send (a slow baud rate, a stalled dongle, flow control
    // held) would grow the stream's buffer without end under a QoS 0 fan-out. Beyond the bound a
    // frame is shed: QoS 1/2 are sent again by T_RETRY, QoS 0 was best effort; stale data waiting
    // seconds for the line helps nobody.
    if (port.writableLength + bytes.length > this.maxBuffered) {
      return Promise.reject(
        new TransportError(TransportErrorCode.WRITE_BUFFER_FULL, `write buffer full (${port.writableLength} bytes waiting, limit ${this.maxBuffered}): the device reads slower than the gateway sends; frame shed`),
      );
    }
    return new Promise((resolve, reject) => {
      port.write(bytes, (err) => {
        if (err) reject(new TransportError(TransportErrorCode.SEND_FAILED, `write failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  private tryOpen(): Promise<void> {
    const attempt = loadSerialPort().then((SerialPortClass) => new Promise<void>((resolve) => {
      let port: SerialPort;
      try {
        port = new SerialPortClass({ path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
      } catch (err) {
        this.retryLater(asError(err));
        resolve();
        return;
      }
      // Without an 'error' listener a late error from a port we gave up on would be thrown.
      port.on('error', (err: Error) => {
        if (port === this.port) this.hooks.error(err);
        else this.hooks.log.debug({ path: this.options.path, err }, 'error from a discarded serial port');
      });
      port.open((err) => {
        if (!this.wanted) {
          if (!err) void closePort(port);
        } else if (err) {
          this.retryLater(err);
        } else {
          this.attach(port);
        }
        resolve();
      });
    }), (err: unknown) => this.retryLater(asError(err)));
    this.opening = attempt.finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private attach(port: SerialPort): void {
    this.port = port;
    this.delay = this.initialDelay;
    this.attempt = 0;
    this.deviceId = undefined;
    port.on('data', (chunk: Buffer) => {
      if (port === this.port) this.hooks.data(chunk);
    });
    port.on('close', (err: Error | null) => {
      if (port === this.port) this.lose(err ?? new Error('serial port closed'));
    });
    stat(this.options.path, (err, st) => {
      if (!err && port === this.port) this.deviceId = st.rdev;
    });
    this.startPresence();
    this.hooks.log.info({ path: this.options.path, baudRate: this.options.baudRate }, 'serial device open');
    this.hooks.status('open');
  }

  private lose(error: Error): void {
    const port = this.port;
    this.port = undefined;
    this.stopPresence();
    if (port?.isOpen === true) void closePort(port);
    if (!this.wanted) return;
    this.hooks.lost(error);
    this.retryLater(error);
  }

  private retryLater(error: Error): void {
    if (!this.wanted) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.maxDelay);
    this.attempt++;
    this.hooks.log.warn(
      { path: this.options.path, err: error.message, attempt: this.attempt, retryInMs: wait },
      'serial device unavailable; will retry',
    );
    this.hooks.status('reopening', { error, attempt: this.attempt, retryInMs: wait });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted) void this.tryOpen();
    }, wait);
  }

  private startPresence(): void {
    this.stopPresence();
    const timer = setInterval(() => {
      const port = this.port;
      if (port === undefined) return;
      stat(this.options.path, (err, st) => {
        if (port !== this.port) return;
        if (err) this.lose(new Error(`device ${this.options.path} is gone (${err.code ?? err.message})`));
        else if (this.deviceId !== undefined && st.rdev !== this.deviceId) {
          this.lose(new Error(`device ${this.options.path} was replaced by another device`));
        }
      });
    }, this.presenceMs);
    // The open port keeps the process alive; this check alone must not.
    timer.unref();
    this.presenceTimer = timer;
  }

  private stopPresence(): void {
    clearInterval(this.presenceTimer);
    this.presenceTimer = undefined;
  }
}

let serialPortModule: Promise<typeof SerialPort> | undefined;

/**
 * serialport and its native binding, loaded on the first open: a gateway with only UDP
 * transports (the shipped config) never pays the ~7 MB resident they cost (issue #19).
 */
function loadSerialPort(): Promise<typeof SerialPort> {
  serialPortModule ??= import('serialport').then((m) => m.SerialPort);
  return serialPortModule;
}

function closePort(port: SerialPort): Promise<void> {
  // Closing can only fail when the port is already closed: nothing to report.
  return new Promise((resolve) => port.close(() => resolve()));
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
