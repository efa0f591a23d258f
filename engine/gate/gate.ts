/**
 * The gate as a service: one object per set of locations (store, policy, state directory) that
 * front ends call — the CLI builds requests from argv, a hook or a server from JSON. It loads
 * the policy once, opens the store for writing on first use (GATE_START on a new store,
 * timeouts of what nobody decided), and offers the whole engine through a few methods:
 *
 *   check(request)            record the attempt, decide or wait (request.onHeld told), record the decision
 *   assess(request)           what check would decide, recording nothing
 *   waitForDecision(id, ms)   a pending command's decision, once recorded
 *   review.view / statement / apply   what a reviewer sees, signs and submits
 *   review.registerPasskey / passkeys reviewers' passkeys, recorded in the trail
 *   exec(record, options)     run an allowed command, recording its start and end
 *   verify(options)           the trail checked from its stored bytes
 *   export(options) / bundle()        the trail as evidence
 *   report(options)           the compliance report's data
 */
import { buildReport, type ReportData } from '../audit/report.js';
import type { Bundle } from '../audit/bundle.js';
import type { VerifierKey } from '../audit/checkpoint.js';
import { trustedKeys } from '../audit/checkpoint.js';
import type { AuditStore } from '../audit/store.js';
import type { VerifyResult, WitnessReading } from '../audit/verify.js';
import type { CommandRecord, DecidedBody, DecisionStatement, Passkey } from '../model/events.js';
import type { Assessment } from './assess.js';
import { check, resumeWait, type CheckDependencies, type CheckResult } from './check.js';
import { systemClock, type Clock } from './clock.js';
import { execute, type ExecOptions, type ExecResult } from './exec.js';
import { exportBundle, exportTrail, type ExportOptions } from './export.js';
import type { Locations } from './locations.js';
import { loadGatePolicy, openStore, openStoreIfExists, openStoreForReading } from './open.js';
import type { Policy } from './policy.js';
import { assessRequest, type AssessRequest, type CheckRequest, type OnHeld } from './request.js';
import {
  applyDecision,
  pendingQueue,
  reviewStatement,
  reviewView,
  signAndApply,
  type DecisionSubmission,
  type ReviewOutcome,
  type ReviewView,
} from './review.js';
import { passkeysOf, registerPasskey, type PasskeyRegistration } from './passkeys.js';
import { verifyStore } from './verify-store.js';
import { pollingWaiter, type DecisionWaiter } from './waiter.js';

export interface GateOptions {
  /** Told about what went wrong without stopping the gate (a witness, a notifier). */
  readonly warn?: ((message: string) => void) | undefined;
  /** The home directory commands are judged against (`~`, what is a project). */
  readonly home?: string | undefined;
  /** The system's time zone (an IANA name): off-hours are judged in it when gate.yaml names none. */
  readonly timeZone?: string | undefined;
  readonly clock?: Clock | undefined;
  /** How waits learn of decisions (default: polling the store; a resident server notifies). */
  readonly waiter?: DecisionWaiter | undefined;
}

export class Gate {
  private writer: Promise<AuditStore> | null = null;
  /** A PostgreSQL trail's decisions by LISTEN/NOTIFY, connected on the first wait. */
  private listening: Promise<DecisionWaiter & { close?(): Promise<void> }> | null = null;
  private readonly clock: Clock;

  private constructor(
    readonly locations: Locations,
    readonly policy: Policy,
    private readonly options: GateOptions,
  ) {
    this.clock = options.clock ?? systemClock();
  }

  /** Open a gate: the policy is loaded (and compiled once per revision) now, the store on first use. */
  static async open(locations: Locations, options: GateOptions = {}): Promise<Gate> {
    return new Gate(locations, await loadGatePolicy(locations), options);
  }

  /** The store for writing, opened once. */
  store(): Promise<AuditStore> {
    this.writer ??= openStore(this.locations, {
      policy: this.policy,
      ...(this.options.warn ? { warn: this.options.warn } : {}),
    });
    return this.writer;
  }

  private deps(store: AuditStore, signal?: AbortSignal): CheckDependencies {
    return {
      policy: this.policy,
      store,
      clock: this.clock,
      home: this.options.home,
      timeZone: this.options.timeZone,
      protectedPaths: this.locations.protectedPaths,
      ...waiterOption(this.waiter()),
      ...(this.options.warn ? { warn: this.options.warn } : {}),
      ...(signal ? { signal } : {}),
    };
  }

