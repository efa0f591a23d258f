/** A command's recording (asciicast v2), read only when it matches the SHA-256 in the trail. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ExitCode, GateError, type CommandRecord } from '../engine/index.js';

/** The recording's path and bytes; not-found (or integrity, exit 4) errors name why there are none. */
export function readRecordingFile(record: CommandRecord, stateDir: string): { path: string; bytes: Buffer } {
  const id = record.command_id;
  const exec = record.execution;
  if (!exec) throw new GateError('not-found', `command ${id} was not run through exec: there is no recording`);
  if (!exec.recording)
    throw new GateError(
      'not-found',
      `command ${id} has no complete recording${exec.ended_at ? '' : ' (it has not ended, or the gate stopped before it did)'}`,
    );
  const path = isAbsolute(exec.recording.path) ? exec.recording.path : join(stateDir, exec.recording.path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GateError('not-found', `cannot read the recording ${path}: ${(err as Error).message}`);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== exec.recording.sha256) {
    throw new GateError(
      'not-found',
      `the recording ${path} does not match the trail (sha256 ${digest}, recorded ${exec.recording.sha256}): not played`,
      { exitCode: ExitCode.Integrity },
    );
  }
  return { path, bytes };
}

export function readRecording(record: CommandRecord, stateDir: string): Buffer {
  return readRecordingFile(record, stateDir).bytes;
}
