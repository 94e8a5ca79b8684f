/**
 * SIGHUP: read the config file again and apply what can change under running sessions, the log
 * level, the predefined topic table and `auth`; name every other changed section as needing a restart.
 * A file that no longer validates changes nothing: the gateway keeps running on what it has.
 */
import { isDeepStrictEqual } from 'node:util';
import type { GatewayConfig } from '../config/schema.js';

/**
 * The gateway hook for a new predefined topic table. Sessions stay; subscriptions made through a
 * predefined id keep the topic name they were made for; registries are unaffected (normal and
 * predefined ids are separate namespaces, MQTT-SN.md §4.5).
 */
export interface PredefinedTopicsReloadable {
  setPredefinedTopics(table: Readonly<Record<string, string>>): void;
}

export function canReloadPredefinedTopics(gateway: object): gateway is PredefinedTopicsReloadable {
  return typeof (gateway as Partial<PredefinedTopicsReloadable>).setPredefinedTopics === 'function';
}

/**
 * The gateway hook for new `auth`: it applies to the next request, and sessions, subscriptions
 * and wills the new rules no longer allow are removed.
 */
export interface AuthReloadable {
  setAuth(auth: GatewayConfig['auth']): unknown;
}

export function canReloadAuth(gateway: object): gateway is AuthReloadable {
  return typeof (gateway as Partial<AuthReloadable>).setAuth === 'function';
}

/** Sections applied while running. */
const RELOADABLE = new Set<string>(['log', 'predefinedTopics', 'auth']);

export interface ReloadPlan {
  logLevel?: GatewayConfig['log']['level'];
  predefinedTopics?: GatewayConfig['predefinedTopics'];
  auth?: GatewayConfig['auth'];
  /** top-level sections that changed but take effect only at the next start */
  restartNeeded: string[];
}

/** What differs between the config running and the one just read. */
export function planReload(running: GatewayConfig, next: GatewayConfig): ReloadPlan {
  const plan: ReloadPlan = { restartNeeded: [] };
  if (running.log.level !== next.log.level) plan.logLevel = next.log.level;
  if (!isDeepStrictEqual(running.predefinedTopics, next.predefinedTopics)) plan.predefinedTopics = next.predefinedTopics;
  if (!isDeepStrictEqual(running.auth, next.auth)) plan.auth = next.auth;
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const key of [...keys].sort()) {
    if (RELOADABLE.has(key)) continue;
    const a = (running as Record<string, unknown>)[key];
    const b = (next as Record<string, unknown>)[key];
    if (!isDeepStrictEqual(a, b)) plan.restartNeeded.push(key);
  }
  return plan;
}

export interface ReloadTargets {
  /** the root logger: its level reaches every child */
  logger: { level: string };
  gateway: object;
}

export interface ReloadOutcome {
  applied: string[];
  restartNeeded: string[];
  /** the config that is now in force (the running one with what was applied) */
  config: GatewayConfig;
}

/** Applies a plan; what cannot be applied is added to `restartNeeded`. */
export function applyReload(running: GatewayConfig, plan: ReloadPlan, targets: ReloadTargets): ReloadOutcome {
  const applied: string[] = [];
  const restartNeeded = [...plan.restartNeeded];
  let config = running;
  if (plan.logLevel !== undefined) {
    targets.logger.level = plan.logLevel;
    config = { ...config, log: { ...config.log, level: plan.logLevel } };
    applied.push('log.level');
  }
  /** A changed section goes to the gateway's hook for it, or waits for a restart where it has none. */
  const hand = <K extends 'predefinedTopics' | 'auth'>(key: K, value: GatewayConfig[K] | undefined, hook: ((value: GatewayConfig[K]) => unknown) | undefined): void => {
    if (value === undefined) return;
    if (hook === undefined) {
      restartNeeded.push(key);
      return;
    }
    hook(value);
    config = { ...config, [key]: value };
    applied.push(key);
  };
  const gateway = targets.gateway;
  hand('predefinedTopics', plan.predefinedTopics, canReloadPredefinedTopics(gateway) ? (t) => gateway.setPredefinedTopics(t) : undefined);
  hand('auth', plan.auth, canReloadAuth(gateway) ? (a) => gateway.setAuth(a) : undefined);
  return { applied, restartNeeded, config };
}
