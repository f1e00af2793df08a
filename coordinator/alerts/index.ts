export * from './types.js';
export { fingerprint } from './fingerprint.js';
export { evaluateRules, EMPTY_RULE_MEMORY, RESERVED_LABELS, ALERT_SEVERITY, isSlowReason, type RuleMemory, type RuleOptions, type RuleResult } from './rules.js';
export { ActiveAlerts, DEFAULT_RESOLVED_RETENTION } from './alert-set.js';
export {
  parseMatcher,
  parseMatchers,
  matchersFromMap,
  validateMatcher,
  matches,
  matchOne,
  formatMatcher,
  MatcherError,
  MATCHER_INVALID,
  LABEL_NAME_PATTERN,
  MAX_MATCHER_VALUE_LENGTH,
  MAX_MATCHER_REGEX_LENGTH,
  MAX_MATCHERS,
} from './matchers.js';
export { activeSilences, silencedBy, silenceState, isActive, nextSilenceChange, type SilenceState } from './silences.js';
export { InhibitIndex, inhibitions } from './inhibit.js';
export { Dispatcher, needsUpdate, GROUP_BY_ALL, type DispatcherConfig, type DispatcherDeps, type ReceiverRoute, type MuterFactory, type FlushDecision } from './dispatcher.js';
export { AlertPipeline, dispatcherConfigFrom, DEFAULT_EVALUATE_EVERY, type AlertPipelineOptions } from './pipeline.js';