  /**
   * The waiter for decisions: the caller's (a server's hub), else for a PostgreSQL trail one
   * woken by the database's NOTIFY (connected when something first waits; polling only if LISTEN
   * cannot be had), else none (the store is polled).
   */
  private waiter(): DecisionWaiter | undefined {
    if (this.options.waiter || this.locations.url === undefined) return this.options.waiter;
    const url = this.locations.url;
    return {
      next: async (commandId, ms, signal) => {
        this.listening ??= this.store().then(async (store) => {
          try {
            const { ListenWaiter } = await import('./listen-waiter.js');
            return await ListenWaiter.connect(url, store);
          } catch {
            return pollingWaiter(store, this.clock);
          }
        });
        return (await this.listening).next(commandId, ms, signal);
      },
    };
  }

  /**
   * Every event appended to a PostgreSQL trail by anyone, as the database announces it at
   * commit (`onReconnect`: the announcements were interrupted, some may have been missed); null
   * for a SQLite store, which announces nothing. For a server's event stream.
   */
  async watchAppends(handlers: {
    onEvent(event: { seq: number; type: string; command_id: string | null }): void;
    onReconnect(): void;
  }): Promise<{ close(): Promise<void> } | null> {
    if (this.locations.url === undefined) return null;
    const { PgNotifications } = await import('../audit/pg/listen.js');
    return PgNotifications.connect(this.locations.url, handlers);
  }

  /** Record the attempt, decide (or wait for a reviewer when `request.wait`), record the decision. */
  async check(request: CheckRequest, signal?: AbortSignal): Promise<CheckResult> {
    return check(request, this.deps(await this.store(), signal));
  }

  /** What check would decide, and why; nothing is recorded (the session's history is read if any). */
  async assess(request: AssessRequest): Promise<Assessment> {
    const deps = {
      policy: this.policy,
      home: this.options.home,
      timeZone: this.options.timeZone,
      protectedPaths: this.locations.protectedPaths,
    };
    // the store is read only for a session's history, and never created for it
    if (!request.session) return assessRequest(request, deps);
    const own = this.writer === null;
    const store = own ? await openStoreIfExists(this.locations) : await this.writer;
    try {
      return await assessRequest(request, { ...deps, store });
    } finally {
      if (own) await store?.close();
    }
  }

  /** A command's decision as soon as it is recorded, or null after `ms`. */
  async waitForDecision(commandId: string, ms: number, signal?: AbortSignal): Promise<DecidedBody | null> {
    const waiter = this.waiter() ?? pollingWaiter(await this.store(), this.clock);
    return waiter.next(commandId, ms, signal);
  }

  /**
   * Wait again for a pending command (a `--no-wait` submission): until its deadline, or `limitMs`
   * when sooner. Past the deadline with no decision it is timed out, as its check would have.
   * `onHeld` is told when the wait begins, as for `check`.
   */
  async resume(
    commandId: string,
    options: { limitMs?: number; signal?: AbortSignal; onHeld?: OnHeld } = {},
  ): Promise<CommandRecord> {
    return resumeWait(commandId, {
      store: await this.store(),
      clock: this.clock,
      waiter: this.waiter(),
      limitMs: options.limitMs,
      signal: options.signal,
      onHeld: options.onHeld,
      warn: this.options.warn,
    });
  }

  /** A command's record as it stands (null: no such command). */
  async status(commandId: string): Promise<CommandRecord | null> {
    return (await this.store()).command(commandId);
  }

