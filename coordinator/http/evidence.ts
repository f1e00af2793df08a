import type { Event } from '../../shared/protocol/messages.js';

/**
 * What a unit printed, as agents attach it to restart events: the journal tail and unit
 * properties (`restart_started` `data.evidence`) and systemctl's own stderr. The agent
 * redacts known secret shapes first, but no pattern list catches every secret a server may
 * log, so this text goes only to token holders unless the operator opens it
 * (`auth.evidenceWithoutToken`, docs/http-api.md "What an open read API shows").
 */
const EVIDENCE_KEYS = ['evidence', 'stderr'] as const;

/** The event without its evidence, and `data.evidenceOmitted: true` when something was taken out. */
export function withoutEvidence(event: Event): Event {
  if (!event.data) return event;
  const data = { ...event.data };
  let omitted = false;
  for (const key of EVIDENCE_KEYS) {
    if (key in data) {
      delete data[key];
      omitted = true;
    }
  }
  // an event cut down to fit the wire limits keeps its data as one JSON string, evidence included
  if ('trimmed' in data && 'summary' in data) {
    delete data.summary;
    omitted = true;
  }
  return omitted ? { ...event, data: { ...data, evidenceOmitted: true } } : event;
}
