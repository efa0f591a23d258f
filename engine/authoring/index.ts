/**
 * The authoring surface, for front ends (loaded lazily: `check` never needs it): policy lint
 * and diff, repository scaffolding, whitelist proposals and the whitelist file editor, the Git
 * branch a proposal is committed on.
 */
export { lintPolicy, LINT_CODES } from './lint.js';
export { diffPolicies, levelAtLeast } from './diff.js';
export { scaffold } from './scaffold.js';
export { propose } from './propose.js';
export { appendRules } from './whitelist-file.js';
export { branchProposal, defaultOwner, proposalYaml, writeProposal } from './proposal-branch.js';