  readonly review = {
    /** Pending commands, highest risk first, each as a reviewer sees it. */
    queue: async (options: { all?: boolean } = {}): Promise<ReviewView[]> => {
      const store = await this.store();
      const now = this.clock.wall();
      const pending = await pendingQueue(store, now, options);
      return Promise.all(pending.map((r) => reviewView(store, this.policy, r, now)));
    },
    /** One command as a reviewer sees it (null: no such command). */
    view: async (commandId: string): Promise<ReviewView | null> => {
      const store = await this.store();
      const record = await store.command(commandId);
      return record ? reviewView(store, this.policy, record, this.clock.wall()) : null;
    },
    /** The statement a reviewer signs to decide a command. */
    statement: async (fields: Omit<DecisionStatement, 'v' | 'submitted_leaf'>): Promise<string> =>
      reviewStatement(await this.store(), fields),
    /** Apply a signed decision (refusals are recorded and returned, not thrown). */
    apply: async (submission: DecisionSubmission): Promise<ReviewOutcome> =>
      applyDecision(submission, { policy: this.policy, store: await this.store(), clock: this.clock }),
    /**
     * Record a passkey whose registration ceremony the caller verified, for a reviewer in
     * reviewers.yaml (GateError 'input' when refused: unknown reviewer, unusable key, or a
     * credential id another reviewer holds).
     */
    registerPasskey: async (registration: PasskeyRegistration): Promise<Passkey> =>
      registerPasskey(registration, { policy: this.policy, store: await this.store(), clock: this.clock }),
    /** The passkeys registered to a reviewer (the latest registration of each credential). */
    passkeys: async (reviewer: string): Promise<Passkey[]> => passkeysOf(await this.store(), reviewer),
    /** Sign with the reviewer's SSH key (ssh-keygen) and apply. */
    signAndApply: async (
      commandId: string,
      decision: 'approve' | 'deny',
      who: { reviewer: string; key: string | undefined },
      reason: string | null,
      env: Readonly<Record<string, string | undefined>>,
    ): Promise<ReviewOutcome> => signAndApply(await this.store(), this.policy, commandId, decision, who, reason, env),
  };

  /** Run an allowed command (approved or whitelisted, not run before), recording its start and end. */
  async exec(record: CommandRecord, options: Omit<ExecOptions, 'store' | 'clock' | 'storeDir'>): Promise<ExecResult> {
    // a run happens now, on the system clock, whatever time the check was judged at
    return execute(record, {
      ...options,
      store: await this.store(),
      clock: systemClock(),
      storeDir: this.locations.state,
    });
  }

  /** The trail verified from its stored bytes (keys: the state directory's trusted keys by default). */
  async verify(
    options: { keys?: readonly VerifierKey[]; against?: string; witnesses?: readonly WitnessReading[] } = {},
  ): Promise<VerifyResult> {
    const store = await openStoreForReading(this.locations);
    try {
      return await verifyStore(store, this.locations.policy, {
        keys: options.keys ?? trustedKeys(this.locations.state),
        against: options.against,
        witnesses: options.witnesses ?? [],
        stateDir: this.locations.state,
      });
    } finally {
      await store.close();
    }
  }

  /** The trail as JSON lines of events or CSV rows of commands. */
  async export(options: ExportOptions): Promise<string> {
    const store = await openStoreForReading(this.locations);
    try {
      return await exportTrail(store, options);
    } finally {
      await store.close();
    }
  }

  /** The whole trail as a self-contained evidence bundle, ending with a checkpoint covering it. */
  async bundle(): Promise<Bundle> {
    await (await this.store()).checkpoint(this.clock.wall());
    const store = await openStoreForReading(this.locations);
    try {
      return await exportBundle(store, this.locations.policy, this.locations.state);
    } finally {
      await store.close();
    }
  }

  /** The compliance report's data over [from, to), with the trail verified. */
  async report(options: { from: string | null; to: string | null; generatedAt?: string }): Promise<ReportData> {
    const store = await openStoreForReading(this.locations);
    try {
      const verify = await verifyStore(store, this.locations.policy, {
        keys: trustedKeys(this.locations.state),
        stateDir: this.locations.state,
      });
      return buildReport({
        records: await store.commands(),
        verify,
        from: options.from,
        to: options.to,
        generatedAt: options.generatedAt ?? this.clock.wall().toISOString(),
        source: this.locations.store,
      });
    } finally {
      await store.close();
    }
  }

  async close(): Promise<void> {
    const listening = this.listening;
    this.listening = null;
    await (await listening?.catch(() => null))?.close?.();
    const writer = this.writer;
    this.writer = null;
    if (writer) await (await writer).close();
  }
}

function waiterOption(waiter: DecisionWaiter | undefined): { waiter?: DecisionWaiter } {
  return waiter ? { waiter } : {};
}

/** Open a gate from its locations (see Gate). */
export function openGate(locations: Locations, options: GateOptions = {}): Promise<Gate> {
  return Gate.open(locations, options);
}
