/**
 * `mqttsn-gateway --print-systemd-unit`: a service unit with the paths of this install filled
 * in, so that installing the service is a copy, not an edit:
 *
 * ```sh
 * mqttsn-gateway --print-systemd-unit | sudo tee /etc/systemd/system/mqttsn-gateway.service
 * sudo systemctl daemon-reload && sudo systemctl enable --now mqttsn-gateway
 * ```
 */

export interface UnitOptions {
  /** the node binary */
  execPath: string;
  /** node options the CLI runs with (`--import tsx` when run from source) */
  nodeOptions: readonly string[];
  /** absolute path of the CLI script */
  cliPath: string;
  /** absolute path of the config file */
  configPath: string;
  /** the install folder: working directory, and writable for the store */
  workingDirectory: string;
  user: string;
  group?: string | undefined;
  /** groups the service needs besides its own: `dialout` for serial devices */
  supplementaryGroups?: readonly string[];
  /** the shutdown grace period; systemd must wait longer than this before SIGKILL */
  graceMs: number;
  /** variables the process must start with (glibc's malloc reads them before node runs) */
  environment?: Readonly<Record<string, string>>;
}

/** Where the unit reads environment variables from, if the file exists. */
export const ENV_FILE = '/etc/default/mqttsn-gateway';

/** `%` starts a specifier and `$` a variable in unit files; both are doubled to stay literal. */
function escapeUnit(value: string): string {
  return value.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

/** One ExecStart= word: quoted when it has blanks, quotes, backslashes or a lone `;`. */
export function quoteExecArg(arg: string): string {
  const escaped = escapeUnit(arg);
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A path in a setting that takes a space-separated list (ReadWritePaths=). */
function quotePath(path: string): string {
  const escaped = escapeUnit(path);
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

/** Seconds systemd waits after SIGTERM: the grace period plus time to close and flush. */
export function stopTimeoutSec(graceMs: number): number {
  return Math.ceil(graceMs / 1000) + 10;
}

export function systemdUnit(o: UnitOptions): string {
  const exec = [o.execPath, ...o.nodeOptions, o.cliPath, '--config', o.configPath].map(quoteExecArg).join(' ');
  const groups = o.supplementaryGroups ?? ['dialout'];
  const lines = [
    '# mqttsn-gateway service, printed by "mqttsn-gateway --print-systemd-unit" for this install.',
    '# Install:  ... --print-systemd-unit | sudo tee /etc/systemd/system/mqttsn-gateway.service',
    '#           sudo systemctl daemon-reload && sudo systemctl enable --now mqttsn-gateway',
    '# Logs:     journalctl -u mqttsn-gateway -f',
    '# Reload:   sudo systemctl reload mqttsn-gateway   (predefined topics, auth and log level; sessions stay)',
    '',
    '[Unit]',
    'Description=MQTT-SN gateway',
    // Wants network-online so a UDP transport bound to a specific address finds it up.
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${escapeUnit(o.user)}`,
    ...(o.group !== undefined ? [`Group=${escapeUnit(o.group)}`] : []),
    ...(groups.length > 0 ? [`SupplementaryGroups=${groups.map(escapeUnit).join(' ')}`] : []),
    `WorkingDirectory=${escapeUnit(o.workingDirectory)}`,
    'Environment=NODE_ENV=production',
    ...Object.entries(o.environment ?? {}).map(([k, v]) => `Environment=${quoteExecArg(`${k}=${v}`)}`),
    // Secrets (the upstream password, a key passphrase) come from the environment; this file,
    // root-owned and mode 600, keeps them out of the unit and the config. Optional ("-").
    `EnvironmentFile=-${ENV_FILE}`,
    `ExecStart=${exec}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    // SIGTERM starts the graceful stop; systemd waits this long before SIGKILL.
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${stopTimeoutSec(o.graceMs)}`,
    // Exit 2 is a bad config: restarting cannot fix it, and would only fill the journal.
    'Restart=on-failure',
    'RestartSec=5',
    'RestartPreventExitStatus=2',
    // The device gets what it needs and no more; serial devices stay reachable (no PrivateDevices).
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    `ReadWritePaths=${quotePath(o.workingDirectory)}`,
    // Files the gateway creates (the SQLite store with sessions, queued messages and retained
    // payloads, its -wal/-shm files) are readable by the service user only.
    'UMask=0077',
    'PrivateTmp=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}
