/**
 * The engine's public surface. Nothing in engine/ prints, exits or reads argv: front ends (the
 * CLI, hooks, a server) build requests and render results.
 *
 * The API proper is the first block: `openGate(locations)` gives a `Gate` with `check(request)`,
 * `assess(request)`, `waitForDecision(id, ms)`, `review.{queue, view, statement, apply}`,
 * `exec(record, …)`, `verify()`, `export()`, `bundle()` and `report()`; `resolveLocations` finds
 * the store, the policy and the state directory; the verdict vocabulary says what a decision
 * means (`allowsRun`, `exitCodeFor`, `nextStep`). What follows are the building blocks the API
 * is made of, for front ends that need a finer grain (the review queue, evidence tools), tests
 * and benchmarks: the parser, the store, the policy loader, review and verify pieces.
 * Authoring (lint, diff, scaffold, proposals) has its own lazily loaded surface:
 * engine/authoring/index.ts.
 */
export { Gate, openGate, type GateOptions } from './gate/gate.js';
export type { AssessRequest, CheckRequest, OnHeld } from './gate/request.js';
export type { CheckResult } from './gate/check.js';
export {
  resolveLocations,
  describeStoreSource,
  shippedPolicyDir,
  type Locations,
  type LocationInputs,
  type StoreSource,
} from './gate/locations.js';
export {
  LEVELS,
  DECISIONS,
  COMMAND_STATES,
  allowsRun,
  exitCodeFor,
  nextStep,
  levelRank,
  strictestLevel,
  strictness,
  type Level,
  type Decision,
  type CommandState,
  type WouldDecide,
} from './model/verdict.js';

// ---- building blocks -------------------------------------------------------------------------
export { parseScript, PARSE_LIMITS } from './shell/parse.js';
export type { Script, Segment, Word, Redirect, Flow, Issue, IssueCode } from './shell/ir.js';
export { escapeForDisplay } from './shell/text.js';
export { loadPolicy, policyRevision, type LoadOptions } from './gate/load-policy.js';
export { contentsOnly, type Policy, type CompiledRule } from './gate/policy.js';
export { runExamples, EXAMPLE_TIME, type ExampleResult } from './gate/examples.js';
export { runPolicyTests, type PolicyTestResult } from './authoring/tests.js';
export { projectRoot } from './policy/paths.js';
export {
  assess,
  whyNotWhitelisted,
  DEFAULT_MAX_COMMAND_BYTES,
  type Assessment,
  type AssessContext,
} from './gate/assess.js';
export type { Signal } from './model/signals.js';
export type { SegmentReport } from './model/segments.js';
export {
  loadGatePolicy,
  openStore,
  openStoreIfExists,
  openStoreForReading,
  requireStore,
  storeNotFound,
  recordGateEvent,
  type StoreOptions,
} from './gate/open.js';
export { assessRequest, projectOf, scopedRepos, type AssessDependencies } from './gate/request.js';
export { exportTrail, exportBundle, CSV_COLUMNS, type ExportOptions } from './gate/export.js';
export { verifyStore, failedResult, type VerifyStoreOptions } from './gate/verify-store.js';
export { migrateStore, copyStore, type MigrateResult } from './gate/store-admin.js';
export { policyProvider } from './gate/policy-at.js';
export { pollingWaiter, NotifyingWaiter, POLL_MS, type DecisionWaiter } from './gate/waiter.js';
export { check, systemClock, type Clock } from './gate/check.js';
export { openSqliteStore, DEFAULT_LOCK_TIMEOUT_MS, type SqliteStoreOptions } from './audit/sqlite/backend.js';
export { AuditTrail } from './audit/trail.js';
export type { AuditStore, AuditReader, AuditTransaction, CommandFilter, Integrity } from './audit/store.js';
export type { AuditBackend, BackendTransaction } from './audit/backend.js';
export type { CommandRecord, DecidedBody, SubmittedBody, StoredEvent, TruncatedInput } from './model/events.js';
export { proofKind, proofLabel } from './model/events.js';
export { GateError, isCorruption, storeError, usageError, type GateErrorCode } from './util/errors.js';
export { ExitCode, EXIT_CODE_TABLE } from './util/exit-codes.js';
export { VERSION } from './util/version.js';
export { findRepository, repositoryIds, normalizeRemote } from './util/git.js';
export {
  whitelistProvenance,
  reviewRefusal,
  type ProvenanceIndex,
  type RuleProvenance,
} from './whitelist/provenance.js';
export type { ProvenanceEntry } from './model/provenance.js';
export { decisionTime, expireOverdue, timeoutDecision } from './gate/check.js';
export {
  applyDecision,
  approvalsNeeded,
  approvalsSoFar,
  decisionStatement,
  pendingQueue,
  submittedEvent,
  reviewView,
  reviewStatement,
  signAndApply,
  judgeDecision,
  type Judgement,
  type ReviewFacts,
  type ReviewView,
  submittingIdentity,
  type DecisionSubmission,
  type ReviewOutcome,
} from './gate/review.js';
export { effectiveReviewers, reviewersOf, reviewersFromYaml, type Reviewer } from './gate/reviewers.js';
export { passkeysOf, registerPasskey, registeredPasskeys, type PasskeyRegistration } from './gate/passkeys.js';
export { checkProof, type ProofCheck } from './gate/proofs.js';
export {
  COSE_ALGORITHMS,
  decodeCbor,
  parseCoseKey,
  statementChallenge,
  verifyAssertion,
  verifyStatementAssertion,
  WebAuthnError,
  type AssertionCheck,
  type AssertionExpectations,
  type CosePublicKey,
  type StoredAssertion,
} from './util/webauthn.js';
export {
  parsePublicKey,
  parseSignature,
  signWithSshKeygen,
  verifySignature,
  SIGNATURE_NAMESPACE,
} from './util/sshsig.js';
export {
  execute,
  scrubEnvironment,
  allowingDecision,
  SHELL_ARGV,
  type ExecOptions,
  type RunRecorder,
  type ExecResult,
} from './gate/exec.js';
export { appendToWitness, readWitness, witnessHook, witnessName, type WitnessContext } from './gate/witness.js';
export { osIdentity, currentBootId } from './gate/identity.js';
export type {
  DecisionStatement,
  SignedDecision,
  SshSignedDecision,
  WebAuthnSignedDecision,
  TokenDecision,
  ProofKind,
  SubmittedProof,
  Passkey,
  PasskeyRegisteredBody,
  RefusalCode,
  ReviewedBody,
  ReviewRefusedBody,
  EscalatedBody,
  ExecStartBody,
  ExecEndBody,
  Execution,
  Recording,
  EventBody,
  Submitter,
} from './model/events.js';
export {
  verifyTrail,
  type VerifyInput,
  type VerifyResult,
  type VerifyFailure,
  type PolicyAt,
  type CheckName,
  type WitnessReading,
} from './audit/verify.js';
export {
  gateSigner,
  trustedKeys,
  parseVerifierKey,
  parseCheckpoint,
  verifyCheckpoint,
  TRUSTED_KEYS_FILE,
  type VerifierKey,
  type CheckpointSigner,
  type Checkpoint,
} from './audit/checkpoint.js';
export type { RawEvent, StoredCheckpoint } from './audit/chain.js';
export { BUNDLE_FORMAT, bundleEvent, bundlePolicy, parseBundle, type Bundle } from './audit/bundle.js';
export {
  buildReport,
  CONTROLS,
  type Control,
  type ReportData,
  type ReportInput,
  type LatencyStats,
} from './audit/report.js';
export { shellJoin, shellQuote } from './util/quote.js';
export { prepareRotation } from './audit/checkpoint.js';
